import CLinuxIO
import FieldlinkCore
import FieldlinkPOSIX
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's i2c-dev adapter (`/dev/i2c-N`): the one place fieldlink's I2C code touches C. Each
/// call goes through `CLinuxIO_i2c_*`, retries EINTR, and turns errno into an `I2CError`; above this
/// type everything is safe Swift.
///
/// Owns its file descriptor and closes it in `deinit`. Not `Sendable`: it lives on its bus's own
/// thread (BusLoop), which is the only one that performs transfers.
public final class I2CAdapter: I2CBus {
    public let path: String
    public let capabilities: I2CCapabilities
    private let descriptor: Int32
    /// The address `I2C_SLAVE` was last set to; SMBus transfers go there.
    private var selected: UInt8?

    /// Opens the adapter and asks what it can do. Wraps `open(2)` and `ioctl(I2C_FUNCS)`.
    public init(path: String) throws(I2CError) {
        let descriptor = try valueOrErrno { CLinuxIO_i2c_open(path) } orThrow: {
            I2CError(.adapter, "cannot open \(path): \($0.text)\($0 == Errno(ENOENT) ? "; \(DeviceNodes.enableI2C)" : "")")
        }
        var funcs: UInt = 0
        if case .failure(let error) = Self.retrying({ CLinuxIO_i2c_funcs(descriptor, &funcs) }) {
            close(descriptor)
            throw I2CError(.adapter, "\(path) is not an i2c-dev adapter (I2C_FUNCS: \(error.text))")
        }
        self.path = path
        self.descriptor = descriptor
        self.capabilities = I2CCapabilities(rawValue: funcs)
    }

    deinit { close(descriptor) }

    /// Sleeps the bus thread for `duration`, the rest of it after a signal. Wraps `nanosleep`.
    public func pause(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        _ = try? valueOrErrno {
            defer { request = remaining }
            return nanosleep(&request, &remaining)
        }
    }

    public func perform(_ transfer: I2CTransfer, address: UInt8) throws(I2CError) -> [UInt8] {
        let fd = descriptor
        if case .writeRead(let write, let readCount) = transfer {
            var read = [UInt8](repeating: 0, count: readCount)
            let result = Self.retrying {
                write.withUnsafeBufferPointer { out in
                    read.withUnsafeMutableBufferPointer { into in
                        CLinuxIO_i2c_write_read(fd, UInt16(address), out.baseAddress, UInt16(out.count), into.baseAddress, UInt16(into.count))
                    }
                }
            }
            try check(result, "I2C_RDWR", address: address)
            return read
        }
        if selected != address {
            try check(Self.retrying { CLinuxIO_i2c_set_address(fd, UInt16(address)) }, "I2C_SLAVE", address: address)
            selected = address
        }
        var byte: UInt8 = 0
        var word: UInt16 = 0
        let result: Result<Int32, Errno>
        switch transfer {
        case .writeRead: fatalError("handled above")
        case .smbusReadByte:
            result = Self.retrying { CLinuxIO_i2c_smbus_read_byte(fd, &byte) }
            try check(result, "SMBus read byte", address: address)
            return [byte]
        case .smbusWriteByte(let value):
            result = Self.retrying { CLinuxIO_i2c_smbus_write_byte(fd, value) }
        case .smbusReadByteData(let command):
            result = Self.retrying { CLinuxIO_i2c_smbus_read_byte_data(fd, command, &byte) }
            try check(result, "SMBus read byte data", address: address)
            return [byte]
        case .smbusWriteByteData(let command, let value):
            result = Self.retrying { CLinuxIO_i2c_smbus_write_byte_data(fd, command, value) }
        case .smbusReadWordData(let command):
            result = Self.retrying { CLinuxIO_i2c_smbus_read_word_data(fd, command, &word) }
            try check(result, "SMBus read word data", address: address)
            return [UInt8(word & 0xFF), UInt8(word >> 8)]
        case .smbusWriteWordData(let command, let value):
            let word = UInt16(value[0]) | UInt16(value[1]) << 8
            result = Self.retrying { CLinuxIO_i2c_smbus_write_word_data(fd, command, word) }
        case .smbusReadI2CBlock(let command, let count):
            var block = [UInt8](repeating: 0, count: count)
            let read = Self.retrying {
                block.withUnsafeMutableBufferPointer { CLinuxIO_i2c_smbus_read_i2c_block(fd, command, $0.baseAddress, UInt8(count)) }
            }
            let count = try check(read, "SMBus read I2C block", address: address)
            return Array(block.prefix(Int(count)))
        case .smbusWriteI2CBlock(let command, let bytes):
            result = Self.retrying {
                bytes.withUnsafeBufferPointer { CLinuxIO_i2c_smbus_write_i2c_block(fd, command, $0.baseAddress, UInt8($0.count)) }
            }
        }
        try check(result, "SMBus write", address: address)
        return []
    }

    /// Maps a failed call's errno: the codes i2c bus drivers use for a NACK (ENXIO, EREMOTEIO, and
    /// EIO from some) mean nothing answered at the address.
    @discardableResult
    private func check(_ result: Result<Int32, Errno>, _ operation: String, address: UInt8) throws(I2CError) -> Int32 {
        let error: Errno
        switch result {
        case .success(let value): return value
        case .failure(let failure): error = failure
        }
        switch error.rawValue {
        case ENXIO, EREMOTEIO: throw I2CError.noDevice(at: address)
        case EOPNOTSUPP:
            throw I2CError(.unsupported, "\(path) does not support \(operation) (EOPNOTSUPP)")
        case ETIMEDOUT: throw I2CError(.timeout, "\(operation) to \(hex(address)) timed out")
        case EBUSY where operation == "I2C_SLAVE":
            throw I2CError(.busError, "\(hex(address)) on \(path) is claimed by a kernel driver (EBUSY): unbind that driver to read it here")
        case ENODEV, EBADF: throw I2CError(.adapter, "\(path): \(error.text)")
        default: throw I2CError(.busError, "\(operation) to \(hex(address)) failed: \(error.text)")
        }
    }

    /// `call`, retried on EINTR, with the errno of its failure for `check`.
    private static func retrying(_ call: () -> Int32) -> Result<Int32, Errno> {
        Result { () throws(Errno) in try valueOrErrno(call) }
    }
}
