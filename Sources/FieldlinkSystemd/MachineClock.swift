import CLinuxIO
import FieldlinkCore
import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The machine's clocks: the wall clock, CLOCK_BOOTTIME and the kernel's boot id.
public struct MachineClock: WallClock {
    public let boot: UInt64

    public init() {
        boot = Self.readBootID()
    }

    public var unixMilliseconds: Int64 { SystemBusClock().unixMilliseconds }

    /// Wraps `clock_gettime(CLOCK_BOOTTIME)`, which does not fail for a valid clock id.
    public var monotonicMilliseconds: Int64 { CLinuxIO_boottime_milliseconds() }

    /// The first 64 bits of `/proc/sys/kernel/random/boot_id` (a UUID, new at every boot); 0 when
    /// unreadable, which makes every stamp "another boot": aged by trusted wall time only.
    static func readBootID() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return 0 }
        return UInt64(text.filter(\.isHexDigit).prefix(16), radix: 16) ?? 0
    }
}

/// Synchronised when systemd-timesyncd's flag file exists, or when the kernel says so through
/// adjtimex(2) (STA_UNSYNC clear, as chrony and ntpd leave it).
public struct MachineSyncSource: SyncSource {
    /// Created by systemd-timesyncd at its first successful synchronisation, removed at boot.
    public static let timesyncFlag = "/run/systemd/timesync/synchronized"
    let flag: String

    public init(flag: String = MachineSyncSource.timesyncFlag) {
        self.flag = flag
    }

    public func isSynchronised() -> Bool {
        if access(flag, F_OK) == 0 { return true }
        return (try? Self.kernelSaysSynchronised()) ?? false
    }

    /// Wraps `adjtimex` with modes 0 (read only, no privilege needed).
    static func kernelSaysSynchronised() throws(Errno) -> Bool {
        try valueOrErrno { CLinuxIO_clock_synchronised() } == 1
    }
}
