import Synchronization

/// The machine's raw clocks: injected, so a test steps the wall clock and changes boots at will.
public protocol WallClock: Sendable {
    /// Unix milliseconds, as the wall clock says (possibly wrong).
    var unixMilliseconds: Int64 { get }
    /// Milliseconds since boot (CLOCK_BOOTTIME); never stepped.
    var monotonicMilliseconds: Int64 { get }
    /// The first 64 bits of the kernel's boot id.
    var boot: UInt64 { get }
}

/// Whether the wall clock is synchronised: systemd-timesyncd's flag file or the kernel's STA_UNSYNC.
public protocol SyncSource: Sendable {
    func isSynchronised() -> Bool
}

/// `time: {trust: always}`: boards with an RTC or GPS time.
public struct AlwaysSynchronised: SyncSource {
    public init() {}
    public func isSynchronised() -> Bool { true }
}

/// The daemon's one view of time: stamps readings and ring records, knows whether the wall clock
/// can be believed, and notices it being stepped.
///
/// Synchronisation is sticky for the run: once the clock was right, a later STA_UNSYNC (an NTP
/// server out of reach for a while) does not start holding readings again; the clock drifts by
/// milliseconds, not days.
public final class ClockWatch: TimeSource {
    /// What one `refresh()` found.
    public struct Change: Sendable, Equatable {
        /// The clock became synchronised in this refresh: `at` is the moment, in both clocks.
        public var synchronisedAt: TimeStamp?
        /// The wall clock moved this far against the monotonic one since the last refresh (positive:
        /// forward), when that is more than `stepThreshold`.
        public var step: Duration?
    }

    /// Smaller differences between refreshes are slewing or scheduling noise, not a step.
    public static let stepThreshold = Duration.seconds(1)

    private struct State {
        var synchronised: Bool
        /// wall - monotonic at the last refresh.
        var offset: Int64
    }

    public let clock: any WallClock
    private let source: any SyncSource
    private let state: Mutex<State>

    public init(clock: any WallClock, sync: any SyncSource) {
        self.clock = clock
        self.source = sync
        self.state = Mutex(State(synchronised: sync.isSynchronised(), offset: clock.unixMilliseconds - clock.monotonicMilliseconds))
    }

    public var isSynchronised: Bool { state.withLock { $0.synchronised } }

    public func now() -> TimeStamp {
        TimeStamp(wall: clock.unixMilliseconds, monotonic: clock.monotonicMilliseconds, boot: clock.boot, trusted: isSynchronised)
    }

    /// Asks the sync source again and compares the clocks (a few times a second).
    public func refresh() -> Change {
        let wasSynchronised = isSynchronised
        let synchronised = wasSynchronised || source.isSynchronised()
        return state.withLock { state in
            let wall = clock.unixMilliseconds, monotonic = clock.monotonicMilliseconds
            let offset = wall - monotonic
            let moved = offset - state.offset
            state.offset = offset
            state.synchronised = synchronised
            let stamp = TimeStamp(wall: wall, monotonic: monotonic, boot: clock.boot, trusted: true)
            return Change(synchronisedAt: synchronised && !wasSynchronised ? stamp : nil,
                          step: abs(moved) > Self.stepThreshold.milliseconds ? .milliseconds(moved) : nil)
        }
    }
}
