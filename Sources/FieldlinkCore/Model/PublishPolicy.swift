// How a device's readings become messages, as the config says it; the pipeline
// (`FieldlinkPipeline`) applies it. The policies live here because the config loader builds them.

/// A change smaller than this is not worth a message (report-by-exception).
public enum Deadband: Sendable, Hashable {
    /// In the point's own unit.
    case absolute(Double)
    /// A fraction of the last *reported* value (`2%` is 0.02), so slow drifts still get reported.
    case relative(Double)
}

/// When a device's readings are published: every poll, or only what changed.
public struct ReportPolicy: Sendable, Hashable {
    public var onChange = false
    /// Applies to numeric points; nil reports every change.
    public var deadband: Deadband?
    /// A point is reported at least this often even when it does not change.
    public var heartbeat: Duration?
    /// Per-point deadbands, by point name.
    public var pointDeadbands: [String: Deadband] = [:]

    public init(onChange: Bool = false, deadband: Deadband? = nil, heartbeat: Duration? = nil, pointDeadbands: [String: Deadband] = [:]) {
        self.onChange = onChange
        self.deadband = deadband
        self.heartbeat = heartbeat
        self.pointDeadbands = pointDeadbands
    }

    public static let everyPoll = ReportPolicy()
}

/// Several polls of a device in one message: fewer MQTT headers and round trips on a metered link.
public struct BatchPolicy: Sendable, Hashable {
    public var maxMessages: Int
    public var maxDelay: Duration
    public var maxBytes: Int

    public init(maxMessages: Int = 50, maxDelay: Duration = .seconds(10), maxBytes: Int = 16 << 10) {
        self.maxMessages = maxMessages
        self.maxDelay = maxDelay
        self.maxBytes = maxBytes
    }
}
