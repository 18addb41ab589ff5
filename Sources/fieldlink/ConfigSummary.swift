import FieldlinkCore

/// What `fieldlink check` prints: enough to see at a glance that the config says what was meant.
struct ConfigSummary {
    let text: String

    init(_ config: Config) {
        func plural(_ count: Int, _ noun: String) -> String {
            "\(count) \(noun)\(count == 1 ? "" : noun.hasSuffix("s") ? "es" : "s")"
        }
        let mqtt = config.mqtt
        let pointCount = config.devices.reduce(0) { $0 + $1.points.count }
        var lines = [
            "\(config.file): valid",
            "gateway \(config.gateway.id), state in \(config.gateway.stateDirectory)",
            "broker \(mqtt.url) as \(mqtt.clientID) (MQTT \(mqtt.version.rawValue), keepalive \(mqtt.keepalive.configText)"
                + (mqtt.username.map { ", user \($0)" } ?? "") + (mqtt.password != nil ? ", password set" : "") + ")",
            "status on \(mqtt.statusTopic) (retained online/offline, offline as last will)",
            "\(plural(config.buses.count, "bus")), \(plural(config.devices.count, "device")), \(plural(pointCount, "point"))",
        ]
        for bus in config.buses {
            lines.append("bus \(bus.name) (\(bus.type)): \(bus.options)")
            for device in config.devices(on: bus) {
                lines.append("  device \(device.name) (\(device.options)) every \(device.interval.configText) -> \(device.topic) qos \(device.qos)\(device.retain ? " retained" : "")")
                for point in device.points {
                    var line = "    \(point.name): \(point.options)"
                    if !point.transform.isIdentity { line += " * \(point.transform.scale) + \(point.transform.offset)" }
                    if let unit = point.unit { line += " [\(unit)]" }
                    lines.append(line)
                }
            }
        }
        if let tls = mqtt.tls {
            var line = "TLS \(tls.minimumVersion)+, server verified against \(tls.caFile ?? "the system CA store")"
            if tls.certFile != nil { line += ", client certificate \(tls.certFile!)" }
            if tls.insecure { line += ", HOST NAME NOT CHECKED (insecure: true)" }
            lines.insert(line, at: 3)
        }
        text = lines.joined(separator: "\n") + "\n"
    }
}
