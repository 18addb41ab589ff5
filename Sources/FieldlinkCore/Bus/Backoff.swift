/// When a device that stopped answering is tried again: its interval doubled per silent probe, capped.
///
/// Pure value, so the sequence is tested without a line or a clock.
public struct Backoff: Sendable, Equatable {
    public let interval: Duration
    public let after: Int
    public let maximum: Duration
    /// Polls in a row that got no answer at all.
    public private(set) var silentPolls = 0

    public init(interval: Duration, after: Int, maximum: Duration) {
        self.interval = interval
        self.after = after
        self.maximum = maximum
    }

    public init(interval: Duration, policy: BackoffPolicy) {
        self.init(interval: interval, after: policy.after, maximum: policy.maximum)
    }

    public var isBackedOff: Bool { silentPolls >= after }

    /// The wait before the next probe while backed off: 2, 4, 8, ... intervals, at most `maximum`
    /// (or one interval, for a device polled more rarely than that anyway).
    public var wait: Duration? {
        guard isBackedOff else { return nil }
        let doublings = min(silentPolls - after + 1, 30)
        let cap = max(maximum, interval)
        let seconds = min(interval.seconds * Double(1 << doublings), cap.seconds)
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// Books one poll; returns true when the device just became backed off.
    public mutating func record(answered: Bool) -> Bool {
        guard !answered else {
            silentPolls = 0
            return false
        }
        silentPolls += 1
        return silentPolls == after
    }
}
