/// A decoded field value; integers stay integers until scaling makes them fractional.
public enum Value: Sendable, Hashable {
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)

    /// The value as a number, for scaling; nil for strings.
    public var number: Double? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): Double(i)
        case .uint(let u): Double(u)
        case .double(let d): d
        case .string: nil
        }
    }
}

/// A value's declared type, as wide as the source delivers it (an int16 register, a float32 pair).
public enum ValueKind: Sendable, Hashable {
    case bool
    case int(bits: Int)
    case uint(bits: Int)
    case float32, float64
    case string
}

/// `value = raw * scale + offset`, computed so that decimal scales give the decimal a human expects.
public struct LinearTransform: Sendable, Hashable {
    public var scale: Double
    public var offset: Double
    /// Decimal places kept (`precision:`): a float32 reading of 230.10000610 published as 230.1; 0
    /// publishes an integer. nil keeps every digit.
    public var precision: Int?

    public static let identity = LinearTransform(scale: 1, offset: 0)

    public init(scale: Double, offset: Double, precision: Int? = nil) {
        self.scale = scale
        self.offset = offset
        self.precision = precision
    }

    public var isIdentity: Bool { scale == 1 && offset == 0 }

    /// Meters publish tenths and hundredths: `2301 * 0.1` is `230.10000000000002` in binary floating
    /// point, but `2301 / 10` is the double nearest to 230.1. Dividing by the reciprocal when it is a
    /// whole number keeps scaled values exactly the decimals a user reads off the display.
    public func apply(_ value: Value) -> Value {
        if case .bool = value { return value }
        guard let precision else { return scaled(value) }
        switch scaled(value) {
        case .double(let number): return Self.round(number, to: precision)
        case let other: return other
        }
    }

    /// Rounds half away from zero; past 2^53 a double has no fractional digits left to round.
    static func round(_ number: Double, to places: Int) -> Value {
        if places == 0, number.isFinite, let integer = Int64(exactly: number.rounded()) { return .int(integer) }
        var factor = 1.0
        for _ in 0..<places { factor *= 10 }
        guard number.isFinite, abs(number * factor) < 9_007_199_254_740_992 else { return .double(number) }
        return .double((number * factor).rounded() / factor)
    }

    private func scaled(_ value: Value) -> Value {
        guard !isIdentity, let raw = value.number else { return value }
        let reciprocal = (1 / scale).rounded()
        let scaled: Double
        if abs(scale) < 1, reciprocal != 0, abs(1 / scale - reciprocal) < 1e-9 * abs(reciprocal) {
            scaled = raw / reciprocal
        } else {
            scaled = raw * scale
        }
        return .double(scaled + offset)
    }
}

