import Foundation
import SwiftProtobuf

// The generated protobuf type (FieldlinkPayload) and a command answer's value (`CommandAnswer.json`)
// are internal: the harness reads them as the tests do.
@testable import FieldlinkCore
@testable import FieldlinkPayload

/// Harnesses for messages: the Sparkplug B encoder against swift-protobuf's decoder, and the MQTT
/// command payload parser.
extension Harnesses {
    static let sparkplugTypes: [SparkplugEncoding.DataType] = [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64,
                                                               .float, .double, .boolean, .string]

    /// A value of `type` made of 8 input bytes, as a driver declaring that type delivers it.
    static func value(of type: SparkplugEncoding.DataType, _ raw: UInt64, _ bytes: ArraySlice<UInt8>) -> Value {
        switch type {
        case .int8: .int(Int64(Int8(truncatingIfNeeded: raw)))
        case .int16: .int(Int64(Int16(truncatingIfNeeded: raw)))
        case .int32: .int(Int64(Int32(truncatingIfNeeded: raw)))
        case .int64: .int(Int64(bitPattern: raw))
        case .uint8: .uint(UInt64(UInt8(truncatingIfNeeded: raw)))
        case .uint16: .uint(UInt64(UInt16(truncatingIfNeeded: raw)))
        case .uint32: .uint(UInt64(UInt32(truncatingIfNeeded: raw)))
        case .uint64: .uint(raw)
        case .float: .double(Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw))))
        case .double: .double(Double(bitPattern: raw))
        case .boolean: .bool(raw & 1 == 1)
        case .string: .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Two values are the same metric value (NaN equals NaN: a NaN float32 stays NaN).
    static func same(_ left: Value?, _ right: Value?) -> Bool {
        if case .double(let a)? = left, case .double(let b)? = right { return a == b || (a.isNaN && b.isNaN) }
        return left == right
    }

    /// Metrics made of the input (a type byte, 8 value bytes, a name length and name bytes each) in a
    /// DBIRTH and a DDATA: swift-protobuf's type decodes both, with every name, datatype and value as
    /// encoded; the DCMD reader (`commandMetrics`) reads the DBIRTH's values the same; `seq` appended
    /// is the `seq` decoded. Every value fits its declared type, as a driver delivers it.
    static func sparkplug(_ bytes: [UInt8]) {
        var metrics: [SparkplugEncoding.BirthMetric] = []
        var index = 0
        while index + 10 <= bytes.count {
            let type = sparkplugTypes[Int(bytes[index]) % sparkplugTypes.count]
            let valueBytes = bytes[index + 1..<index + 9]
            let raw = valueBytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let nameLength = min(Int(bytes[index + 9]) % 32, bytes.count - index - 10)
            let name = String(decoding: bytes[index + 10..<index + 10 + nameLength], as: UTF8.self)
            let failed = bytes[index] >= 0xF0
            metrics.append(.init(name: name, alias: UInt64(metrics.count + 1), type: type, unit: failed ? nil : name,
                                 value: failed ? nil : value(of: type, raw, valueBytes), reason: name))
            index += 10 + nameLength
        }
        let sequence = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let birthBytes = SparkplugEncoding.deviceBirth(at: 2, metricsAt: 1, metrics: metrics, sequenceAlias: 0, sequence: sequence)
        guard let birth = try? SparkplugB_Payload(serializedBytes: SparkplugEncoding.appending(seq: sequence, to: birthBytes)) else {
            preconditionFailure("swift-protobuf cannot read a DBIRTH we wrote: \(birthBytes)")
        }
        precondition(birth.seq == sequence && birth.timestamp == 2, "DBIRTH seq \(birth.seq) != \(sequence)")
        precondition(birth.metrics.count == metrics.count + 1, "DBIRTH has \(birth.metrics.count) metrics, not \(metrics.count + 1)")
        let read = SparkplugEncoding.commandMetrics(birthBytes) ?? []
        precondition(read.count == metrics.count + 1, "commandMetrics read \(read.count) metrics of \(metrics.count + 1)")
        for (position, (metric, decoded)) in zip(metrics, birth.metrics).enumerated() {
            precondition(decoded.name == metric.name && decoded.alias == metric.alias && decoded.datatype == metric.type.rawValue,
                         "metric \(position): \(decoded.name)/\(decoded.alias)/\(decoded.datatype) != \(metric.name)/\(metric.alias)/\(metric.type)")
            precondition(decoded.isNull == (metric.value == nil), "metric \(position): is_null \(decoded.isNull) for \(String(describing: metric.value))")
            guard let value = metric.value else { continue }
            // The DCMD reader reads a float as its shortest decimal (what a host meant): compare as float32.
            let readBack = metric.type == .float ? read[position].value?.number.map { Value.double(Double(Float($0))) } : read[position].value
            precondition(same(readBack, value), "metric \(position) (\(metric.type)): \(String(describing: read[position].value)) != \(value)")
            precondition(same(decodedValue(decoded, type: metric.type), value), "metric \(position) (\(metric.type)) decoded differently from \(value)")
        }
        precondition(birth.metrics.last?.name == SparkplugEncoding.sequenceMetric && birth.metrics.last?.longValue == sequence,
                     "the DBIRTH's last metric is not fieldlink/seq = \(sequence)")

        let values = metrics.compactMap { metric in metric.value.map { (alias: metric.alias, type: metric.type, value: $0) } }
        let failures = metrics.filter { $0.value == nil }.map { (alias: $0.alias, reason: $0.reason) }
        let dataBytes = SparkplugEncoding.data(at: 3, values: values, failures: failures, sequenceAlias: 0, sequence: sequence)
        guard let data = try? SparkplugB_Payload(serializedBytes: dataBytes) else {
            preconditionFailure("swift-protobuf cannot read a DDATA we wrote: \(dataBytes)")
        }
        precondition(data.metrics.count == values.count + failures.count + 1, "DDATA has \(data.metrics.count) metrics")
        for (entry, decoded) in zip(values, data.metrics) {
            precondition(!decoded.hasName && decoded.alias == entry.alias && same(decodedValue(decoded, type: entry.type), entry.value),
                         "DDATA alias \(entry.alias) (\(entry.type)) decoded differently from \(entry.value)")
        }
        for (entry, decoded) in zip(failures, data.metrics.dropFirst(values.count)) {
            precondition(decoded.isNull && decoded.alias == entry.alias && decoded.properties.values.last?.stringValue == entry.reason,
                         "DDATA failure alias \(entry.alias) lost its reason")
        }
    }

    /// A decoded metric's value read by the datatype the DBIRTH declared (signed integers sign-extended).
    static func decodedValue(_ metric: SparkplugB_Payload.Metric, type: SparkplugEncoding.DataType) -> Value? {
        switch (type, metric.value) {
        case (.int8, .intValue(let bits)?): .int(Int64(Int8(truncatingIfNeeded: Int32(bitPattern: bits))))
        case (.int16, .intValue(let bits)?): .int(Int64(Int16(truncatingIfNeeded: Int32(bitPattern: bits))))
        case (.int32, .intValue(let bits)?): .int(Int64(Int32(bitPattern: bits)))
        case (.uint8, .intValue(let bits)?), (.uint16, .intValue(let bits)?), (.uint32, .intValue(let bits)?): .uint(UInt64(bits))
        case (.int64, .longValue(let bits)?): .int(Int64(bitPattern: bits))
        case (.uint64, .longValue(let bits)?): .uint(bits)
        case (.float, .floatValue(let number)?): .double(Double(number))
        case (.double, .doubleValue(let number)?): .double(number)
        case (.boolean, .booleanValue(let bit)?): .bool(bit)
        case (.string, .stringValue(let text)?): .string(text)
        default: nil
        }
    }

    /// Any bytes as a command on `{device}/set/{point}` and `{device}/set`: a value or a refusal,
    /// never a trap; a number is finite; a value answered back (`CommandAnswer`) is valid JSON and
    /// reads back as the same value; an object's points are named and in name order.
    static func command(_ bytes: [UInt8]) {
        switch CommandPayload.scalar(bytes) {
        case .success(let value):
            if case .double(let number) = value { precondition(number.isFinite, "a command value \(number)") }
            let answer = CommandAnswer.json(value)
            precondition((try? JSONSerialization.jsonObject(with: Data(answer.utf8), options: .fragmentsAllowed)) != nil,
                         "the answer \(answer) is not JSON")
            guard case .success(let again) = CommandPayload.scalar(Array(answer.utf8)) else {
                preconditionFailure("the answer \(answer) of \(value) does not read back")
            }
            precondition(again == value || (again.number != nil && again.number == value.number), "\(value) read back as \(again)")
        case .failure(let error):
            precondition(!error.description.isEmpty, "a refusal says why")
            let answer = CommandAnswer.json(error: error.description, point: String(decoding: bytes.prefix(64), as: UTF8.self))
            precondition((try? JSONSerialization.jsonObject(with: Data(answer.utf8))) != nil, "the refusal \(answer) is not JSON")
        }
        if case .success(let points) = CommandPayload.object(bytes) {
            precondition(!points.isEmpty, "an object command with no point")
            precondition(zip(points, points.dropFirst()).allSatisfy { $0.point < $1.point }, "points out of order: \(points.map(\.point))")
            for case .double(let number) in points.map(\.value) { precondition(number.isFinite, "a command value \(number)") }
        }
    }
}
