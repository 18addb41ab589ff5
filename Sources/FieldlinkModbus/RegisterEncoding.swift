import FieldlinkCore

/// Protocol limits on one write request (Modbus Application Protocol v1.1b3, 6.11, 6.12).
extension ModbusLimits {
    public static let maxRegistersPerWrite = 123
    public static let maxBitsPerWrite = 1_968
}

extension RegisterLayout {
    /// The registers that `decode` turns back into `raw`, exactly: the same type, word order and
    /// byte order, backwards. nil when `raw` is not something this layout holds (a string too long
    /// for its registers, a negative number in an unsigned register); bits of a register (`bit:`)
    /// are read-modify-write, so they have no registers of their own to encode.
    public func encode(_ raw: Value) -> [UInt16]? {
        guard bit == nil else { return nil }
        switch type {
        case .raw: return nil
        case .string:
            guard case .string(let text) = raw else { return nil }
            var bytes = Array(text.utf8)
            guard bytes.count <= length * 2, !bytes.contains(0), bytes.last != UInt8(ascii: " ") else { return nil }
            bytes += Array(repeating: 0, count: length * 2 - bytes.count)
            return (0..<length).map { index in
                let word = UInt16(bytes[2 * index]) << 8 | UInt16(bytes[2 * index + 1])
                return order.swapsBytes ? word.byteSwapped : word
            }
        default:
            guard let bits = RegisterEncoder.bits(raw, as: type) else { return nil }
            let encoded = RegisterEncoder.words(bits, count: type.registerCount, order: order)
            return decode(encoded[...]) == raw ? encoded : nil
        }
    }
}

public enum RegisterEncoder {
    /// The value's big-endian bit pattern in the type's width; nil when it does not fit.
    static func bits(_ raw: Value, as type: ModbusDataType) -> UInt64? {
        switch (type, raw) {
        case (.bool, .bool(let bit)): return bit ? 1 : 0
        case (.int16, .int(let integer)): return Int16(exactly: integer).map { UInt64(UInt16(bitPattern: $0)) }
        case (.int32, .int(let integer)): return Int32(exactly: integer).map { UInt64(UInt32(bitPattern: $0)) }
        case (.int64, .int(let integer)): return UInt64(bitPattern: integer)
        case (.uint16, .uint(let integer)): return integer <= UInt64(UInt16.max) ? integer : nil
        case (.uint32, .uint(let integer)): return integer <= UInt64(UInt32.max) ? integer : nil
        case (.uint64, .uint(let integer)): return integer
        case (.float32, .double(let number)): return UInt64(Float(number).bitPattern)
        case (.float64, .double(let number)): return number.bitPattern
        default: return nil
        }
    }

    /// `RegisterDecoder.bits` backwards: big-endian words, each byte-swapped and then the words
    /// reversed as the order says.
    static func words(_ bits: UInt64, count: Int, order: WordOrder) -> [UInt16] {
        var words = (0..<count).map { index in UInt16(truncatingIfNeeded: bits >> UInt64(16 * (count - 1 - index))) }
        if order.swapsBytes { words = words.map(\.byteSwapped) }
        if order.swapsWords { words.reverse() }
        return words
    }

    /// A register with one bit set or cleared, as `decode` reads bit `bit` (after the byte order).
    static func setting(_ bit: Int, to on: Bool, in register: UInt16, order: WordOrder) -> UInt16 {
        var word = order.swapsBytes ? register.byteSwapped : register
        let mask = UInt16(1) << UInt16(bit)
        word = on ? word | mask : word & ~mask
        return order.swapsBytes ? word.byteSwapped : word
    }
}
