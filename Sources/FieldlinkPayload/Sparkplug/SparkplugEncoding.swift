import FieldlinkCore
import SwiftProtobuf

/// The Sparkplug B payloads fieldlink sends, as bytes: pure functions of what the edge node
/// (`FieldlinkPipeline`) keeps, so the protobuf types stay inside this target.
public enum SparkplugEncoding {
    public static let namespace = "spBv1.0"
    public static let contentType = "application/x-protobuf"
    public static let rebirthMetric = "Node Control/Rebirth"
    public static let sequenceMetric = "fieldlink/seq"

    /// Sparkplug's datatype codes (specification 6.4.16).
    public enum DataType: UInt32, Sendable {
        case int8 = 1, int16, int32, int64, uint8, uint16, uint32, uint64, float, double, boolean, string
    }

    /// A metric in a DBIRTH: its definition and its last value, or why there is none.
    public struct BirthMetric: Sendable {
        public var name: String
        public var alias: UInt64
        public var type: DataType
        public var unit: String?
        public var value: Value?
        /// Sent when there is no value (a failed point, or "not read yet").
        public var reason: String

        public init(name: String, alias: UInt64, type: DataType, unit: String?, value: Value?, reason: String) {
            self.name = name
            self.alias = alias
            self.type = type
            self.unit = unit
            self.value = value
            self.reason = reason
        }
    }

    // MARK: Messages

    /// NDEATH: the will, and what a clean disconnect sends first.
    public static func nodeDeath(bdSeq: UInt64, at time: UInt64) -> [UInt8] {
        var payload = SparkplugB_Payload()
        payload.timestamp = time
        var metric = SparkplugB_Payload.Metric()
        metric.name = "bdSeq"
        metric.datatype = DataType.int64.rawValue
        metric.longValue = bdSeq
        payload.metrics = [metric]
        return serialize(payload)
    }

    /// NBIRTH: the session's `bdSeq` and the rebirth control, with its `seq` (0).
    public static func nodeBirth(bdSeq: UInt64, at time: UInt64, seq: UInt64) -> [UInt8] {
        var node = SparkplugB_Payload()
        node.timestamp = time
        var number = SparkplugB_Payload.Metric()
        number.name = "bdSeq"
        number.timestamp = time
        number.datatype = DataType.int64.rawValue
        number.longValue = bdSeq
        var rebirth = SparkplugB_Payload.Metric()
        rebirth.name = rebirthMetric
        rebirth.timestamp = time
        rebirth.datatype = DataType.boolean.rawValue
        rebirth.booleanValue = false
        node.metrics = [number, rebirth]
        node.seq = seq
        return serialize(node)
    }

    /// DBIRTH without `seq`: every metric's name, alias, datatype, unit and last value (stamped
    /// `metricsAt`), then the reading's own sequence number as `fieldlink/seq`.
    public static func deviceBirth(at time: UInt64, metricsAt timestamp: UInt64, metrics: [BirthMetric], sequenceAlias: UInt64,
                                   sequence: UInt64) -> [UInt8] {
        var payload = SparkplugB_Payload()
        payload.timestamp = time
        for metric in metrics {
            var entry: SparkplugB_Payload.Metric
            if let value = metric.value {
                entry = Self.metric(alias: metric.alias, timestamp: timestamp, type: metric.type, value: value)
            } else {
                entry = failed(alias: metric.alias, timestamp: timestamp, reason: metric.reason)
            }
            entry.name = metric.name
            entry.datatype = metric.type.rawValue
            if let unit = metric.unit {
                entry.properties.keys.append("engUnit")
                entry.properties.values.append(property(string: unit))
            }
            payload.metrics.append(entry)
        }
        var number = SparkplugB_Payload.Metric()
        number.name = sequenceMetric
        number.alias = sequenceAlias
        number.timestamp = timestamp
        number.datatype = DataType.uint64.rawValue
        number.longValue = sequence
        payload.metrics.append(number)
        return serialize(payload)
    }

    /// DDATA without `seq`: metrics by alias, each with the reading's timestamp; a failed point as
    /// `is_null` with its reason in the `Quality`/`Error` properties; the reading's sequence number last.
    /// `unsyncedTime`: every metric gets the property `ts_quality` = "unsynced" (the JSON key's twin).
    public static func data(at time: UInt64, values: [(alias: UInt64, type: DataType, value: Value)],
                            failures: [(alias: UInt64, reason: String)], sequenceAlias: UInt64, sequence: UInt64,
                            unsyncedTime: Bool = false) -> [UInt8] {
        var payload = SparkplugB_Payload()
        payload.timestamp = time
        payload.metrics.reserveCapacity(values.count + failures.count + 1)
        for entry in values {
            payload.metrics.append(metric(alias: entry.alias, timestamp: time, type: entry.type, value: entry.value))
        }
        for entry in failures {
            payload.metrics.append(failed(alias: entry.alias, timestamp: time, reason: entry.reason))
        }
        var number = SparkplugB_Payload.Metric()
        number.alias = sequenceAlias
        number.timestamp = time
        number.longValue = sequence
        payload.metrics.append(number)
        if unsyncedTime {
            for index in payload.metrics.indices {
                payload.metrics[index].properties.keys.append(unsyncedQualityKey)
                payload.metrics[index].properties.values.append(property(string: "unsynced"))
            }
        }
        return serialize(payload)
    }

    /// The metric property that marks a timestamp from a clock not known to be right.
    public static let unsyncedQualityKey = "ts_quality"

    /// DDEATH: only a timestamp.
    public static func deviceDeath(at time: UInt64) -> [UInt8] {
        var payload = SparkplugB_Payload()
        payload.timestamp = time
        return serialize(payload)
    }

    /// An NCMD: true when it asks for a rebirth (`Node Control/Rebirth` = true).
    public static func isRebirthCommand(_ payload: [UInt8]) -> Bool {
        guard let decoded = try? SparkplugB_Payload(serializedBytes: payload) else { return false }
        return decoded.metrics.contains { $0.name == rebirthMetric && $0.booleanValue }
    }

    /// A DCMD's metrics: each one's name or alias (a host may send either) and its value as the
    /// datatype says (signed integers sign-extended as Tahu sends them); nil when it is not a payload.
    public static func commandMetrics(_ payload: [UInt8]) -> [(name: String?, alias: UInt64?, value: Value?)]? {
        guard let decoded = try? SparkplugB_Payload(serializedBytes: payload) else { return nil }
        return decoded.metrics.map { metric in
            let type = metric.hasDatatype ? DataType(rawValue: metric.datatype) : nil
            let value: Value? = switch metric.value {
            case .intValue(let bits)?:
                switch type {
                case .int8?, .int16?, .int32?: .int(Int64(Int32(bitPattern: bits)))
                default: .uint(UInt64(bits))
                }
            case .longValue(let bits)?: type == .int64 ? .int(Int64(bitPattern: bits)) : .uint(bits)
            case .floatValue(let number)?: .double(number.isFinite ? Double("\(number)")! : Double(number))
            case .doubleValue(let number)?: .double(number)
            case .booleanValue(let bit)?: .bool(bit)
            case .stringValue(let text)?: .string(text)
            default: nil
            }
            return (metric.hasName ? metric.name : nil, metric.hasAlias ? metric.alias : nil, value)
        }
    }

    // MARK: Parts

    /// The datatype a driver declares for a point.
    public static func dataType(_ kind: ValueKind) -> DataType {
        switch kind {
        case .bool: .boolean
        case .int(let bits): bits <= 8 ? .int8 : bits <= 16 ? .int16 : bits <= 32 ? .int32 : .int64
        case .uint(let bits): bits <= 8 ? .uint8 : bits <= 16 ? .uint16 : bits <= 32 ? .uint32 : .uint64
        case .float32: .float
        case .float64: .double
        case .string: .string
        }
    }

    /// The datatype of a point its driver does not declare, from its first value.
    public static func dataType(inferredFrom value: Value?) -> DataType {
        switch value {
        case .bool: .boolean
        case .int: .int64
        case .uint: .uint64
        case .string: .string
        case .double, nil: .double
        }
    }

    /// The payload with field 3 (`seq`, a varint) added at the end.
    public static func appending(seq: UInt64, to payload: [UInt8]) -> [UInt8] {
        var stamped = payload
        stamped.reserveCapacity(payload.count + 3)
        stamped.append(0x18)
        var rest = seq
        while rest >= 0x80 {
            stamped.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        stamped.append(UInt8(rest))
        return stamped
    }

    static func metric(alias: UInt64, timestamp: UInt64, type: DataType, value: Value) -> SparkplugB_Payload.Metric {
        var metric = SparkplugB_Payload.Metric()
        metric.alias = alias
        metric.timestamp = timestamp
        switch (type, value) {
        case (.boolean, _):
            metric.booleanValue = value.number.map { $0 != 0 } ?? false
        case (.string, .string(let text)):
            metric.stringValue = text
        case (.string, _):
            metric.stringValue = value.number.map { "\($0)" } ?? ""
        case (.float, _):
            metric.floatValue = Float(value.number ?? .nan)
        case (.double, _):
            metric.doubleValue = value.number ?? .nan
        case (.int8, _), (.int16, _), (.int32, _):
            metric.intValue = UInt32(bitPattern: Int32(truncatingIfNeeded: value.integer ?? 0))
        case (.uint8, _), (.uint16, _), (.uint32, _):
            metric.intValue = UInt32(truncatingIfNeeded: value.integer ?? 0)
        case (.int64, _):
            metric.longValue = UInt64(bitPattern: value.integer ?? 0)
        case (.uint64, .uint(let number)):
            metric.longValue = number
        case (.uint64, _):
            metric.longValue = UInt64(bitPattern: value.integer ?? 0)
        }
        return metric
    }

    static func failed(alias: UInt64, timestamp: UInt64, reason: String) -> SparkplugB_Payload.Metric {
        var metric = SparkplugB_Payload.Metric()
        metric.alias = alias
        metric.timestamp = timestamp
        metric.isNull = true
        // OPC quality 0 is "bad"; Ignition and other hosts read a `Quality` property this way.
        var quality = SparkplugB_Payload.PropertyValue()
        quality.type = DataType.int32.rawValue
        quality.intValue = 0
        metric.properties.keys = ["Quality", "Error"]
        metric.properties.values = [quality, property(string: reason)]
        return metric
    }

    static func property(string: String) -> SparkplugB_Payload.PropertyValue {
        var property = SparkplugB_Payload.PropertyValue()
        property.type = DataType.string.rawValue
        property.stringValue = string
        return property
    }

    static func serialize(_ payload: SparkplugB_Payload) -> [UInt8] {
        // Serialising a message with only known, set fields cannot fail.
        (try? payload.serializedBytes()) ?? []
    }
}

extension Value {
    /// Integers as they are; a whole-valued double as an integer; anything else nil.
    var integer: Int64? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): i
        case .uint(let u): Int64(exactly: u) ?? Int64(bitPattern: u)
        case .double(let d): Int64(exactly: d)
        case .string: nil
        }
    }
}
