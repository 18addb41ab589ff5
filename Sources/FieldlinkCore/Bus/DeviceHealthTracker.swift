import Logging

/// One device's health from reading to reading: logs once per change (with how long the old state
/// lasted) and says when to publish a new `DeviceHealth`, so a silent device costs two log lines,
/// not one per poll.
///
/// Family-neutral (it sees only `Reading`s): Modbus, serial and I2C all log and publish health
/// through it, in the same words.
public struct DeviceHealthTracker: Sendable {
    /// What a reading said about the device, compared reading to reading: the KIND of failure, so
    /// a changing count ("3 frame(s) dropped", then "5") or a rotating Modbus exception code is not
    /// a new state. The latest detail goes in the published health, not in a new log line.
    enum Condition: Equatable, Sendable {
        case ok
        case failing(kind: String, total: Bool)

        init(_ reading: Reading, pointCount: Int) {
            guard !reading.errors.isEmpty else {
                self = .ok
                return
            }
            let total = reading.values.isEmpty
            let kinds = Set(reading.errors.map { Self.kind(of: $0.reason) })
            let which = total ? "all" : reading.errors.map(\.name).joined(separator: ", ")
            self = .failing(kind: "\(which): \(kinds.sorted().joined(separator: "; "))", total: total)
        }

        /// A reason without its particulars: the example after ", e.g.", the detail in parentheses,
        /// and every number ("Modbus exception 2 (illegal data address)" -> "Modbus exception").
        static func kind(of reason: String) -> String {
            var text = Substring(reason)
            for marker in [", e.g.", " ("] {
                if let range = text.firstRange(of: marker) { text = text[..<range.lowerBound] }
            }
            return text.split(whereSeparator: { $0.isNumber }).joined().split(separator: " ").joined(separator: " ")
        }
    }

    /// The words for a failing reading: what failed and why, with the particulars.
    static func summary(_ reading: Reading, pointCount: Int) -> String {
        let reasons = Set(reading.errors.map(\.reason))
        let total = reading.values.isEmpty
        if reasons.count == 1, let reason = reasons.first {
            let which = total ? "all \(pointCount) point(s)" : reading.errors.map(\.name).joined(separator: ", ")
            return "\(which) failed: \(reason)"
        }
        let list = reading.errors.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
        return "\(reading.errors.count) of \(pointCount) point(s) failed: \(list)"
    }

    public let device: String
    private let pointCount: Int
    /// How often a failing device is tried again, for the log line.
    private let retry: Duration
    /// What one reading is called in the log ("poll", "reading").
    private let noun: String
    private var condition = StateChangeFilter<Condition>()
    /// The latest failing reading's words (its counts and detail), for the published health.
    private var latestSummary: String?
    private var lastSuccess: Int64?
    private var failedReadings: UInt64 = 0
    /// When the current state began.
    private var since: Int64 = 0

    public init(device: String, pointCount: Int, retry: Duration, noun: String = "reading") {
        self.device = device
        self.pointCount = pointCount
        self.retry = retry
        self.noun = noun
    }

    /// Takes one reading; returns the health to publish when it changed, nil otherwise.
    /// `republish`: the family has news of its own (a backoff began or ended), so the health goes
    /// out even without a change of state, and nothing is logged for it here.
    public mutating func record(_ reading: Reading, logger: Logger, republish: Bool = false) -> DeviceHealth? {
        let state = Condition(reading, pointCount: pointCount)
        latestSummary = reading.errors.isEmpty ? nil : Self.summary(reading, pointCount: pointCount)
        if !reading.values.isEmpty { lastSuccess = reading.timestamp }
        if !reading.errors.isEmpty { failedReadings += 1 }
        guard let change = condition.update(state) else {
            return republish ? health(state) : nil
        }
        since = reading.timestamp
        HealthBoard.shared.setDevice(device, ok: state == .ok)
        let metadata: Logger.Metadata = ["device": "\(device)"]
        switch (state, change.previous) {
        case (.ok, nil):
            logger.info("reading all \(pointCount) point(s)", metadata: metadata)
        case (.ok, .some):
            logger.notice("reading all points again after \(change.repeats) failed \(noun)(s)", metadata: metadata)
        case (.failing(_, let total), _):
            let consequence = total ? "nothing published" : "published without them"
            logger.warning("\(latestSummary ?? "failed") (\(consequence); retrying every \(retry.configText))", metadata: metadata)
        }
        return health(state)
    }

    private func health(_ state: Condition) -> DeviceHealth {
        let error: String? = state == .ok ? nil : latestSummary
        return DeviceHealth(device: device, ok: state == .ok, since: since, lastSuccess: lastSuccess, failedPolls: failedReadings, error: error)
    }
}
