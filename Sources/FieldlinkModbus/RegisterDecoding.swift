import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

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
    /// Text in `length` registers, two bytes each (the high byte first unless the order swaps bytes).
    case string
    /// The registers as hex text, four digits each: for finding out what a register holds.
    case raw

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
        case .string, .raw: .string
        }
    }

    /// How many 16-bit registers a value occupies; `string` and `raw` take their `length` instead.
    public var registerCount: Int {
        switch self {
        case .bool, .int16, .uint16, .string, .raw: 1
        case .int32, .uint32, .float32: 2
        case .int64, .uint64, .float64: 4
        }
    }

    /// Whether the length comes from the point (`length:`) rather than the type.
    public var hasLength: Bool { self == .string || self == .raw }

    /// What `scale`, `offset` and `precision` apply to.
    public var isNumeric: Bool { self != .bool && self != .string && self != .raw }

    /// Integer types: the only ones a `map:` of raw values to labels makes sense for.
    public var isInteger: Bool {
        switch self {
        case .int16, .uint16, .int32, .uint32, .int64, .uint64: true
        case .bool, .float32, .float64, .string, .raw: false
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

    /// The other names users bring from datasheets and other tools (Home Assistant's `swap:` values,
    /// pymodbus's big/little, "MSW first"), each meaning exactly one of the four layouts. Listed in
    /// the README; compared after lower-casing and turning `-` and spaces into `_`.
    public static let aliases: KeyValuePairs<String, WordOrder> = [
        "big": .abcd, "big_endian": .abcd, "be": .abcd, "msw": .abcd, "msw_first": .abcd, "none": .abcd,
        "swap_words": .cdab, "word_swap": .cdab, "word": .cdab, "lsw": .cdab, "lsw_first": .cdab,
        "little_endian_word_swap": .cdab, "mixed_endian": .cdab,
        "swap_bytes": .badc, "byte_swap": .badc, "byte": .badc,
        "little": .dcba, "little_endian": .dcba, "le": .dcba, "swap_all": .dcba, "word_byte": .dcba,
    ]

    /// The one place a user's spelling of a byte order becomes a layout: `ABCD` in any case, or an alias.
    public init?(configName: String) {
        if let order = WordOrder(rawValue: configName.uppercased()) {
            self = order
            return
        }
        let key = configName.lowercased().replacingLiterally("-", with: "_").replacingLiterally(" ", with: "_")
        guard let order = Self.aliases.first(where: { $0.key == key })?.value else { return nil }
        self = order
    }
}

/// How one point's value sits in its registers; decoding it is a pure function of the registers read,
/// so the poller and the profile tests (a register image, no bus) decode through the same code.
public struct RegisterLayout: Sendable, Hashable {
    public var type: ModbusDataType
    public var order: WordOrder
    /// A bool taken from one bit of a register (0 = least significant), not from the whole register.
    public var bit: Int?
    /// Registers of a `string` or `raw`; ignored for the fixed-size types.
    public var length: Int

    public init(type: ModbusDataType, order: WordOrder = .abcd, bit: Int? = nil, length: Int = 1) {
        self.type = type
        self.order = order
        self.bit = bit
        self.length = length
    }

    public var registerCount: Int { type.hasLength ? length : type.registerCount }

    public func decode(_ registers: ArraySlice<UInt16>) -> Value {
        precondition(registers.count == registerCount, "decode needs \(registerCount) registers for \(type)")
        switch type {
        case .string: return .string(RegisterDecoder.text(registers, swapsBytes: order.swapsBytes))
        case .raw: return .string(registers.map(RegisterDecoder.hex).joined(separator: " "))
        case .bool:
            let word = RegisterDecoder.bits(registers, order: order)
            return .bool(bit.map { word >> UInt64($0) & 1 != 0 } ?? (word != 0))
        default: return RegisterDecoder.decode(registers, as: type, order: order)
        }
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

    /// Text as devices store it: two bytes per register, padded with NULs or spaces. It ends at the
    /// first NUL, trailing spaces are dropped, and bytes that are not UTF-8 become U+FFFD.
    static func text(_ registers: ArraySlice<UInt16>, swapsBytes: Bool) -> String {
        var bytes: [UInt8] = []
        for register in registers {
            let word = swapsBytes ? register.byteSwapped : register
            bytes.append(UInt8(word >> 8))
            bytes.append(UInt8(word & 0xFF))
        }
        if let end = bytes.firstIndex(of: 0) { bytes.removeSubrange(end...) }
        while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hex(_ register: UInt16) -> String {
        let digits = String(register, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// Decodes one value of a fixed-size type from exactly `type.registerCount` registers.
    public static func decode(_ registers: ArraySlice<UInt16>, as type: ModbusDataType, order: WordOrder) -> Value {
        if type.hasLength { return RegisterLayout(type: type, order: order, length: registers.count).decode(registers) }
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
        case .string, .raw: preconditionFailure("handled above")
        }
    }
}
