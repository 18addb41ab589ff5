import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The time a bus owner lives by: monotonic for schedules, timeouts and backoff, wall-clock for the
/// stamp a reading carries, and a blocking sleep for the quiet time a line needs.
///
/// Injected, so the bus boundary is tested without sleeping: a test clock advances when a
/// transaction would have waited.
public protocol BusClock: Sendable {
    /// Monotonic time: what schedules and timeouts are measured in.
    var now: ContinuousClock.Instant { get }
    /// Wall-clock time, Unix milliseconds: the `ts` of a reading.
    var unixMilliseconds: Int64 { get }
    /// Blocks the bus thread (never a task of the cooperative pool) for `duration`.
    func sleep(for duration: Duration)
}

/// The real clocks of the machine.
public struct SystemBusClock: BusClock {
    public init() {}

    public var now: ContinuousClock.Instant { .now }

    public var unixMilliseconds: Int64 { Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)) }

    public func sleep(for duration: Duration) {
        guard duration > .zero else { return }
        PosixThread.sleep(duration)
    }
}
