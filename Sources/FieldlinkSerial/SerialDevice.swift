import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
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

/// A device as its bus thread needs it: its parser and its period's raw values.
final class SerialDevice {
    let config: DeviceConfig
    let options: SerialDeviceOptions
    private var parser: FrameParser
    /// This frame's parsed raw values, one slot per point.
    private(set) var values: [Value?]
    private var accumulators: [PointAccumulator]
    /// Points whose raw value is a code looked up in a `map` (thinned to the last, never averaged),
    /// and points whose negative scale turns the raw minimum into the published maximum.
    private let categorical: [Bool]
    private let inverted: [Bool]
    var drops = DropLog()

    init(config: DeviceConfig) {
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
        categorical = config.points.map { $0.labels != nil }
        inverted = config.points.map { $0.transform.scale < 0 }
    }

    /// Parses one frame into `values`; a failure is counted as a drop.
    @discardableResult
    /// Parses one frame; a failure counts as a drop unless `quietly` (the partial first line after the port opens).
    func take(_ frame: ArraySlice<UInt8>, quietly: Bool = false) -> ParseOutcome {
        for index in values.indices { values[index] = nil }
        let outcome = parser.parse(frame, into: &values)
        if case .failed(let reason) = outcome {
            for index in values.indices { values[index] = nil }
            if !quietly { drops.drop(reason) }
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

    /// The period's raw values (or this frame's, from `values`, when `fromFrame`), resetting the period.
    func poll(fromFrame: Bool = false, missing: String) -> DevicePoll {
        let points: [DevicePoll.Point] = config.points.indices.map { index in
            let value = fromFrame ? values[index] : accumulators[index].result(aggregation(of: index))
            guard let value else { return .failed(parser.missingReason ?? missing) }
            return .raw(value)
        }
        if !fromFrame { accumulators = Array(repeating: PointAccumulator(), count: accumulators.count) }
        return DevicePoll(points: points, answered: nil)
    }

    /// The device's aggregation as it applies to one point's raw values.
    private func aggregation(of index: Int) -> Aggregation {
        switch options.aggregate {
        case .avg where categorical[index], .min where categorical[index], .max where categorical[index]: .last
        case .min where inverted[index]: .max
        case .max where inverted[index]: .min
        case let aggregate: aggregate
        }
    }

    /// A poll where every point failed for one reason (port down, no reply).
    func failure(_ reason: String, answered: Bool?) -> DevicePoll {
        .failure(reason, points: config.points.count, answered: answered)
    }
}
