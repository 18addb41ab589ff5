import FieldlinkCore
import Foundation
import SwiftProtobuf

/// The protobuf side of the edge node: datatypes, metrics, properties and the `seq` field, as pure
/// functions, apart from the session state they are used by.
extension SparkplugEdgeNode {
    static func dataType(_ kind: ValueKind) -> DataType {
        switch kind {
        case .bool: .boolean
        case .int(let bits): bits <= 8 ? .int8 : bits <= 16 ? .int16 : bits <= 32 ? .int32 : .int64
        case .uint(let bits): bits <= 8 ? .uint8 : bits <= 16 ? .uint16 : bits <= 32 ? .uint32 : .uint64
        case .float32: .float
        case .float64: .double
        case .string: .string
        }
    }

    static func dataType(inferredFrom value: Value?) -> DataType {
        switch value {
        case .bool: .boolean
        case .int: .int64
        case .uint: .uint64
        case .string: .string
        case .double, nil: .double
        }
    }

    /// The payload with field 3 (`seq`, a varint) added at the end.
    static func appending(seq: UInt64, to payload: [UInt8]) -> [UInt8] {
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

    /// Births, deaths and data are never retained: a host learns the state from births, not the broker.
    static func message(_ topic: String, _ payload: SparkplugB_Payload, qos: Int) -> OutboundMessage {
        OutboundMessage(topic: topic, payload: serialize(payload), qos: qos, retain: false, contentType: contentType)
    }

    static func serialize(_ payload: SparkplugB_Payload) -> [UInt8] {
        // Serialising a message with only known, set fields cannot fail.
        (try? payload.serializedBytes()) ?? []
    }

    static func now() -> UInt64 {
        UInt64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
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
