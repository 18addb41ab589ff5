import Synchronization

/// A command to write points of one device, in engineering units, as a user sent it: nothing is
/// checked yet (the bus owner checks everything, on the bus thread, before anything is sent).
public struct WriteRequest: Sendable {
    public var device: String
    public var values: [(point: String, value: Value)]
    /// Past this the command is dropped unexecuted (`command_max_age`, or the MQTT 5 expiry).
    public var deadline: ContinuousClock.Instant?
    /// Where it came from, for the audit line: the command topic, or `command line`.
    public var source: String
    /// Set when the command could not even be read (a payload that is not a value): the bus owner
    /// refuses it with this reason, so it is audited and counted like every other refusal.
    public var refusal: String? = nil

    public init(device: String, values: [(point: String, value: Value)], deadline: ContinuousClock.Instant? = nil, source: String) {
        self.device = device
        self.values = values
        self.deadline = deadline
        self.source = source
    }
}

/// What became of one point of a command.
public struct PointWriteResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// Written; the value read back at once (nil when the read-back itself failed, with why).
        case written(readBack: Value?, readBackError: String?)
        /// Never sent to the device: not writable, out of limits, wrong type, too soon, expired...
        case refused(String)
        /// Sent, and the device (or the line) did not take it: a Modbus exception, a timeout.
        case failed(String)
    }

    public var point: String
    public var value: Value
    public var outcome: Outcome

    public init(point: String, value: Value, outcome: Outcome) {
        self.point = point
        self.value = value
        self.outcome = outcome
    }

    public var ok: Bool {
        if case .written = outcome { return true }
        return false
    }

    /// The audit line's RESULT=: `written`, `refused: <reason>`, `failed: <reason>`.
    public var summary: String {
        switch outcome {
        case .written(_, nil): "written"
        case .written(_, let error?): "written (read-back failed: \(error))"
        case .refused(let reason): "refused: \(reason)"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}

/// A command handed to a bus thread, with where its outcome goes (called on the bus thread).
public struct WriteJob: Sendable {
    public var request: WriteRequest
    public var reply: @Sendable ([PointWriteResult]) -> Void

    public init(request: WriteRequest, reply: @escaping @Sendable ([PointWriteResult]) -> Void) {
        self.request = request
        self.reply = reply
    }
}

/// The way into one bus thread for commands: any thread submits, the bus loop takes them at the top
/// of its next turn (woken at once), so a write never runs beside a poll of the same line.
public final class WriteInbox: Sendable {
    private struct State {
        var jobs: [WriteJob] = []
        var wake: (@Sendable () -> Void)?
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Queues a command for the bus thread; a bus that has stopped refuses it at once.
    public func submit(_ job: WriteJob) {
        let (accepted, wake) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            guard !state.closed else { return (false, nil) }
            state.jobs.append(job)
            return (true, state.wake)
        }
        guard accepted else {
            job.reply(job.request.values.map { PointWriteResult(point: $0.point, value: $0.value, outcome: .refused("the bus is not running")) })
            return
        }
        wake?()
    }

    /// The bus loop's side: how to wake it, set once it runs.
    public func attach(wake: @escaping @Sendable () -> Void) {
        state.withLock { $0.wake = wake }
    }

    /// Everything queued, oldest first.
    public func take() -> [WriteJob] {
        state.withLock { state in
            defer { state.jobs.removeAll() }
            return state.jobs
        }
    }

    /// The bus stopped: what is queued is refused, and so is everything submitted later.
    public func close() {
        let left = state.withLock { state in
            state.closed = true
            state.wake = nil
            defer { state.jobs.removeAll() }
            return state.jobs
        }
        for job in left {
            job.reply(job.request.values.map { PointWriteResult(point: $0.point, value: $0.value, outcome: .refused("the bus stopped")) })
        }
    }
}
