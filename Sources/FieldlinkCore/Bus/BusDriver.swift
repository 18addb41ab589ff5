/// What one transaction with one device brought back, before any conversion: a raw value or the
/// reason it has none, per configured point, in point order.
public struct DevicePoll: Sendable {
    public enum Point: Sendable, Equatable {
        /// As decoded off the wire: the bus owner applies scale, offset, precision and `map`.
        case raw(Value)
        case failed(String)
    }

    public var points: [Point]
    /// Whether the device answered anything (data, or an error answer such as a Modbus exception).
    /// A device that stays silent is backed off; nil says nothing about the device (the line itself
    /// failed, or a stream period simply ended).
    public var answered: Bool?
    /// The line carried bytes that were no answer (a CRC error, a damaged or foreign frame): noise,
    /// which says nothing about the device and makes the bus owner hold every backoff until a clean answer.
    public var garbled: Bool

    public init(points: [Point], answered: Bool?, garbled: Bool = false) {
        self.points = points
        self.answered = answered
        self.garbled = garbled
    }

    /// Every point failed for one reason (port down, no reply).
    public static func failure(_ reason: String, points count: Int, answered: Bool?) -> DevicePoll {
        DevicePoll(points: Array(repeating: .failed(reason), count: count), answered: answered)
    }
}

/// A family's own counters for a device's health (Modbus: timeouts, CRC errors, the last
/// exception), published beside the shared ones.
public struct LinkCounters: Sendable, Equatable {
    public var timeouts: UInt64
    public var crcErrors: UInt64
    public var exceptionCode: Int?

    public init(timeouts: UInt64 = 0, crcErrors: UInt64 = 0, exceptionCode: Int? = nil) {
        self.timeouts = timeouts
        self.crcErrors = crcErrors
        self.exceptionCode = exceptionCode
    }
}

/// When a device that stopped answering is polled only now and then.
public struct BackoffPolicy: Sendable, Hashable {
    /// Consecutive polls without an answer before a device is backed off.
    public var after: Int
    /// The longest a backed-off device waits between two probes.
    public var maximum: Duration

    public init(after: Int, maximum: Duration) {
        self.after = after
        self.maximum = maximum
    }

    /// Every family's default; Modbus buses may set their own (`backoff_after`, `backoff_max`).
    public static let standard = BackoffPolicy(after: 3, maximum: .seconds(60))
}

/// One write transaction the bus owner runs between polls (write-back): raw values for points of
/// one device, already checked and inverted through the point's conversion.
public struct PointWrite: Sendable {
    public var device: Int
    public var points: [(index: Int, raw: Value)]

    public init(device: Int, points: [(index: Int, raw: Value)]) {
        self.device = device
        self.points = points
    }
}

/// Why a write did not happen, in words for the command's answer.
public struct WriteFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    /// False when the driver refused before sending anything (nothing went on the line).
    public var reachedDevice: Bool

    public init(_ description: String, reachedDevice: Bool = true) {
        self.description = description
        self.reachedDevice = reachedDevice
    }
}

/// A bus family's side of the bus boundary: the transactions of its protocol and nothing else.
///
/// Everything after a transaction (time stamps, scale/offset/precision/map, NaN as a point error,
/// health, backoff of silent devices, handing readings on) is the `BusOwner`'s, written once for
/// every family. A driver lives on its bus's thread from creation to release, so it may hold C
/// handles that are not `Sendable`; it opens its line lazily and reopens it after a failure.
public protocol BusDriver: AnyObject, SendableMetatype {
    /// Reads every point of device `device` (an index into the bus's devices) once, now; for a
    /// stream device, ends its period. nil: nothing to report for this slot (a stream device whose
    /// frames each went out as they came).
    func poll(_ device: Int) -> DevicePoll?
    /// The longest one poll of `device` can take (timeouts and retries): a backed-off device's
    /// probe goes in idle time only where it fits before the next scheduled poll.
    func longestPoll(of device: Int) -> Duration
    /// The loop has `available` before its next transaction. A family with unsolicited input (a
    /// serial stream) reads it here, handing each reading it completes to `emit`, and returns true;
    /// false lets the loop sleep.
    func idle(for available: Duration, emit: (_ device: Int, _ poll: DevicePoll) -> Void) -> Bool
    /// `fieldlink probe --device`: one poll, or what one period brings for a stream device.
    func commission(_ device: Int) -> DevicePoll
    /// The family's own health counters for `device`, if it keeps any.
    func counters(of device: Int) -> LinkCounters?
    /// Runs one write transaction (between polls, on the bus thread).
    func write(_ write: PointWrite) -> Result<Void, WriteFailure>
    /// When a silent device is backed off on this bus.
    var backoff: BackoffPolicy { get }
    /// What one reading is called in the log ("poll"; "reading" for a stream).
    var noun: String { get }
}

extension BusDriver {
    public func idle(for available: Duration, emit: (_ device: Int, _ poll: DevicePoll) -> Void) -> Bool { false }
    public func commission(_ device: Int) -> DevicePoll {
        poll(device) ?? .failure("nothing to report", points: 0, answered: nil)
    }
    public func counters(of device: Int) -> LinkCounters? { nil }
    public func write(_ write: PointWrite) -> Result<Void, WriteFailure> {
        .failure(WriteFailure("this bus family does not write", reachedDevice: false))
    }
    public var backoff: BackoffPolicy { .standard }
    public var noun: String { "poll" }
}
