import FieldlinkCore

/// The four Modbus data tables.
public enum ModbusTable: String, Sendable, CaseIterable {
    case holding, input, coil, discrete

    /// Coils and discrete inputs hold bits; the others 16-bit registers.
    public var holdsBits: Bool { self == .coil || self == .discrete }
}

/// Protocol limits on one read request (Modbus Application Protocol v1.1b3, 6.1–6.4).
public enum ModbusLimits {
    public static let maxRegistersPerRead = 125
    public static let maxBitsPerRead = 2_000
    public static let maxAddress = 65_535
}

public enum ModbusDataType: String, Sendable, CaseIterable {
    case bool, int16, uint16, int32, uint32, int64, uint64, float32, float64

    public var valueKind: ValueKind {
        switch self {
        case .bool: .bool
        case .int16: .int(bits: 16)
        case .uint16: .uint(bits: 16)
        case .int32: .int(bits: 32)
        case .uint32: .uint(bits: 32)
        case .int64: .int(bits: 64)
        case .uint64: .uint(bits: 64)
        case .float32: .float32
        case .float64: .float64
        }
    }

    /// How many 16-bit registers a value occupies.
    public var registerCount: Int {
        switch self {
        case .bool, .int16, .uint16: 1
        case .int32, .uint32, .float32: 2
        case .int64, .uint64, .float64: 4
        }
    }
}

/// Byte order of a multi-register value, named by where the bytes of the big-endian value `ABCD` land.
///
/// `ABCD` is the Modbus convention (big-endian words, high word first); `CDAB` swaps words (common in
/// meters), `BADC` swaps the bytes inside each word, `DCBA` is fully little-endian. For 64-bit values
/// the same two swaps apply to all four words.
public enum WordOrder: String, Sendable, CaseIterable {
    case abcd = "ABCD"
    case cdab = "CDAB"
    case badc = "BADC"
    case dcba = "DCBA"

    var swapsWords: Bool { self == .cdab || self == .dcba }
    var swapsBytes: Bool { self == .badc || self == .dcba }

    /// Accepts the names users write, in any case (`abcd`, `CDAB`).
    public init?(configName: String) {
        self.init(rawValue: configName.uppercased())
    }
}

public enum RegisterDecoder {
    /// Puts the registers of one value into big-endian order and joins them.
    static func bits(_ registers: ArraySlice<UInt16>, order: WordOrder) -> UInt64 {
        var words = Array(registers)
        if order.swapsWords { words.reverse() }
        return words.reduce(0) { accumulated, word in
            (accumulated << 16) | UInt64(order.swapsBytes ? word.byteSwapped : word)
        }
    }

    /// Decodes one value from exactly `type.registerCount` registers.
    public static func decode(_ registers: ArraySlice<UInt16>, as type: ModbusDataType, order: WordOrder) -> Value {
        precondition(registers.count == type.registerCount, "decode needs \(type.registerCount) registers for \(type)")
        let raw = bits(registers, order: order)
        switch type {
        case .bool: return .bool(raw != 0)
        case .int16: return .int(Int64(Int16(truncatingIfNeeded: raw)))
        case .uint16: return .uint(raw)
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: raw)))
        case .uint32: return .uint(raw)
        case .int64: return .int(Int64(bitPattern: raw))
        case .uint64: return .uint(raw)
        case .float32:
            // Widen through the shortest decimal so 230.1f reads as 230.1, not 230.10000610351562.
            let float = Float(bitPattern: UInt32(truncatingIfNeeded: raw))
            return .double(float.isFinite ? Double("\(float)")! : Double(float))
        case .float64: return .double(Double(bitPattern: raw))
        }
    }
}
