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

/// `I2CRegisterDecoder` backwards, for writable registers: the bytes that decode to `raw` exactly;
/// nil when `raw` is not a value of the type (a negative uint8, 300 into a uint8).
enum I2CRegisterEncoder {
    static func encode(_ raw: Value, as type: I2CRegisterType, order: I2CByteOrder) -> [UInt8]? {
        let bits: UInt64
        switch (type, raw) {
        case (.uint8, .uint(let value)), (.uint16, .uint(let value)), (.uint32, .uint(let value)):
            guard value >> UInt64(8 * type.size) == 0 else { return nil }
            bits = value
        case (.int8, .int(let value)), (.int16, .int(let value)), (.int32, .int(let value)):
            bits = UInt64(bitPattern: value) & (UInt64.max >> UInt64(64 - 8 * type.size))
        case (.float32, .double(let value)):
            bits = UInt64(Float(value).bitPattern)
        default:
            return nil
        }
        let big = (0..<type.size).map { UInt8(truncatingIfNeeded: bits >> UInt64(8 * (type.size - 1 - $0))) }
        let bytes = order == .big ? big : big.reversed()
        return I2CRegisterDecoder.decode(bytes, as: type, order: order) == raw ? bytes : nil
    }
}

extension I2CRegisterType {
    /// What the shared inverse conversion fits a command's value to.
    var valueKind: ValueKind {
        switch self {
        case .uint8: .uint(bits: 8)
        case .uint16: .uint(bits: 16)
        case .uint32: .uint(bits: 32)
        case .int8: .int(bits: 8)
        case .int16: .int(bits: 16)
        case .int32: .int(bits: 32)
        case .float32: .float32
        }
    }
}

// Write-back on an I2C adapter: the `registers` driver's writable registers, one register write each.
extension I2CDriver {
    public func write(_ write: PointWrite) -> Result<Void, WriteFailure> {
        let config = devices[write.device]
        let options = config.options as! I2CDeviceOptions
        var writes: [(register: UInt8, bytes: [UInt8])] = []
        for (index, raw) in write.points {
            guard case .register(let register, let type, let order) = (config.points[index].options as! I2CPointOptions).source,
                  let bytes = I2CRegisterEncoder.encode(raw, as: type, order: order) else {
                return .failure(WriteFailure("\(config.points[index].name) cannot take \(raw.text)", reachedDevice: false))
            }
            writes.append((register, bytes))
        }
        do throws(I2CError) {
            if bus == nil { bus = try openBus(path) }
            let device = I2CDevice(bus: bus!, address: options.address)
            for (register, bytes) in writes { try device.writeRegister(register, bytes) }
            return .success(())
        } catch {
            if error.code == .adapter { bus = nil }
            return .failure(WriteFailure(error.description))
        }
    }
}
