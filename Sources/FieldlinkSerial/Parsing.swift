import FieldlinkCore

/// What a parser made of one frame.
public enum ParseOutcome: Equatable, Sendable {
    /// Values were written for the points the frame carries (possibly none, e.g. a GGA without a fix).
    case parsed
    /// A well-formed frame this device does not use (an NMEA GSV, another talker).
    case ignored
    /// The frame is damaged or not what the device's parser expects; it is dropped and counted.
    case failed(String)
}

/// The type a text field is published as.
public enum SerialValueType: String, Sendable, CaseIterable {
    case float, int, string, bool

    /// Converts one field's bytes (already trimmed); nil when they do not spell a value of this type.
    func value(_ text: ArraySlice<UInt8>) -> Value? {
        switch self {
        case .float: return DecimalText.double(text).map(Value.double)
        case .int: return DecimalText.integer(text).map(Value.int)
        case .string: return .string(String(decoding: text, as: UTF8.self))
        case .bool:
            switch String(decoding: text, as: UTF8.self).lowercased() {
            case "true", "1", "on", "yes": return .bool(true)
            case "false", "0", "off", "no": return .bool(false)
            default: return nil
            }
        }
    }
}

/// Number parsing straight from bytes: no String per field on the hot path.
enum DecimalText {
    /// Exact powers of ten as doubles (every one up to 1e22 is representable).
    private static let powers: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// `-12.345`, `+7`, `.5`; anything else (exponents, long mantissas) goes through `Double(String)`.
    /// A mantissa below 2^53 divided by an exact power of ten is one correctly rounded operation,
    /// so `48.1173` parses to the same double as the literal.
    static func double(_ text: ArraySlice<UInt8>) -> Double? {
        var index = text.startIndex
        guard index < text.endIndex else { return nil }
        var negative = false
        if text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        while index < text.endIndex {
            let byte = text[index]
            if byte >= 0x30, byte <= 0x39 {
                guard digits < 18 else { return slowDouble(text) }
                mantissa = mantissa * 10 + Int64(byte - 0x30)
                digits += 1
                if seenPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                return slowDouble(text)
            }
            index += 1
        }
        guard digits > 0, mantissa < 1 << 53, fractionDigits <= 22 else { return digits > 0 ? slowDouble(text) : nil }
        let value = Double(mantissa) / powers[fractionDigits]
        return negative ? -value : value
    }

    private static func slowDouble(_ text: ArraySlice<UInt8>) -> Double? {
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    static func integer(_ text: ArraySlice<UInt8>) -> Int64? {
        Int64(String(decoding: text, as: UTF8.self))
    }
}

extension ArraySlice<UInt8> {
    /// Without leading and trailing spaces, tabs, CR and LF.
    func trimmed() -> ArraySlice<UInt8> {
        var slice = self
        while let first = slice.first, first == 0x20 || first == 0x09 || first == 0x0D || first == 0x0A { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 || last == 0x0D || last == 0x0A { slice = slice.dropLast() }
        return slice
    }

    /// Printable for a log line: at most 60 characters, control bytes escaped.
    var quoted: String {
        let shown = Framing.escaped(Array(prefix(60)))
        return count > 60 ? String(shown.dropLast()) + "...\" (\(count) bytes)" : shown
    }

    func firstRange(of pattern: [UInt8], from start: Int) -> Range<Int>? {
        guard let first = pattern.first, !pattern.isEmpty else { return nil }
        var index = start
        while index + pattern.count <= endIndex {
            if self[index] == first, self[index..<index + pattern.count].elementsEqual(pattern) {
                return index..<index + pattern.count
            }
            index += 1
        }
        return nil
    }
}

/// One configured point as a parser needs it: where its value comes from and how it is typed.
public struct ParserPoint: Sendable {
    /// The NMEA field, regex group or key; nil for CSV.
    public var field: String?
    /// The CSV column (0-based).
    public var column: Int?
    public var type: SerialValueType

    public init(field: String?, column: Int?, type: SerialValueType) {
        self.field = field
        self.column = column
        self.type = type
    }
}

/// A frame parser for one device; `values` has one slot per configured point, in point order, and
/// the parser fills the slots its frame carries.
///
/// An enum over the concrete parsers, not an existential: the NMEA path is the hot one (10,000
/// sentences a second in the benchmark) and must not pay for dynamic dispatch and boxing.
public enum FrameParser {
    case nmea(NMEAParser)
    case regex(RegexParser)
    case keyValue(KeyValueParser)
    case csv(CSVParser)

    public init(_ settings: ParserSettings, points: [ParserPoint]) {
        switch settings {
        case .nmea: self = .nmea(NMEAParser(points: points))
        case .regex(let pattern): self = .regex(RegexParser(pattern: pattern, points: points))
        case .keyValue(let separator, let assign): self = .keyValue(KeyValueParser(separator: separator, assign: assign, points: points))
        case .csv(let separator): self = .csv(CSVParser(separator: separator, points: points))
        }
    }

    /// Why a point the device reports is missing, when the parser knows better than "not received":
    /// a GNSS receiver that says it has no fix.
    public var missingReason: String? {
        if case .nmea(let parser) = self, parser.hasFix == false { return "no fix (the receiver reports none)" }
        return nil
    }

    public mutating func parse(_ frame: ArraySlice<UInt8>, into values: inout [Value?]) -> ParseOutcome {
        switch self {
        case .nmea(var parser):
            // Take the payload out so the parser's scratch buffer is mutated in place, not copied.
            self = .csv(CSVParser.placeholder)
            defer { self = .nmea(parser) }
            return parser.parse(frame, into: &values)
        case .regex(let parser): return parser.parse(frame, into: &values)
        case .keyValue(let parser): return parser.parse(frame, into: &values)
        case .csv(let parser): return parser.parse(frame, into: &values)
        }
    }
}

/// Which parser a device uses, with its settings (from the device's config).
public enum ParserSettings: Sendable, Hashable, CustomStringConvertible {
    case nmea
    case regex(pattern: String)
    /// `separator` nil: pairs are separated by any run of spaces or tabs.
    case keyValue(separator: [UInt8]?, assign: [UInt8])
    case csv(separator: [UInt8])

    public var description: String {
        switch self {
        case .nmea: "nmea"
        case .regex(let pattern): "regex \(pattern)"
        case .keyValue(let separator, let assign):
            "keyvalue \(separator.map(Framing.escaped) ?? "whitespace")/\(Framing.escaped(assign))"
        case .csv(let separator): "csv \(Framing.escaped(separator))"
        }
    }
}

/// `T=21.5 H=40`: keys name points (a point's `field`, or its name).
public struct KeyValueParser: Sendable {
    let separator: [UInt8]?
    let assign: [UInt8]
    /// Key bytes → point indices (several points may read one key).
    let keys: [(key: [UInt8], point: Int)]
    let types: [SerialValueType]

    init(separator: [UInt8]?, assign: [UInt8], points: [ParserPoint]) {
        self.separator = separator
        self.assign = assign
        keys = points.enumerated().map { (Array(($0.element.field ?? "").utf8), $0.offset) }
        types = points.map(\.type)
    }

    func parse(_ frame: ArraySlice<UInt8>, into values: inout [Value?]) -> ParseOutcome {
        let line = frame.trimmed()
        guard !line.isEmpty else { return .ignored }
        var start = line.startIndex
        var pairs = 0
        while start < line.endIndex {
            let end: Int
            let next: Int
            if let separator {
                let found = line.firstRange(of: separator, from: start)
                end = found?.lowerBound ?? line.endIndex
                next = found?.upperBound ?? line.endIndex
            } else {
                end = line[start...].firstIndex { $0 == 0x20 || $0 == 0x09 } ?? line.endIndex
                var after = end
                while after < line.endIndex, line[after] == 0x20 || line[after] == 0x09 { after += 1 }
                next = after
            }
            let pair = line[start..<end].trimmed()
            start = next
            if pair.isEmpty { continue }
            guard let equals = pair.firstRange(of: assign, from: pair.startIndex) else {
                return .failed("\(pair.quoted) is not key\(Framing.escaped(assign).dropFirst().dropLast())value")
            }
            pairs += 1
            let key = pair[pair.startIndex..<equals.lowerBound].trimmed()
            let text = pair[equals.upperBound...].trimmed()
            for entry in keys where entry.key.elementsEqual(key) {
                guard let value = types[entry.point].value(text) else {
                    return .failed("\(String(decoding: key, as: UTF8.self)): \(text.quoted) is not \(types[entry.point].article)")
                }
                values[entry.point] = value
            }
        }
        return pairs > 0 ? .parsed : .ignored
    }
}

/// `21.5,40,ok`: columns (0-based) name points.
public struct CSVParser: Sendable {
    let separator: [UInt8]
    let columns: [Int]
    let types: [SerialValueType]

    static let placeholder = CSVParser(separator: [0x2C], points: [])

    init(separator: [UInt8], points: [ParserPoint]) {
        self.separator = separator
        columns = points.map { $0.column ?? 0 }
        types = points.map(\.type)
    }

    func parse(_ frame: ArraySlice<UInt8>, into values: inout [Value?]) -> ParseOutcome {
        let line = frame.trimmed()
        guard !line.isEmpty else { return .ignored }
        var fields: [ArraySlice<UInt8>] = []
        var start = line.startIndex
        while true {
            let found = line.firstRange(of: separator, from: start)
            fields.append(line[start..<(found?.lowerBound ?? line.endIndex)])
            guard let found else { break }
            start = found.upperBound
        }
        for (point, column) in columns.enumerated() {
            guard column < fields.count else {
                return .failed("\(fields.count) column(s), column \(column) wanted, in \(line.quoted)")
            }
            var text = fields[column].trimmed()
            if text.count >= 2, text.first == 0x22, text.last == 0x22 { text = text.dropFirst().dropLast() }
            guard let value = types[point].value(text) else {
                return .failed("column \(column): \(text.quoted) is not \(types[point].article)")
            }
            values[point] = value
        }
        return .parsed
    }
}

extension SerialValueType {
    var article: String {
        switch self {
        case .float: "a number"
        case .int: "an integer"
        case .string: "a string"
        case .bool: "a boolean"
        }
    }
}
