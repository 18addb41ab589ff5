import FieldlinkCore
import FieldlinkPipeline

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
        lines += Self.operability(config)
        lines.append("\(plural(config.buses.count, "bus")), \(plural(config.devices.count, "device")), \(plural(pointCount, "point"))")
        if !config.disabledBuses.isEmpty || !config.disabledDevices.isEmpty {
            var parts: [String] = []
            if !config.disabledBuses.isEmpty { parts.append("bus(es) \(config.disabledBuses.joined(separator: ", "))") }
            if !config.disabledDevices.isEmpty { parts.append("device(s) \(config.disabledDevices.joined(separator: ", "))") }
            lines.append("disabled (enabled: false; checked, not run): \(parts.joined(separator: "; "))")
        }
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
                    if let limits = point.write { line += "; WRITABLE (\(limits.description)) <- \(device.topic)/set/\(point.name)" }
                    lines.append(line)
                }
                if device.isWritable {
                    let policy = device.commands
                    lines.append("    commands: on \(device.topic)/set[/<point>], dropped after \(policy.maxAge.configText), retained \(policy.acceptRetained ? "accepted" : "ignored")\(policy.results ? ", results on .../set/<point>/result" : "")")
                }
            }
        }
        text = lines.joined(separator: "\n") + "\n"
    }

    /// Home Assistant discovery (and who it leaves out), and the metrics textfile.
    private static func operability(_ config: Config) -> [String] {
        var lines: [String] = []
        if let settings = config.homeAssistant, settings.enabled {
            let discovery = HomeAssistantDiscovery(config: config, homeAssistant: settings, version: FieldlinkVersion.current)
            let count = discovery.entities(of: config.devices).count
            lines.append("Home Assistant discovery on \(settings.prefix)/…/config: \(count) entit\(count == 1 ? "y" : "ies")")
            for device in config.devices {
                if let reason = HomeAssistantDiscovery.notAnnounced(device) {
                    lines.append("  device \(device.name) not announced: \(reason)")
                }
            }
            if config.sparkplug != nil {
                lines.append("  availability follows device health only: with Sparkplug B the gateway publishes no online/offline status")
            }
        }
        if let metrics = config.metrics {
            lines.append("metrics to \(metrics.textfile) every \(metrics.interval.configText) (Prometheus textfile, no port opened)")
        }
        return lines
    }
}
