import CSystemd
import FieldlinkPOSIX
#if canImport(Glibc)
import Glibc
#endif

/// A libsystemd call that failed: which one, and the errno it returned (negated, as libsystemd does).
public struct SystemdError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// `sd_journal_sendv`: journald did not take the entry (no socket, socket full, entry too big).
        case journal
        /// `sd_notify`: the datagram to `NOTIFY_SOCKET` could not be sent.
        case notify
        /// `sd_watchdog_enabled`: `WATCHDOG_USEC` / `WATCHDOG_PID` are malformed.
        case watchdog
    }

    public var code: Code
    public var errno: Int32

    public init(code: Code, errno: Int32) {
        self.code = code
        self.errno = errno
    }

    public var description: String {
        let reason = Errno(errno).text
        switch code {
        case .journal: return "cannot write to the journal: \(reason) (errno \(errno))"
        case .notify: return "cannot notify systemd (NOTIFY_SOCKET): \(reason) (errno \(errno))"
        case .watchdog: return "invalid WATCHDOG_USEC/WATCHDOG_PID: \(reason) (errno \(errno))"
        }
    }
}

/// The three libsystemd entry points fieldlink uses, each turning a negative errno into a `SystemdError`.
enum Systemd {
    /// Sends one journal entry; each field is `NAME=value`. Wraps `sd_journal_sendv`.
    static func journalSend(_ fields: [[UInt8]]) throws(SystemdError) {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(fields.reduce(0) { $0 + $1.count })
        for field in fields { buffer.append(contentsOf: field) }
        let lengths = fields.map { $0.count }
        try check(.journal) {
            buffer.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    csystemd_journal_send_fields(chars.baseAddress, lengths, Int32(lengths.count))
                }
            }
        }
    }

    /// Sends `state` to `NOTIFY_SOCKET`; false when it is unset. Wraps `sd_notify`.
    static func notify(_ state: String) throws(SystemdError) -> Bool {
        try check(.notify) { csystemd_notify(state) } > 0
    }

    /// The watchdog interval systemd expects pings within, or nil when none is set for this process.
    /// Wraps `sd_watchdog_enabled`.
    static func watchdogInterval() throws(SystemdError) -> Duration? {
        var usec: UInt64 = 0
        let rc = try check(.watchdog) { csystemd_watchdog_enabled(&usec) }
        return rc > 0 ? .microseconds(Int64(clamping: usec)) : nil
    }

    /// `call`'s result; a negative one (libsystemd's `-errno`) is a `SystemdError` of `code`.
    @discardableResult
    private static func check(_ code: SystemdError.Code, _ call: () -> Int32) throws(SystemdError) -> Int32 {
        do throws(Errno) {
            return try valueOrNegatedErrno(call)
        } catch {
            throw SystemdError(code: code, errno: error.rawValue)
        }
    }
}
