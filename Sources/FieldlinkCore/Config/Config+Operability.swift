/// `homeassistant:`: Home Assistant MQTT discovery, so a gateway's points show up on a dashboard
/// without hand-written YAML.
public struct HomeAssistantConfig: Sendable, Hashable {
    /// Off: nothing is announced, and what a previous config announced is removed on reload.
    public var enabled: Bool
    /// Home Assistant's `discovery_prefix`.
    public var prefix: String

    public init(enabled: Bool, prefix: String = HomeAssistantConfig.defaultPrefix) {
        self.enabled = enabled
        self.prefix = prefix
    }

    /// Home Assistant's own default `discovery_prefix`.
    public static let defaultPrefix = "homeassistant"
}

/// `metrics:`: Prometheus text exposition written to a file for node_exporter's textfile
/// collector. The gateway opens no port for it.
public struct MetricsConfig: Sendable, Hashable {
    /// The `.prom` file; written beside itself under a temporary name, then renamed over it.
    public var textfile: String
    public var interval: Duration

    public init(textfile: String, interval: Duration = MetricsConfig.defaultInterval) {
        self.textfile = textfile
        self.interval = interval
    }

    /// node_exporter's usual scrape interval.
    public static let defaultInterval = Duration.seconds(15)
    /// More often than this only wears an SD card: Prometheus scrapes every 15 s or so.
    public static let minimumInterval = Duration.seconds(1)
}
