/// A message ready for the broker: everything the publisher needs, nothing it must look up.
public struct OutboundMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int
    public var retain: Bool
    public var contentType: String?
    /// MQTT 5 Correlation Data, for an answer on a command's Response Topic; never in the ring.
    public var correlationData: [UInt8]?
    /// The device's `seq` the message carries (the newest, for a batch): the ring keeps each
    /// device's highest, so numbering continues right after it following a crash.
    public var sequence: MessageSequence?
    /// When its reading was taken (the oldest, for a batch); the ring stamps the rest on append.
    /// What `max_age` measures, by elapsed time rather than by a wall clock that may be stepped.
    public var time: TimeStamp?

    public init(topic: String, payload: [UInt8], qos: Int, retain: Bool, contentType: String? = nil, correlationData: [UInt8]? = nil,
                sequence: MessageSequence? = nil, time: TimeStamp? = nil) {
        self.time = time
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.contentType = contentType
        self.correlationData = correlationData
        self.sequence = sequence
    }

    /// The same message whenever it was stamped: `time` is the ring's bookkeeping, not content.
    public static func == (lhs: OutboundMessage, rhs: OutboundMessage) -> Bool {
        lhs.topic == rhs.topic && lhs.payload == rhs.payload && lhs.qos == rhs.qos && lhs.retain == rhs.retain
            && lhs.contentType == rhs.contentType && lhs.correlationData == rhs.correlationData && lhs.sequence == rhs.sequence
    }
}

/// Which device's `seq` a message carries.
public struct MessageSequence: Sendable, Equatable {
    public var device: String
    public var number: UInt64

    public init(device: String, number: UInt64) {
        self.device = device
        self.number = number
    }
}

/// A queued message with its position in the ring, which is how the publisher acknowledges it.
public struct RingRecord: Sendable, Equatable {
    public var id: UInt64
    public var message: OutboundMessage

    public init(id: UInt64, message: OutboundMessage) {
        self.id = id
        self.message = message
    }
}

/// Holds messages from the moment they are encoded until the broker acknowledged them.
///
/// The contract the publisher relies on: `checkout` hands out records in order and at most once
/// until `requeueInFlight` (after a lost connection) makes every unacknowledged record pending
/// again, in its original order; `acknowledge` may come in any order.
public protocol MessageRing: Sendable {
    func append(_ message: OutboundMessage)
    /// Up to `limit` records not yet handed out, oldest first; they are now in flight.
    func checkout(limit: Int) -> [RingRecord]
    /// The broker has it (PUBACK/PUBCOMP, or on the socket for QoS 0).
    func acknowledge(_ id: UInt64)
    /// The connection is gone: everything in flight will be sent again.
    func requeueInFlight()
    /// The broker became reachable or unreachable: a ring may change where it keeps new messages.
    func uplinkChanged(up: Bool)
    /// Called (on any thread) whenever records become available to `checkout` after the consumer
    /// had found none; one consumer. Keep it cheap: it runs on the appending thread.
    func setConsumerWakeup(_ wake: @escaping @Sendable () -> Void)
    var statistics: RingStatistics { get }
}

extension MessageRing {
    public func uplinkChanged(up: Bool) {}
}

/// How full the ring is, for the drain at shutdown, `STATUS=` and the logs.
public struct RingStatistics: Sendable, Equatable {
    /// Records held: pending plus in flight.
    public var depth: Int
    public var inFlight: Int
    /// Dropped because the ring was full, since start.
    public var dropped: UInt64

    public init(depth: Int, inFlight: Int, dropped: UInt64) {
        self.depth = depth
        self.inFlight = inFlight
        self.dropped = dropped
    }
}
