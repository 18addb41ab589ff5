/// The config's keys as data: each section's keys with their default and meaning. `fieldlink
/// reference` renders them as fieldlink.yaml(5); a test holds every section against the keys the
/// loader accepts (its "expected one of" list), so the page and `check` cannot drift apart.
public struct ConfigKeyDoc: Sendable {
    public var name: String
    /// "" when there is none; "(required)" for a required key.
    public var defaultText: String
    public var meaning: String

    public init(_ name: String, _ defaultText: String, _ meaning: String) {
        self.name = name
        self.defaultText = defaultText
        self.meaning = meaning
    }
}

public struct ConfigSectionDoc: Sendable {
    /// Where the keys go, e.g. `mqtt.tls` or `buses[] (type: modbus-rtu)`.
    public var path: String
    public var summary: String
    public var keys: [ConfigKeyDoc]

    public init(_ path: String, _ summary: String, _ keys: [ConfigKeyDoc]) {
        self.path = path
        self.summary = summary
        self.keys = keys
    }
}

public enum ConfigReference {
    public typealias K = ConfigKeyDoc

    /// The sections every config has; the families add their bus, device and point keys.
    public static let common: [ConfigSectionDoc] = [
        ConfigSectionDoc("(top level)", "The file's sections. Keys starting with x- are ignored: a home for YAML anchors.", [
            K("gateway", "(required)", "who this gateway is and where it keeps its state"),
            K("mqtt", "(required)", "the broker connection"),
            K("buffer", "", "the store-and-forward ring"),
            K("payload", "", "the message format"),
            K("profiles", "", "more directories searched for profile: NAME (a path or a list, relative to the config file); also $FIELDLINK_PROFILES"),
            K("buses", "(required)", "a list of buses (serial lines, TCP connections, I2C adapters)"),
            K("devices", "(required)", "a list of devices, each on one bus"),
            K("sparkplug", "", "the Sparkplug B edge node, for devices with format: sparkplugb"),
            K("homeassistant", "", "Home Assistant MQTT discovery"),
            K("metrics", "", "Prometheus metrics in a textfile for node_exporter"),
            K("time", "", "readings taken before the clock is synchronised (boards without a battery-backed clock)"),
        ]),
        ConfigSectionDoc("gateway", "", [
            K("id", "(required)", "the gateway's name: letters, digits, -, _ and ."),
            K("state_dir", GatewayConfig.defaultStateDirectory, "sequence numbers and the buffer ring; must be writable (the unit's StateDirectory= makes the default)"),
        ]),
        ConfigSectionDoc("mqtt", "", [
            K("url", "(required)", "mqtt://HOST:PORT (port \(BrokerEndpoint.defaultPort)) or mqtts:// (port \(BrokerEndpoint.defaultTLSPort))"),
            K("urls", "", "instead of url: several brokers in order of preference, each a URL or a mapping with url and its own login"),
            K("tls", "", "see mqtt.tls"),
            K("username", "", "the login"),
            K("password", "", "the password inline (prefer password_file or ${ENV})"),
            K("password_file", "", "a file holding the password; a relative name is looked up in $CREDENTIALS_DIRECTORY first (the unit's LoadCredential=), then next to the config"),
            K("status_topic", MQTTConfig.defaultStatusTopic, "retained online/offline"),
            K("client_id", "the gateway id", ""),
            K("version", MQTTConfig.defaultVersion.rawValue, "auto (5, falling back to 3.1.1), 5 or 3.1.1"),
            K("keepalive", MQTTConfig.defaultKeepalive.configText, "at least \(MQTTConfig.minimumKeepalive.configText)"),
            K("max_inflight", "\(MQTTConfig.defaultMaxInflight)", "publishes awaiting the broker's acknowledgement"),
            K("reconnect_delay", MQTTConfig.defaultReconnectDelay.configText, "first wait between connection attempts"),
            K("reconnect_delay_max", MQTTConfig.defaultReconnectDelayMax.configText, "longest wait between connection attempts"),
            K("drain_timeout", MQTTConfig.defaultDrainTimeout.configText, "how long a graceful stop waits for acknowledgements"),
            K("failover_after", MQTTConfig.defaultFailoverAfter.configText, "several brokers: unheard-from this long, the next is tried"),
            K("ack_timeout", "keepalive / \(MQTTConfig.ackTimeoutKeepaliveDivisor)", "a QoS 1/2 message unacknowledged this long (or no PINGRESP) ends the connection"),
            K("connect_timeout", MQTTConfig.defaultConnectTimeout.configText, "TCP connect and CONNACK together"),
            K("failback_after", MQTTConfig.defaultFailbackAfter.configText, "several brokers: a preferred one reachable this long is returned to"),
            K("failback", "true", "false stays on the broker it reached"),
            K("message_expiry", "", "MQTT 5: the broker drops what it could not deliver within this"),
            K("qos2_unsupported", MQTTConfig.defaultQoS2Unsupported.rawValue,
              "a broker that cannot carry QoS 2: downgrade (QoS 1 to it, a warning) or refuse (it is not used again; messages wait)"),
        ]),
        ConfigSectionDoc("mqtt.tls", "For mqtts:// URLs.", [
            K("ca_file", "the system CA store", "the CA the broker's certificate is checked against"),
            K("cert_file", "", "client certificate (mTLS), with key_file"),
            K("key_file", "", "its key; warned about when others can read it (chmod 600)"),
            K("insecure", "false", "true skips the host name check"),
            K("min_version", TLSConfig.defaultMinimumVersion, TLSConfig.minimumVersions.joined(separator: " or ")),
        ]),
        ConfigSectionDoc("buffer", "", [
            K("max_bytes", "\(BufferConfig.defaultMaxBytes >> 20)MiB", "the ring's size on disk; the oldest goes first"),
            K("max_age", BufferConfig.defaultMaxAge.configText, "older messages are dropped; age is elapsed time, so a clock step never drops anything"),
            K("durability", BufferConfig.defaultDurability.rawValue, "spill: to disk only while the broker is away; always: every message"),
            K("sync_interval", BufferConfig.defaultSyncInterval.configText, "how often the ring is synced to disk"),
            K("replay_rate", "\(BufferConfig.defaultReplayRate)", "messages per second resent after an outage"),
            K("memory_messages", "", "messages kept in memory before the disk"),
        ]),
        ConfigSectionDoc("time", "The clock counts as synchronised when /run/systemd/timesync/synchronized exists or the kernel's STA_UNSYNC is clear (chrony, ntpd).", [
            K("trust", TimeConfig.defaultTrust.rawValue, "sync: wait for synchronisation; always: believe the clock at once (an RTC or GPS time)"),
            K("unsynced", TimeConfig.defaultUnsynced.rawValue, "hold: keep readings until sync, then correct their ts and publish them in order; mark: publish at once with \"ts_quality\": \"unsynced\""),
            K("max_wait", TimeConfig.defaultMaxWait.configText, "hold: without sync this long, the held readings (and later ones) go out marked"),
        ]),
        ConfigSectionDoc("payload", "", [K("format", PayloadFormat.json.rawValue, PayloadFormat.allCases.map(\.rawValue).joined(separator: ", "))]),
        ConfigSectionDoc("sparkplug", "", [
            K("group_id", "(required)", "the Sparkplug group"),
            K("edge_node_id", "the gateway id", "the edge node"),
            K("data_qos", "\(SparkplugConfig.defaultDataQoS)", "QoS of DDATA"),
        ]),
        ConfigSectionDoc("homeassistant", "Retained discovery configs for every point of every JSON device.", [
            K("enabled", "(required)", "true announces the devices; false removes nothing"),
            K("prefix", HomeAssistantConfig.defaultPrefix, "Home Assistant's discovery prefix"),
        ]),
        ConfigSectionDoc("metrics", "Prometheus text format, written atomically; no port is opened.", [
            K("textfile", "(required)", "the file node_exporter's textfile collector reads"),
            K("interval", MetricsConfig.defaultInterval.configText, "how often it is rewritten (at least \(MetricsConfig.minimumInterval.configText))"),
        ]),
        ConfigSectionDoc("buses[]", "Every bus; its type adds the keys below.", [
            K("name", "(required)", "the bus's name"),
            K("enabled", "true", "false: checked, but not run (with its devices)"),
            K("type", "(required)", "modbus-rtu, modbus-tcp, serial or i2c"),
        ]),
        ConfigSectionDoc("devices[]", "Every device; its bus's type adds the keys below.", [
            K("name", "(required)", "the device's name, in topics"),
            K("enabled", "true", "false: checked, but not run"),
            K("bus", "(required)", "the bus's name"),
            K("interval", "(required)", "how often it is polled (at least \(DeviceConfig.minimumInterval.configText))"),
            K("topic", TopicTemplate.defaultDeviceTopic, "{gateway}, {bus} and {device} are replaced"),
            K("qos", "\(DeviceConfig.defaultQoS)", "0, 1 or 2"),
            K("retain", "false", ""),
            K("format", "payload.format", "json, cbor or sparkplugb"),
            K("report", "every-poll", "or on-change"),
            K("deadband", "", "on-change: 0.5 (absolute) or 2% (relative)"),
            K("heartbeat", "", "on-change: publish at least this often"),
            K("batch", "", "several polls per message: max_messages, max_delay, max_bytes"),
            K("profile", "", "a device profile's name or a path to its .yaml"),
            K("profile_points", "all", "the profile's points to use"),
            K("points", "(required without profile)", "the points"),
            K("accept_retained", "false", "write-back: true executes retained commands too (they would run again at every reconnect)"),
            K("command_max_age", CommandPolicy.defaultMaxAge.configText, "write-back: an older command is dropped (MQTT 5 message expiry when present)"),
            K("command_results", "false", "write-back: answer on {topic}/set/{point}/result too (for MQTT 3.1.1 clients)"),
        ]),
        ConfigSectionDoc("devices[].points[]", "Every point; its bus's type adds the keys below.", [
            K("name", "(required)", "the point's name, in the payload"),
            K("unit", "", "shown by check and probe"),
            K("scale", "1", "value = raw * scale + offset"),
            K("offset", "0", ""),
            K("precision", "", "decimal places published"),
            K("map", "", "raw value to label, e.g. {0: stopped, 1: running}"),
            K("topic", "", "the point's own message"),
            K("qos", "", "with topic"),
            K("retain", "", "with topic"),
            K("deadband", "", "this point's own"),
            K("writable", "false", "true subscribes {topic}/set/{point}: commands are checked, written, read back and answered"),
            K("min", "", "writable: the lowest value accepted, in engineering units"),
            K("max", "", "writable: the highest value accepted"),
            K("min_write_interval", "", "writable: a second write sooner than this is refused"),
        ]),
    ]
}

extension ConfigReference {
    /// fieldlink.yaml(5) in roff, from `sections` (the common ones and every family's).
    public static func manPage(sections: [ConfigSectionDoc], version: String, date: String) -> String {
        func text(_ string: String) -> String {
            let escaped = string.replacingLiterally("\\", with: "\\e")
            return escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped
        }
        var lines = [
            ".TH FIELDLINK.YAML 5 \"\(date)\" \"fieldlink \(version)\" \"File Formats\"",
            ".SH NAME",
            "fieldlink.yaml \\- configuration of the fieldlink gateway",
            ".SH SYNOPSIS",
            "/etc/fieldlink/fieldlink.yaml",
            ".SH DESCRIPTION",
            "A YAML file. \\fBfieldlink check\\fR reads it as \\fBfieldlink run\\fR does and reports every problem as",
            "FILE:LINE:COLUMN: KEY.PATH: MESSAGE. Unknown keys are errors.",
            ".PP",
            "Durations are written 500ms, 5s, 2m, 1h; sizes 64KiB, 16MiB; \\fB${NAME}\\fR and \\fB${NAME:-default}\\fR",
            "in a value are replaced from the environment. Relative paths are relative to the config file.",
            ".PP",
            "Many alike entries are written once with YAML anchors and merge keys: keep the anchor under a",
            "top-level key starting with \\fBx-\\fR (ignored), and merge it with \\fB<<: *anchor\\fR (or \\fB<<: [*a, *b]\\fR);",
            "keys written in the entry win. A problem in an anchor is reported at the anchor's line.",
            ".PP",
            ".nf",
            "x-meter: &meter {bus: rs485, interval: 5s, profile: eastron-sdm120}",
            "devices:",
            "  - {<<: *meter, name: m1, unit: 1}",
            "  - {<<: *meter, name: m2, unit: 2, enabled: false}",
            ".fi",
            ".SH KEYS",
            "Each key with its default, or (required).",
        ]
        for section in sections {
            lines.append(".SS \"\(text(section.path))\"")
            if !section.summary.isEmpty { lines.append(text(section.summary)) }
            for key in section.keys {
                lines.append(".TP")
                let note = key.defaultText.isEmpty ? "" : key.defaultText.hasPrefix("(") ? " \(key.defaultText)" : " (default: \(key.defaultText))"
                lines.append("\\fB\(text(key.name))\\fR" + text(note))
                lines.append(key.meaning.isEmpty ? "\\&" : text(key.meaning))
            }
        }
        lines += [
            ".SH ENVIRONMENT",
            ".TP", "\\fBFIELDLINK_PROFILES\\fR", "Colon-separated directories searched for device profiles, after the config's own devices/.",
            ".TP", "\\fBCREDENTIALS_DIRECTORY\\fR", "Set by systemd's LoadCredential=: a relative password_file or key_file is looked up there first.",
            ".SH FILES",
            ".TP", "/etc/fieldlink/fieldlink.yaml", "The configuration the unit runs with.",
            ".TP", "/etc/fieldlink/mqtt-password", "The broker password (mode 0600), passed to the service by LoadCredential=mqtt-password.",
            ".TP", "/usr/share/fieldlink/devices/", "The packaged device profiles.",
            ".SH SEE ALSO",
            "\\fBfieldlink\\fR(1), \\fBsystemd.exec\\fR(5)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
