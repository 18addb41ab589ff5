/// A point that may be written (`writable: true`): its limits in engineering units (after scale and
/// offset, as published) and how often it may be written.
public struct WriteLimits: Sendable, Hashable {
    public var min: Double?
    public var max: Double?
    /// `min_write_interval`: a second write of the point sooner than this is refused.
    public var minInterval: Duration?

    public init(min: Double? = nil, max: Double? = nil, minInterval: Duration? = nil) {
        self.min = min
        self.max = max
        self.minInterval = minInterval
    }

    /// Why `value` is outside the limits, or nil. Limits bound numbers only; a label or a bool has none.
    public func refusal(of value: Value) -> String? {
        guard let number = value.number, !value.isBool else { return nil }
        if let min, number < min { return "\(value.text) is below the point's min \(min.shortText)" }
        if let max, number > max { return "\(value.text) is above the point's max \(max.shortText)" }
        return nil
    }

    /// For `check`: "min 5, max 30, at most every 10s".
    public var description: String {
        var parts: [String] = []
        if let min { parts.append("min \(min.shortText)") }
        if let max { parts.append("max \(max.shortText)") }
        if let minInterval { parts.append("at most every \(minInterval.configText)") }
        return parts.isEmpty ? "no limits" : parts.joined(separator: ", ")
    }
}

/// How a device takes commands (write-back): what is refused before any point is looked at.
public struct CommandPolicy: Sendable, Hashable {
    /// A retained `set` would be executed again at every reconnect: ignored unless this opts in.
    public var acceptRetained = false
    /// A command not executed within this after it arrived is dropped (an MQTT 5 Message Expiry
    /// on the command replaces it).
    public var maxAge = CommandPolicy.defaultMaxAge
    /// Under MQTT 3.1.1 (no Response Topic): answer on `{device topic}/set/{point}/result`.
    public var results = false

    public init() {}

    public static let defaultMaxAge = Duration.seconds(10)
    public static let minimumMaxAge = Duration.milliseconds(100)
}

extension Value {
    var isBool: Bool {
        if case .bool = self { return true }
        return false
    }

    /// The value as a user wrote it: `42.5`, `true`, `running`.
    public var text: String {
        switch self {
        case .bool(let bit): "\(bit)"
        case .int(let integer): "\(integer)"
        case .uint(let integer): "\(integer)"
        case .double(let number): number.shortText
        case .string(let text): text
        }
    }
}

extension Double {
    /// 42 rather than 42.0; every other value as Swift prints it (the shortest exact decimal).
    var shortText: String {
        if rounded() == self, abs(self) < 1e15 { return "\(Int64(self))" }
        return "\(self)"
    }
}

// MARK: The read path, backwards

extension PointConversion {
    /// The raw value that the read path turns back into exactly `value`: a label to its raw integer,
    /// else offset, then scale undone, then fitted to the point's type. A value that would not read
    /// back exactly (42.55 into a `scale: 0.1` integer, 70000 into a uint16, 1.5 into an int) is
    /// refused, never rounded: a setpoint must be what the user asked for or nothing.
    /// `kind`: the raw type, when the family knows it (nil: numbers stay doubles).
    public func invert(_ value: Value, kind: ValueKind?) -> Result<Value, ConversionError> {
        if let labels {
            guard case .string(let label) = value else {
                return .failure(ConversionError("expected one of the point's labels (\(Self.list(labels))), not \(value.text)"))
            }
            guard let raw = labels.first(where: { $0.value == label })?.key else {
                return .failure(ConversionError("\"\(label)\" is not one of the point's labels (\(Self.list(labels)))"))
            }
            return Self.fit(Double(raw), to: kind, asked: value).flatMap { candidate in
                apply(candidate) == .success(value) ? .success(candidate) : .failure(ConversionError("label \(label) does not read back"))
            }
        }
        switch kind {
        case .bool?:
            switch value {
            case .bool: return .success(value)
            case .int(0), .uint(0): return .success(.bool(false))
            case .int(1), .uint(1): return .success(.bool(true))
            case .double(let number) where number == 0 || number == 1: return .success(.bool(number == 1))
            default: return .failure(ConversionError("expected true or false, not \(value.text)"))
            }
        case .string?:
            guard case .string = value else { return .failure(ConversionError("expected text, not \(value.text)")) }
            return .success(value)
        default:
            guard !value.isBool, let number = value.number else {
                return .failure(ConversionError("expected a number, not \(value.isBool ? value.text : "\"\(value.text)\"")"))
            }
            let raw = transform.unapply(number)
            let fitted = Self.fit(raw, to: kind, asked: value)
            guard case .success(let candidate) = fitted else { return fitted }
            guard case .success(let back) = apply(candidate), back.number == number else {
                let readBack = (try? apply(candidate).get())?.text ?? "nothing"
                return .failure(ConversionError("\(value.text) cannot be written exactly: the point would read back \(readBack) (scale \(transform.scale.shortText), offset \(transform.offset.shortText))"))
            }
            return .success(candidate)
        }
    }

    /// A raw number in the point's type: whole and in range for integers, as the wire will hold it
    /// for floats (the round-trip check then compares what it reads back as).
    private static func fit(_ raw: Double, to kind: ValueKind?, asked: Value) -> Result<Value, ConversionError> {
        switch kind {
        case .int(let bits)?, .uint(let bits)?:
            let signed = if case .int? = kind { true } else { false }
            let whole = raw.rounded()
            let lowest = signed ? -pow2(bits - 1) : 0
            let highest = signed ? pow2(bits - 1) - 1 : pow2(bits) - 1
            guard whole >= lowest, whole <= highest else {
                return .failure(ConversionError("\(asked.text) is out of range for the point's \(signed ? "int" : "uint")\(bits) register (raw \(raw.shortText); \(lowest.shortText)...\(highest.shortText))"))
            }
            if signed { return .success(.int(Int64(whole))) }
            return .success(.uint(UInt64(whole)))
        case .float32?:
            let float = Float(raw)
            guard float.isFinite else { return .failure(ConversionError("\(asked.text) does not fit a float32")) }
            return .success(.double(Double("\(float)")!))
        case .bool?:
            guard raw == 0 || raw == 1 else { return .failure(ConversionError("expected 0 or 1")) }
            return .success(.bool(raw == 1))
        default:
            return .success(.double(raw))
        }
    }

    private static func pow2(_ bits: Int) -> Double {
        var value = 1.0
        for _ in 0..<bits { value *= 2 }
        return value
    }

    private static func list(_ labels: [Int64: String]) -> String {
        labels.sorted { $0.key < $1.key }.map(\.value).joined(separator: ", ")
    }
}

extension LinearTransform {
    /// `(value - offset) / scale`, multiplying by the reciprocal when it is whole, as `apply` divides.
    func unapply(_ value: Double) -> Double {
        guard !isIdentity else { return value }
        let shifted = value - offset
        let reciprocal = (1 / scale).rounded()
        if abs(scale) < 1, reciprocal != 0, abs(1 / scale - reciprocal) < 1e-9 * abs(reciprocal) {
            return shifted * reciprocal
        }
        return shifted / scale
    }
}
