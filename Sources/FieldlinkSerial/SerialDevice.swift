import FieldlinkCore
import Foundation
import Logging

/// One point's values over a stream period, thinned to one by the device's `aggregate`.
struct PointAccumulator {
    private(set) var count = 0
    private var sum = 0.0
    private var minimum = Double.infinity
    private var maximum = -Double.infinity
    private var last: Value?

    mutating func add(_ value: Value) {
        count += 1
        last = value
        if case .bool = value { return }
        guard let number = value.number else { return }
        sum += number
        minimum = Swift.min(minimum, number)
        maximum = Swift.max(maximum, number)
    }

    /// The period's value; strings and booleans are always the last one seen.
    func result(_ aggregation: Aggregation) -> Value? {
        guard let last else { return nil }
        guard last.number != nil, !isBool(last) else { return last }
        switch aggregation {
        case .none, .last: return last
        case .avg: return .double(sum / Double(count))
        case .min: return .double(minimum)
        case .max: return .double(maximum)
        }
    }

    private func isBool(_ value: Value) -> Bool {
        if case .bool = value { return true }
        return false
    }
}

/// Frames dropped because they failed to parse: counted, and logged once when dropping starts and
/// once when it stops (judged per reading period), never once per frame.
struct DropLog {
    private(set) var total: UInt64 = 0
    private var inPeriod: UInt64 = 0
    private var example: String?
    private var state = StateChangeFilter<Bool>()

    mutating func drop(_ reason: String) {
        total += 1
        inPeriod += 1
        if example == nil { example = reason }
    }

    /// What was dropped this period, for a reading's error text.
    var periodSummary: String? {
        guard let example else { return nil }
        return "\(inPeriod) frame(s) dropped, e.g. \(example)"
    }

    /// Ends a period: logs a change between dropping and not.
    mutating func endPeriod(device: String, logger: Logger) {
        let dropping = inPeriod > 0
        if let change = state.update(dropping), change.previous != nil || dropping {
            if dropping {
                logger.warning("dropping frames that fail to parse: \(example ?? "") (\(total) dropped since start)", metadata: ["device": "\(device)"])
            } else {
                logger.notice("frames parse again (\(total) dropped since start)", metadata: ["device": "\(device)"])
            }
        }
        inPeriod = 0
        example = nil
    }
}

/// A device as its bus thread needs it: its parser, its points' transforms and its period state.
final class SerialDevice {
    let config: DeviceConfig
    let options: SerialDeviceOptions
    private var parser: FrameParser
    /// This frame's parsed values, one slot per point (transformed).
    private(set) var values: [Value?]
    private var accumulators: [PointAccumulator]
    private let transforms: [LinearTransform]
    var health: DeviceHealthTracker
    var drops = DropLog()
    /// Stream mode: when the current period ends.
    var due: ContinuousClock.Instant

    init(config: DeviceConfig, start: ContinuousClock.Instant) {
        self.config = config
        options = config.options as! SerialDeviceOptions
        let points = config.points.map { point in
            let options = point.options as! SerialPointOptions
            return ParserPoint(field: options.column == nil ? (options.field ?? point.name) : nil, column: options.column,
                               type: options.type ?? .float)
        }
        parser = FrameParser(options.parser, points: points)
        values = Array(repeating: nil, count: points.count)
        accumulators = Array(repeating: PointAccumulator(), count: points.count)
        transforms = config.points.map(\.transform)
        health = DeviceHealthTracker(device: config.name, pointCount: points.count, retry: config.interval)
        due = start + config.interval
    }

    /// Parses one frame into `values`; a failure is counted as a drop.
    @discardableResult
    func take(_ frame: ArraySlice<UInt8>) -> ParseOutcome {
        for index in values.indices { values[index] = nil }
        let outcome = parser.parse(frame, into: &values)
        switch outcome {
        case .parsed:
            for index in values.indices {
                if let value = values[index], !transforms[index].isIdentity { values[index] = transforms[index].apply(value) }
            }
        case .failed(let reason):
            for index in values.indices { values[index] = nil }
            drops.drop(reason)
        case .ignored: break
        }
        return outcome
    }

    /// Adds this frame's values to the period.
    func accumulate() {
        for index in values.indices {
            if let value = values[index] { accumulators[index].add(value) }
        }
    }

    var hasAccumulated: Bool { accumulators.contains { $0.count > 0 } }
    var hasAllPoints: Bool { accumulators.allSatisfy { $0.count > 0 } }

    /// The period's reading (or this frame's, from `values`, when `fromFrame`), resetting the period.
    func reading(fromFrame: Bool = false, missing: String) -> Reading {
        var reading = Reading(device: config.name, timestamp: Self.now(), values: [], errors: [])
        for (index, point) in config.points.enumerated() {
            let value = fromFrame ? values[index] : accumulators[index].result(options.aggregate)
            if let value {
                if case .double(let number) = value, !number.isFinite {
                    reading.errors.append((point.name, "not a finite number (\(number))"))
                } else {
                    reading.values.append((point.name, value))
                }
            } else {
                reading.errors.append((point.name, parser.missingReason ?? missing))
            }
        }
        if !fromFrame { accumulators = Array(repeating: PointAccumulator(), count: accumulators.count) }
        return reading
    }

    /// A reading where every point failed for one reason (port down, no reply).
    func failure(_ reason: String) -> Reading {
        Reading(device: config.name, timestamp: Self.now(), values: [], errors: config.points.map { ($0.name, reason) })
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)) }
}
