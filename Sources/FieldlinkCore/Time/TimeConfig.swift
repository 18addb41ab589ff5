/// `time:`: what to do with readings taken while the wall clock is not known to be right (a board
/// without a battery-backed clock that booted offline).
public struct TimeConfig: Sendable, Equatable {
    /// Whether the clock is believed without being synchronised.
    public enum Trust: String, Sendable, CaseIterable {
        /// Synchronised when systemd-timesyncd says so or the kernel's STA_UNSYNC is clear.
        case sync
        /// Always: boards with an RTC or GPS time.
        case always
    }

    /// Readings taken before the clock is synchronised.
    public enum Unsynced: String, Sendable, CaseIterable {
        /// Kept back; at sync their ts is corrected from the monotonic clock and they go out in order.
        case hold
        /// Published at once with `"ts_quality": "unsynced"`.
        case mark
    }

    public var trust = TimeConfig.defaultTrust
    public var unsynced = TimeConfig.defaultUnsynced
    /// Holding ends here when no sync came: the held readings go out marked, and later ones too.
    public var maxWait = TimeConfig.defaultMaxWait

    public init() {}

    public static let defaultTrust = Trust.sync
    public static let defaultUnsynced = Unsynced.hold
    public static let defaultMaxWait = Duration.seconds(600)
    public static let minimumMaxWait = Duration.seconds(1)
}

// `time:`.
extension DocumentReader {
    func readTime(_ value: ConfigValue?) -> TimeConfig {
        var config = TimeConfig()
        guard let value, var map = value.mapping() else { return config }
        if let trust = map.optional("trust")?.oneOf(TimeConfig.Trust.self) { config.trust = trust }
        if let unsynced = map.optional("unsynced")?.oneOf(TimeConfig.Unsynced.self) { config.unsynced = unsynced }
        if let wait = map.optional("max_wait")?.duration(minimum: TimeConfig.minimumMaxWait) { config.maxWait = wait }
        map.rejectUnknownKeys()
        return config
    }
}
