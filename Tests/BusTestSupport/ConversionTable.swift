import FieldlinkCore

/// One raw value and a point's conversion keys, with what the point must publish (or its error).
/// The same table runs through the Modbus, serial and I2C fakes, so the shared conversion is
/// proven to behave identically whichever family read the value.
public struct ConversionCase: Sendable, CustomStringConvertible {
    public enum Raw: Sendable {
        /// A signed integer: Modbus `int16`, serial `type: int`, I2C `int16`.
        case integer(Int16)
        /// A float32 on the wire (a text sensor prints it).
        case float(Float)
    }

    public var point: String
    public var raw: Raw
    /// The point's conversion keys, as YAML flow-mapping entries.
    public var keys: String
    public var expected: Result<Value, ConversionError>

    public var description: String { "\(point) {\(keys)}" }

    /// A text sensor's parser refuses "nan" and "inf" as numbers (the frame fails to parse), so
    /// non-finite values reach the conversion from binary families only.
    public var textCanCarry: Bool {
        if case .float(let value) = raw { return value.isFinite }
        return true
    }

    /// The point's YAML keys beyond name and the family's own address/type keys.
    public var yamlKeys: String { keys.isEmpty ? "" : ", \(keys)" }
}

public enum ConversionTable {
    public static let cases: [ConversionCase] = [
        ConversionCase(point: "plain", raw: .integer(7), keys: "", expected: .success(.int(7))),
        ConversionCase(point: "negative", raw: .integer(-123), keys: "", expected: .success(.int(-123))),
        ConversionCase(point: "scaled", raw: .integer(2301), keys: "scale: 0.1", expected: .success(.double(230.1))),
        ConversionCase(point: "offset", raw: .integer(7), keys: "scale: 0.5, offset: 1", expected: .success(.double(4.5))),
        ConversionCase(point: "rounded", raw: .integer(10), keys: "scale: 0.333, precision: 2", expected: .success(.double(3.33))),
        ConversionCase(point: "mapped", raw: .integer(1), keys: "map: {0: stopped, 1: running}", expected: .success(.string("running"))),
        ConversionCase(point: "unmapped", raw: .integer(2), keys: "map: {0: stopped, 1: running}",
                       expected: .failure(ConversionError("raw value 2 is not in the point's map (mapped: 0, 1)"))),
        ConversionCase(point: "fraction", raw: .float(21.5), keys: "", expected: .success(.double(21.5))),
        ConversionCase(point: "notanumber", raw: .float(.nan), keys: "", expected: .failure(ConversionError("not a finite number (nan)"))),
        ConversionCase(point: "infinite", raw: .float(.infinity), keys: "scale: 2", expected: .failure(ConversionError("not a finite number (inf)"))),
    ]

    /// Checks one reading against the table: every case's point has its value, or its error.
    public static func mismatches(in reading: Reading, of cases: [ConversionCase] = cases) -> [String] {
        cases.compactMap { conversion in
            let value = reading.values.first { $0.name == conversion.point }?.value
            let error = reading.errors.first { $0.name == conversion.point }?.reason
            switch conversion.expected {
            case .success(let expected) where value == expected: return nil
            case .failure(let expected) where error == expected.description: return nil
            default: return "\(conversion): got \(value.map { "\($0)" } ?? "no value"), error \(error ?? "none"); expected \(conversion.expected)"
            }
        }
    }
}
