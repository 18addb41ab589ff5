import FieldlinkCore

/// A register's value type for the generic `registers` driver.
public enum I2CRegisterType: String, Sendable, Hashable, CaseIterable {
    case uint8, int8, uint16, int16, uint32, int32, float32

    public var size: Int {
        switch self {
        case .uint8, .int8: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        }
    }
}

/// Byte order of a multi-byte register: sensors mostly send MSB first, SMBus-style parts LSB first.
public enum I2CByteOrder: String, Sendable, Hashable, CaseIterable {
    case big, little
}

/// Decodes the generic `registers` driver's values, as `RegisterDecoder` does for Modbus.
enum I2CRegisterDecoder {
    static func decode(_ bytes: [UInt8], as type: I2CRegisterType, order: I2CByteOrder) -> Value {
        let ordered = order == .big ? bytes : bytes.reversed()
        let raw = ordered.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        switch type {
        case .uint8, .uint16, .uint32: return .uint(raw)
        case .int8: return .int(Int64(Int8(truncatingIfNeeded: raw)))
        case .int16: return .int(Int64(Int16(truncatingIfNeeded: raw)))
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: raw)))
        case .float32:
            // Through the shortest decimal, so 21.5f reads as 21.5 and 0.1f as 0.1.
            let float = Float(bitPattern: UInt32(truncatingIfNeeded: raw))
            return .double(float.isFinite ? Double("\(float)")! : Double(float))
        }
    }
}
