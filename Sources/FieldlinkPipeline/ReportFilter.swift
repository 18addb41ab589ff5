import FieldlinkCore

/// One device's report-by-exception state: what each point last *reported* and when.
///
/// Comparing with the last reported value, not the last read one, means a slow drift is reported
/// once it adds up to the deadband. A point that failed is reported when its error changes (or
/// when it recovers), not on every failing poll.
public struct ReportFilter: Sendable {
    private enum Reported: Equatable {
        case value(Value)
        case error(String)
    }

    private var last: [String: (reported: Reported, at: Int64)] = [:]

    public init() {}

    /// What of `reading` should be published under `policy`; nil when nothing should.
    public mutating func apply(_ reading: Reading, policy: ReportPolicy) -> Reading? {
        guard policy.onChange else { return reading }
        var out = reading
        out.values = reading.values.filter { name, value in
            report(name, .value(value), at: reading.timestamp, policy: policy)
        }
        out.errors = reading.errors.filter { name, reason in
            report(name, .error(reason), at: reading.timestamp, policy: policy)
        }
        return out.values.isEmpty && out.errors.isEmpty ? nil : out
    }

    private mutating func report(_ name: String, _ now: Reported, at time: Int64, policy: ReportPolicy) -> Bool {
        guard let previous = last[name] else { return remember(name, now, time) }
        if let heartbeat = policy.heartbeat, time - previous.at >= heartbeat.milliseconds {
            return remember(name, now, time)
        }
        switch (previous.reported, now) {
        case (.value(let old), .value(let new)):
            // Booleans and text change or they do not; numbers change by at least the deadband.
            guard let before = old.number, let after = new.number, isNumber(old), isNumber(new) else {
                return old == new ? false : remember(name, now, time)
            }
            let change = abs(after - before)
            let threshold: Double = switch policy.pointDeadbands[name] ?? policy.deadband {
            case nil: 0
            case .absolute(let size): size
            case .relative(let fraction): fraction * abs(before)
            }
            return (threshold == 0 ? change > 0 : change >= threshold) ? remember(name, now, time) : false
        default:
            return previous.reported == now ? false : remember(name, now, time)
        }
    }

    private mutating func remember(_ name: String, _ reported: Reported, _ time: Int64) -> Bool {
        last[name] = (reported, time)
        return true
    }

    private func isNumber(_ value: Value) -> Bool {
        switch value {
        case .int, .uint, .double: true
        case .bool, .string: false
        }
    }
}
