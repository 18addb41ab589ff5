/// What the adapter can do (`I2C_FUNCS`), so a driver picks a transfer the adapter has instead of
/// finding out from EOPNOTSUPP on every poll.
public struct I2CCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    /// Plain I2C messages (`I2C_RDWR`): any write, any read, a repeated start between them.
    public static let i2c = I2CCapabilities(rawValue: 0x0000_0001)
    public static let smbusReadByte = I2CCapabilities(rawValue: 0x0002_0000)
    public static let smbusWriteByte = I2CCapabilities(rawValue: 0x0004_0000)
    public static let smbusReadByteData = I2CCapabilities(rawValue: 0x0008_0000)
    public static let smbusWriteByteData = I2CCapabilities(rawValue: 0x0010_0000)
    public static let smbusReadWordData = I2CCapabilities(rawValue: 0x0020_0000)
    public static let smbusWriteWordData = I2CCapabilities(rawValue: 0x0040_0000)
    public static let smbusReadI2CBlock = I2CCapabilities(rawValue: 0x0400_0000)
    public static let smbusWriteI2CBlock = I2CCapabilities(rawValue: 0x0800_0000)

    /// What an SMBus-only PC controller (i2c-piix4, funcs 0x037f0000) offers: no plain I2C, no I2C block.
    public static let smbusController: I2CCapabilities = [.smbusReadByte, .smbusWriteByte, .smbusReadByteData, .smbusWriteByteData,
                                                         .smbusReadWordData, .smbusWriteWordData]
    /// A full I2C master (a Raspberry Pi's i2c-bcm2835): plain I2C plus the SMBus calls i2c-core emulates.
    public static let fullI2C: I2CCapabilities = smbusController.union([.i2c, .smbusReadI2CBlock, .smbusWriteI2CBlock])
}

/// One transfer as the kernel's i2c-dev offers it. Every answer is the bytes in the order they
/// crossed the wire (an SMBus word, low byte first, comes back as `[low, high]`), so a driver
/// decodes one representation whichever transfer carried it.
public enum I2CTransfer: Sendable, Hashable {
    /// `I2C_RDWR`: a write message, a repeated start, a read message; either may be empty.
    case writeRead(write: [UInt8], readCount: Int)
    case smbusReadByte
    case smbusWriteByte(UInt8)
    case smbusReadByteData(command: UInt8)
    case smbusWriteByteData(command: UInt8, value: UInt8)
    case smbusReadWordData(command: UInt8)
    /// `value` is `[low, high]`: the order on the wire.
    case smbusWriteWordData(command: UInt8, value: [UInt8])
    case smbusReadI2CBlock(command: UInt8, count: Int)
    case smbusWriteI2CBlock(command: UInt8, bytes: [UInt8])
}

/// The transaction seam: the kernel adapter (`I2CAdapter`) and the tests' fake bus both implement
/// it, so every driver runs unchanged on either.
public protocol I2CBus: AnyObject {
    var capabilities: I2CCapabilities { get }
    /// Performs one transfer with the device at `address` (7-bit); returns what was read.
    func perform(_ transfer: I2CTransfer, address: UInt8) throws(I2CError) -> [UInt8]
    /// Waits for a conversion (the fake bus does not wait). Runs on the bus's own thread.
    func pause(_ duration: Duration)
}

/// A failed transaction, typed so a poll can tell an absent device from a broken adapter, named
/// for the device it happened on.
public struct I2CError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// No acknowledge at the address (ENXIO, EREMOTEIO): nothing there, or it is powered off.
        case noDevice
        /// The adapter cannot do the transfer (EOPNOTSUPP), and no fallback the device allows exists.
        case unsupported
        /// The transfer timed out (clock stretching, a stuck bus).
        case timeout
        /// Arbitration lost, a bus error, or any other failure of a transfer.
        case busError
        /// The adapter itself: /dev/i2c-N missing, no permission, gone.
        case adapter
        /// Something answered, but it is not the configured chip.
        case wrongChip
        /// The answer's checksum is wrong.
        case crcMismatch
        /// The answer cannot be a reading (a reserved value, a conversion that never finished).
        case badData
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail }

    static func noDevice(at address: UInt8) -> I2CError {
        I2CError(.noDevice, "no device at \(hex(address)) (no acknowledge)")
    }
}

func hex(_ byte: UInt8) -> String {
    "0x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
}

/// One device on a bus: register-style transactions, carried by `I2C_RDWR` where the adapter does
/// plain I2C and by SMBus transfers where it does not and the device allows it.
public struct I2CDevice {
    public let bus: any I2CBus
    public let address: UInt8

    public init(bus: any I2CBus, address: UInt8) {
        self.bus = bus
        self.address = address
    }

    private var can: I2CCapabilities { bus.capabilities }

    private func unsupported(_ what: String) -> I2CError {
        I2CError(.unsupported, "the adapter cannot \(what) at \(hex(address)) (I2C_FUNCS: no plain I2C and no SMBus transfer that does it)")
    }

    /// Reads `count` bytes starting at `register` (a write of the register pointer, then a read).
    ///
    /// Without plain I2C: an SMBus byte or word read for one or two bytes, an I2C-block read for up
    /// to 32; and, when `perByteFallback` says the device auto-increments and a torn multi-byte value
    /// cannot happen, one byte read per register.
    public func readRegisters(_ register: UInt8, count: Int, perByteFallback: Bool = false) throws(I2CError) -> [UInt8] {
        if can.contains(.i2c) {
            return try bus.perform(.writeRead(write: [register], readCount: count), address: address)
        }
        if count == 1, can.contains(.smbusReadByteData) {
            return try bus.perform(.smbusReadByteData(command: register), address: address)
        }
        if count == 2, can.contains(.smbusReadWordData) {
            return try bus.perform(.smbusReadWordData(command: register), address: address)
        }
        if count <= 32, can.contains(.smbusReadI2CBlock) {
            let bytes = try bus.perform(.smbusReadI2CBlock(command: register, count: count), address: address)
            guard bytes.count == count else {
                throw I2CError(.busError, "short block read at \(hex(address)) register \(hex(register)): \(bytes.count) of \(count) bytes")
            }
            return bytes
        }
        if perByteFallback, can.contains(.smbusReadByteData), Int(register) + count <= 256 {
            var bytes: [UInt8] = []
            for offset in 0..<count {
                bytes += try bus.perform(.smbusReadByteData(command: register &+ UInt8(offset)), address: address)
            }
            return bytes
        }
        throw unsupported("read \(count) bytes from register \(hex(register))")
    }

    /// Writes `bytes` to `register` (the pointer, then the data, in one message).
    public func writeRegister(_ register: UInt8, _ bytes: [UInt8]) throws(I2CError) {
        if can.contains(.i2c) {
            _ = try bus.perform(.writeRead(write: [register] + bytes, readCount: 0), address: address)
        } else if bytes.count == 1, can.contains(.smbusWriteByteData) {
            _ = try bus.perform(.smbusWriteByteData(command: register, value: bytes[0]), address: address)
        } else if bytes.count == 2, can.contains(.smbusWriteWordData) {
            _ = try bus.perform(.smbusWriteWordData(command: register, value: bytes), address: address)
        } else if (1...32).contains(bytes.count), can.contains(.smbusWriteI2CBlock) {
            _ = try bus.perform(.smbusWriteI2CBlock(command: register, bytes: bytes), address: address)
        } else {
            throw unsupported("write \(bytes.count) bytes to register \(hex(register))")
        }
    }

    /// Sends a command with no register pointer (SHT3x commands, BH1750 opcodes).
    public func write(_ bytes: [UInt8]) throws(I2CError) {
        if can.contains(.i2c) {
            _ = try bus.perform(.writeRead(write: bytes, readCount: 0), address: address)
        } else if bytes.count == 1, can.contains(.smbusWriteByte) {
            _ = try bus.perform(.smbusWriteByte(bytes[0]), address: address)
        } else if bytes.count == 2, can.contains(.smbusWriteByteData) {
            _ = try bus.perform(.smbusWriteByteData(command: bytes[0], value: bytes[1]), address: address)
        } else if bytes.count == 3, can.contains(.smbusWriteWordData) {
            _ = try bus.perform(.smbusWriteWordData(command: bytes[0], value: [bytes[1], bytes[2]]), address: address)
        } else {
            throw unsupported("write a \(bytes.count)-byte command")
        }
    }

    /// Reads `count` bytes with no register pointer first (the device decides what they are).
    public func read(_ count: Int) throws(I2CError) -> [UInt8] {
        if can.contains(.i2c) {
            return try bus.perform(.writeRead(write: [], readCount: count), address: address)
        }
        if count == 1, can.contains(.smbusReadByte) {
            return try bus.perform(.smbusReadByte, address: address)
        }
        throw unsupported("read \(count) bytes without a register pointer")
    }
}
