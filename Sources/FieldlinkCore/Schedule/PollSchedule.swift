/// Fixed-rate polling of the devices on one bus.
///
/// Each device keeps its own grid (`start + k * interval`), so a slow poll never makes the schedule
/// drift. A slot that passes while the bus is still busy is skipped and counted, never queued up:
/// a backlog of stale polls would only delay fresh ones. Pure value: tests drive it with instants.
public struct PollSchedule<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    private var intervals: [Duration]
    private var due: [Instant]
    /// Slots skipped per device because an earlier poll overran them.
    public private(set) var skipped: [Int]

    /// `firstAfter`: per device, how long after `start` its first slot comes (none: at once). A
    /// stream device's slot ends a period, so its first is one interval in.
    public init(intervals: [Duration], start: Instant, firstAfter: [Duration]? = nil) {
        precondition(intervals.allSatisfy { $0 > .zero }, "poll intervals must be positive")
        self.intervals = intervals
        self.due = (firstAfter ?? Array(repeating: .zero, count: intervals.count)).map { start.advanced(by: $0) }
        self.skipped = Array(repeating: 0, count: intervals.count)
    }

    /// The device to poll next and when it is due; ties go to the device configured first.
    public func next() -> (device: Int, due: Instant)? {
        guard var best = due.indices.first else { return nil }
        for index in due.indices where due[index] < due[best] {
            best = index
        }
        return (best, due[best])
    }

    /// Books the poll of `device` (taken for its current slot) as finished at `now`.
    /// Returns how many of its slots were skipped because they passed meanwhile.
    @discardableResult
    public mutating func completed(_ device: Int, at now: Instant) -> Int {
        let interval = intervals[device]
        var nextDue = due[device].advanced(by: interval)
        var missed = 0
        if nextDue <= now {
            let behind = nextDue.duration(to: now)
            missed = Int(behind / interval) + 1
            nextDue = nextDue.advanced(by: interval * missed)
        }
        due[device] = nextDue
        skipped[device] += missed
        return missed
    }
}
