/// When something happened, in both clocks that can tell: the wall clock, which may be wrong until
/// it is synchronised, and the boot's monotonic clock, which is never stepped but means nothing
/// in another boot.
///
/// Readings and ring records carry one, so "how old is this" is answered by elapsed monotonic time
/// within a boot and by (trusted) wall time across boots: a clock step never ages a message out.
public struct TimeStamp: Sendable, Equatable {
    /// Unix milliseconds, the best known: the wall clock, or corrected from the monotonic distance
    /// to the moment the clock was synchronised.
    public var wall: Int64
    /// Milliseconds since boot (CLOCK_BOOTTIME).
    public var monotonic: Int64
    /// The first 64 bits of the kernel's boot id; 0 when unknown (a record from an older version).
    public var boot: UInt64
    /// `wall` comes from a synchronised clock (or was corrected from one, or `time: {trust: always}`).
    public var trusted: Bool

    public init(wall: Int64, monotonic: Int64, boot: UInt64, trusted: Bool) {
        self.wall = wall
        self.monotonic = monotonic
        self.boot = boot
        self.trusted = trusted
    }

    /// A record written before stamps existed: only its wall time, which the old versions trusted.
    public static func legacy(wall: Int64) -> TimeStamp {
        TimeStamp(wall: wall, monotonic: 0, boot: 0, trusted: true)
    }

    /// How long before `now` this happened; nil when no clock can tell (another boot, and one of the
    /// two wall times untrusted). Never negative.
    public func age(at now: TimeStamp) -> Duration? {
        if boot != 0, boot == now.boot {
            return .milliseconds(max(0, now.monotonic - monotonic))
        }
        guard trusted, now.trusted else { return nil }
        return .milliseconds(max(0, now.wall - wall))
    }

    /// Older than `limit` by a clock that can tell; what cannot be aged is never expired.
    public func isOlder(than limit: Duration, at now: TimeStamp) -> Bool {
        age(at: now).map { $0 > limit } ?? false
    }
}

/// Any clock the stamps come from: the machine's, or a test's.
public protocol TimeSource: Sendable {
    func now() -> TimeStamp
}

/// Stamps with the wall clock alone, believed (ages by wall time, as before stamps existed): for
/// tools and tests that have no `ClockWatch`.
public struct WallTimeOnly: TimeSource {
    public init() {}
    public func now() -> TimeStamp { .legacy(wall: SystemBusClock().unixMilliseconds) }
}
