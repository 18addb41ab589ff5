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
        ]
        for (index, broker) in mqtt.brokers.enumerated() {
            var details = [mqtt.version == .auto ? "MQTT 5, else 3.1.1 (auto)" : "MQTT \(mqtt.version.rawValue)", "keepalive \(mqtt.keepalive.configText)"]
            if let username = broker.username { details.append("user \(username)") }
            if broker.password != nil { details.append("password set") }
            let label = mqtt.brokers.count > 1 ? "broker \(index + 1) of \(mqtt.brokers.count)" : "broker"
            lines.append("\(label) \(broker.url) as \(mqtt.clientID) (\(details.joined(separator: ", ")))")
            if let tls = broker.tls {
                var line = "  TLS \(tls.minimumVersion)+, server verified against \(tls.caFile ?? "the system CA store")"
                if let certificate = tls.certFile { line += ", client certificate \(certificate)" }
                if tls.insecure { line += ", HOST NAME NOT CHECKED (insecure: true)" }
                lines.append(line)
            }
        }
        if mqtt.brokers.count > 1 {
            let failback = mqtt.failbackAfter.map { "fail back after \($0.configText) reachable" } ?? "no failback"
            lines.append("failover after \(mqtt.failoverAfter.configText) unreachable or a refused login; \(failback)")
        }
        if let sparkplug = config.sparkplug {
            lines.append("Sparkplug B edge node \(sparkplug.groupID)/\(sparkplug.edgeNodeID): NDEATH as last will, NBIRTH/DBIRTH on every connect, data at QoS \(sparkplug.dataQoS)")
        } else {
            lines.append("status on \(mqtt.statusTopic) (retained online/offline, offline as last will)")
        }
        lines.append("\(plural(config.buses.count, "bus")), \(plural(config.devices.count, "device")), \(plural(pointCount, "point"))")
        for bus in config.buses {
            lines.append("bus \(bus.name) (\(bus.type)): \(bus.options)")
            for device in config.devices(on: bus) {
                let route = device.format == .sparkplugb ? "DDATA qos \(config.sparkplug?.dataQoS ?? 0)"
                    : "\(device.topic) qos \(device.qos)\(device.retain ? " retained" : "")"
                lines.append("  device \(device.name) (\(device.options)) every \(device.interval.configText) -> \(route)\(device.format == .json ? "" : " as \(device.format.rawValue)")")
                if let profile = device.profile {
                    lines.append("    profile \(profile.name): \(profile.model) (\(profile.file))")
                }
                for point in device.points {
                    var line = "    \(point.name): \(point.options)"
                    if !point.transform.isIdentity { line += " * \(point.transform.scale) + \(point.transform.offset)" }
                    if let precision = point.transform.precision { line += ", \(precision) decimal(s)" }
                    if let labels = point.labels {
                        line += ", map " + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    }
                    if let unit = point.unit { line += " [\(unit)]" }
                    if device.profile != nil { line += " (\(point.origin.rawValue))" }
                    lines.append(line)
                }
            }
        }
        text = lines.joined(separator: "\n") + "\n"
    }
}
