import CLinuxIO
import FieldlinkCore
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

    /// `errno` after `operation` on `path`, typed.
    static func fromErrno(_ number: Int32, _ operation: String, path: String) -> SerialError {
        let text = String(cString: strerror(number))
        switch number {
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
        let fd = CLinuxIO_serial_open(path)
        guard fd >= 0 else { throw SerialError.fromErrno(errno, "open", path: path) }
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
        guard CLinuxIO_serial_configure(fd, Int32(settings.baud), parity, Int32(settings.dataBits), Int32(settings.stopBits), flow) == 0 else {
            let number = errno
            throw number == EINVAL || number == ENOTTY
                ? SerialError(code: .refused, path: path, detail: "refuses \(settings.baud) baud, \(settings.dataBits) data bits, parity \(settings.parity), \(settings.stopBits) stop bit(s), flow \(settings.flow) (\(String(cString: strerror(number))))")
                : SerialError.fromErrno(number, "configure", path: path)
        }
        if settings.exclusive, CLinuxIO_serial_set_exclusive(fd) != 0 {
            throw SerialError.fromErrno(errno, "TIOCEXCL", path: path)
        }
        if let rs485 = settings.rs485 {
            guard CLinuxIO_serial_set_rs485(fd, rs485.rtsOnSend ? 1 : 0, UInt32(rs485.delayBeforeSend.milliseconds),
                                            UInt32(rs485.delayAfterSend.milliseconds)) == 0 else {
                let number = errno
                throw SerialError(code: .refused, path: path, detail: "refuses the kernel's RS-485 mode (TIOCSRS485: \(String(cString: strerror(number)))): its driver does not support it; set rs485: false and let the adapter switch direction itself")
            }
        }
    }

    deinit { _ = Glibc.close(fd) }

    /// Reads what has arrived into `buffer`, waiting up to `timeout` for the first byte; returns the
    /// count, 0 on timeout (`CLinuxIO_serial_wait_readable`, read(2)).
    public func read(into buffer: inout [UInt8], timeout: Duration) throws(SerialError) -> Int {
        let ready = CLinuxIO_serial_wait_readable(fd, Int32(clamping: timeout.milliseconds))
        guard ready >= 0 else { throw SerialError.fromErrno(errno, "poll", path: path) }
        guard ready > 0 else { return 0 }
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count > 0 { return count }
        if count < 0, errno == EAGAIN || errno == EINTR { return 0 }
        // Readable yet nothing to read: the other end has hung up.
        throw count == 0 ? SerialError(code: .disconnected, path: path, detail: "went away (end of file)")
            : SerialError.fromErrno(errno, "read", path: path)
    }

    /// Writes all of `bytes`, or fails once `timeout` has passed without progress (write(2)).
    public func write(_ bytes: [UInt8], timeout: Duration) throws(SerialError) {
        var offset = 0
        while offset < bytes.count {
            let ready = CLinuxIO_serial_wait_writable(fd, Int32(clamping: timeout.milliseconds))
            guard ready >= 0 else { throw SerialError.fromErrno(errno, "poll", path: path) }
            guard ready > 0 else { throw SerialError(code: .io, path: path, detail: "write stalled for \(timeout) (flow control holding it?)") }
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw SerialError.fromErrno(errno, "write", path: path)
            }
            offset += written
        }
    }

    /// True when other openers are locked out (`CLinuxIO_serial_is_exclusive`, TIOCGEXCL).
    public var isExclusive: Bool { CLinuxIO_serial_is_exclusive(fd) == 1 }

    /// Drops whatever arrived but was not read, so a late answer is not taken for the next one (tcflush).
    public func discardInput() {
        _ = CLinuxIO_serial_flush_input(fd)
    }
}

