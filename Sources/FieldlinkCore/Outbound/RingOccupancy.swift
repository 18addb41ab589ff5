/// How much a ring holds, for `fieldlink status` and the metrics.
public struct RingOccupancy: Sendable, Equatable {
    /// Segment files on disk (acknowledged records stay until their whole segment is) plus the
    /// messages in memory (topic and payload).
    public var bytes: Int
    /// When the oldest message not yet acknowledged was appended, Unix ms; nil when none is held.
    /// For a message on disk this is its segment's newest append, so its age is a lower bound.
    public var oldestAppendedAt: Int64?

    public init(bytes: Int, oldestAppendedAt: Int64?) {
        self.bytes = bytes
        self.oldestAppendedAt = oldestAppendedAt
    }
}

