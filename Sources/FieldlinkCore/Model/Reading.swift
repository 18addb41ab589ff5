/// One poll of one device: what could be read and why the rest could not.
///
/// `sequence` is stamped by the pipeline, not the driver: it numbers published messages per device.
public struct Reading: Sendable, Equatable {
    public var device: String
    /// Poll time, Unix milliseconds.
    public var timestamp: Int64
    public var sequence: UInt64
    /// In point order, as configured.
    public var values: [(name: String, value: Value)]
    /// Points that failed this poll, with a human-readable reason.
    public var errors: [(name: String, reason: String)]
    /// When it was taken in every clock (stamped by the time stage, nil before it); `timestamp` is
    /// its `wall`. An untrusted stamp is published with `"ts_quality": "unsynced"`.
    public var time: TimeStamp?

    public init(device: String, timestamp: Int64, sequence: UInt64 = 0,
                values: [(name: String, value: Value)], errors: [(name: String, reason: String)], time: TimeStamp? = nil) {
        self.device = device
        self.timestamp = timestamp
        self.sequence = sequence
        self.values = values
        self.errors = errors
        self.time = time
    }

    /// Its ts comes from a clock not known to be right (`"ts_quality": "unsynced"`).
    public var hasUnsyncedTime: Bool { time.map { !$0.trusted } ?? false }

    public static func == (lhs: Reading, rhs: Reading) -> Bool {
        lhs.device == rhs.device && lhs.timestamp == rhs.timestamp && lhs.sequence == rhs.sequence && lhs.time == rhs.time
            && lhs.values.elementsEqual(rhs.values) { $0.name == $1.name && $0.value == $1.value }
            && lhs.errors.elementsEqual(rhs.errors) { $0.name == $1.name && $0.reason == $1.reason }
    }

    /// A poll where nothing could be read is not published.
    public var isTotalFailure: Bool { values.isEmpty }
}

/// A device's availability, published (retained) on `{status_topic}/{device}` when it changes, so a
/// dashboard sees at once which meter is silent and since when.
public struct DeviceHealth: Sendable, Equatable {
    public var device: String
    public var ok: Bool
    /// When this state began, Unix milliseconds.
    public var since: Int64
    /// The last poll that read at least one point, Unix milliseconds.
    public var lastSuccess: Int64?
    /// Polls with at least one failed point, since the start.
    public var failedPolls: UInt64
    /// The current problem, when failing.
    public var error: String?
    /// Polls in a row without an answer (drivers that can tell); nil where not counted.
    public var consecutiveFailures: UInt64?
    /// Requests that got no answer in time, and answers that failed their CRC, since the start.
    public var timeouts: UInt64?
    public var crcErrors: UInt64?
    /// The protocol's error code in the last error answer (a Modbus exception code), if any.
    public var exceptionCode: Int?
    /// Set while the device is backed off (no answer for several polls, probed only now and then):
    /// since when, Unix milliseconds.
    public var backedOffSince: Int64?
    /// Write-back commands refused before reaching the device, and failed at it, since the start
    /// (nil for a device without writable points).
    public var commandsRefused: UInt64?
    public var commandsFailed: UInt64?

    public init(device: String, ok: Bool, since: Int64, lastSuccess: Int64?, failedPolls: UInt64, error: String?) {
        self.device = device
        self.ok = ok
        self.since = since
        self.lastSuccess = lastSuccess
        self.failedPolls = failedPolls
        self.error = error
    }
}
