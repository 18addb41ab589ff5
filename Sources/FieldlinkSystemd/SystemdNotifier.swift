#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Tells the service manager how the daemon is doing: a datagram to the socket in `NOTIFY_SOCKET`.
///
/// Without systemd (a terminal, a container) `NOTIFY_SOCKET` is unset and every call is a no-op,
/// so the daemon runs the same everywhere. Wraps `sd_notify` and `sd_watchdog_enabled`.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// True when a service manager listens (`NOTIFY_SOCKET` is set).
    public var isEnabled: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    /// The interval systemd expects `WATCHDOG=1` within (`WatchdogSec=`), or nil when there is no
    /// watchdog for this process. Wraps `sd_watchdog_enabled`.
    public func watchdogInterval() throws(SystemdError) -> Duration? {
        try Systemd.watchdogInterval()
    }

    /// Sends `state` (lines of `KEY=value`); false when there is no service manager. Wraps `sd_notify`.
    @discardableResult
    public func notify(_ state: String) throws(SystemdError) -> Bool {
        try Systemd.notify(state)
    }

    /// `READY=1`: startup is done; `systemctl start` returns.
    public func ready(status: String? = nil) throws(SystemdError) {
        try notify("READY=1" + (status.map { "\nSTATUS=\(Self.oneLine($0))" } ?? ""))
    }

    /// `STATUS=…`: the one line `systemctl status` shows.
    public func status(_ text: String) throws(SystemdError) {
        try notify("STATUS=\(Self.oneLine(text))")
    }

    /// `WATCHDOG=1`: the daemon is alive; send only when it really is.
    public func watchdog() throws(SystemdError) {
        try notify("WATCHDOG=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC` (which `Type=notify-reload` requires); send `ready()` when done.
    public func reloading() throws(SystemdError) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        try notify("RELOADING=1\nMONOTONIC_USEC=\(usec)")
    }

    /// `STOPPING=1`: shutdown has begun.
    public func stopping() throws(SystemdError) {
        try notify("STOPPING=1")
    }

    private static func oneLine(_ text: String) -> String {
        text.replacingLiterally("\n", with: " ")
    }
}
