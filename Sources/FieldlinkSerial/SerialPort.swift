import CLinuxIO
import FieldlinkCore
import FieldlinkPOSIX
#if canImport(Glibc)
import Glibc
#endif

/// What went wrong with a serial port, typed so the bus owner can tell a missing port (reopen
/// later) from a setting the port refuses (a config problem).
public struct SerialError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The port does not exist (yet): unplugged, or its symlink not created.
        case missing
        /// Another process holds it in exclusive mode, or permission is denied.
        case busy
        /// The port refuses a setting (baud, RS-485 mode).
        case refused
        /// The device went away while open (USB adapter unplugged, pty closed).
        case disconnected
        case io
    }

    public var code: Code
    public var path: String
    /// What happened, without the path (log lines name the port already).
    public var detail: String

    public init(code: Code, path: String, detail: String) {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }

    /// The errno of `operation` on `path`, typed.
    static func fromErrno(_ error: Errno, _ operation: String, path: String) -> SerialError {
        let text = error.text
        switch error.rawValue {
        case ENOENT, ENODEV, ENXIO: return SerialError(code: .missing, path: path, detail: "not there (\(text))")
        case EBUSY: return SerialError(code: .busy, path: path, detail: "in exclusive use by another process (\(text))")
        case EACCES, EPERM:
            return SerialError(code: .busy, path: path, detail: "\(operation): \(text) (is the user in the dialout group?)")
        case EIO, EBADF, EPIPE: return SerialError(code: .disconnected, path: path, detail: "went away (\(text))")
        default: return SerialError(code: .io, path: path, detail: "\(operation): \(text)")
        }
    }
}

/// Line settings for one port, as termios takes them.
public struct SerialSettings: Sendable, Hashable {
    public enum Parity: String, Sendable, CaseIterable { case none, even, odd }
    public enum Flow: String, Sendable, CaseIterable { case none, rtscts, xonxoff }

    public var baud = 9_600
    public var parity = Parity.none
    public var dataBits = 8
    public var stopBits = 1
    public var flow = Flow.none
    /// TIOCEXCL: a second opener (another daemon, a forgotten `screen`) gets EBUSY instead of stealing bytes.
    public var exclusive = true
    /// The kernel's RS-485 mode (TIOCSRS485); nil leaves the port as it is.
    public var rs485: RS485?

    public struct RS485: Sendable, Hashable {
        public var rtsOnSend = true
        public var delayBeforeSend = Duration.zero
        public var delayAfterSend = Duration.zero
    }

    public init() {}

    /// True when termios has a speed constant for `baud` (`CLinuxIO_serial_baud_supported`).
    public static func supports(baud: Int) -> Bool { CLinuxIO_serial_baud_supported(Int32(baud)) != 0 }
}

/// One open serial port: the single owner of its file descriptor, closed in `deinit`.
///
/// Not `Sendable`: it lives on its bus's own thread. Reads and writes never block the thread for
/// longer than the timeout given (the descriptor is non-blocking and waits go through poll()).
/// Each method names the C function it wraps.
public final class SerialPort {
    public let path: String
    private let fd: Int32

    /// Opens and configures `path` (`CLinuxIO_serial_open`, `CLinuxIO_serial_configure`,
    /// `CLinuxIO_serial_set_exclusive`, `CLinuxIO_serial_set_rs485`).
    public init(path: String, settings: SerialSettings) throws(SerialError) {
        self.path = path
        let fd = try valueOrErrno { CLinuxIO_serial_open(path) } orThrow: { SerialError.fromErrno($0, "open", path: path) }
        self.fd = fd
        let parity: CChar = switch settings.parity {
        case .none: CChar(UInt8(ascii: "N"))
        case .even: CChar(UInt8(ascii: "E"))
        case .odd: CChar(UInt8(ascii: "O"))
        }
        let flow: CLinuxIO_flow = switch settings.flow {
        case .none: CLinuxIO_flow_none
        case .rtscts: CLinuxIO_flow_rtscts
        case .xonxoff: CLinuxIO_flow_xonxoff
        }
        _ = try valueOrErrno { CLinuxIO_serial_configure(fd, Int32(settings.baud), parity, Int32(settings.dataBits), Int32(settings.stopBits), flow) } orThrow: {
            $0.rawValue == EINVAL || $0.rawValue == ENOTTY
                ? SerialError(code: .refused, path: path, detail: "refuses \(settings.baud) baud, \(settings.dataBits) data bits, parity \(settings.parity), \(settings.stopBits) stop bit(s), flow \(settings.flow) (\($0.text))")
                : SerialError.fromErrno($0, "configure", path: path)
        }
        if settings.exclusive {
            _ = try valueOrErrno { CLinuxIO_serial_set_exclusive(fd) } orThrow: { SerialError.fromErrno($0, "TIOCEXCL", path: path) }
        }
        if let rs485 = settings.rs485 {
            _ = try valueOrErrno {
                CLinuxIO_serial_set_rs485(fd, rs485.rtsOnSend ? 1 : 0, UInt32(rs485.delayBeforeSend.milliseconds), UInt32(rs485.delayAfterSend.milliseconds))
            } orThrow: {
                SerialError(code: .refused, path: path, detail: "refuses the kernel's RS-485 mode (TIOCSRS485: \($0.text)): its driver does not support it; set rs485: false and let the adapter switch direction itself")
            }
        }
    }

    deinit { _ = Glibc.close(fd) }

    /// Reads what has arrived into `buffer`, waiting up to `timeout` for the first byte; returns the
    /// count, 0 on timeout (`CLinuxIO_serial_wait_readable`, read(2)).
    public func read(into buffer: inout [UInt8], timeout: Duration) throws(SerialError) -> Int {
        let ready = try valueOrErrno { CLinuxIO_serial_wait_readable(fd, Int32(clamping: timeout.milliseconds)) } orThrow: {
            SerialError.fromErrno($0, "poll", path: path)
        }
        guard ready > 0 else { return 0 }
        let count: Int
        do throws(Errno) {
            count = try valueOrErrno { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
        } catch {
            guard error == .wouldBlock else { throw SerialError.fromErrno(error, "read", path: path) }
            return 0
        }
        // Readable yet nothing to read: the other end has hung up.
        guard count > 0 else { throw SerialError(code: .disconnected, path: path, detail: "went away (end of file)") }
        return count
    }

    /// Writes all of `bytes`, or fails once `timeout` has passed without progress (write(2)).
    public func write(_ bytes: [UInt8], timeout: Duration) throws(SerialError) {
        var offset = 0
        while offset < bytes.count {
            let ready = try valueOrErrno { CLinuxIO_serial_wait_writable(fd, Int32(clamping: timeout.milliseconds)) } orThrow: {
                SerialError.fromErrno($0, "poll", path: path)
            }
            guard ready > 0 else { throw SerialError(code: .io, path: path, detail: "write stalled for \(timeout) (flow control holding it?)") }
            do throws(Errno) {
                let written = try valueOrErrno { bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
                offset += written
            } catch {
                guard error == .wouldBlock else { throw SerialError.fromErrno(error, "write", path: path) }
            }
        }
    }

    /// True when other openers are locked out (`CLinuxIO_serial_is_exclusive`, TIOCGEXCL).
    public var isExclusive: Bool { CLinuxIO_serial_is_exclusive(fd) == 1 }

    /// Drops whatever arrived but was not read, so a late answer is not taken for the next one (tcflush).
    public func discardInput() {
        _ = CLinuxIO_serial_flush_input(fd)
    }
}

