import FieldlinkCore
import Synchronization

/// A wall clock a test sets and steps by hand, with its own monotonic clock and boot id: a board
/// that booted with the wrong time, or a reboot.
public final class TestWallClock: WallClock {
    private struct State {
        var wall: Int64
        var monotonic: Int64
        var boot: UInt64
    }

    private let state: Mutex<State>

    public init(wall: Int64, monotonic: Int64 = 10_000, boot: UInt64 = 0xB001) {
        state = Mutex(State(wall: wall, monotonic: monotonic, boot: boot))
    }

    public var unixMilliseconds: Int64 { state.withLock { $0.wall } }
    public var monotonicMilliseconds: Int64 { state.withLock { $0.monotonic } }
    public var boot: UInt64 { state.withLock { $0.boot } }

    /// Time passes: both clocks move.
    public func advance(_ duration: Duration) {
        state.withLock { $0.wall += duration.milliseconds; $0.monotonic += duration.milliseconds }
    }

    /// The wall clock is set (NTP, `date -s`): only it moves.
    public func step(_ duration: Duration) {
        state.withLock { $0.wall += duration.milliseconds }
    }

    /// A new boot: the monotonic clock starts again, the wall clock is whatever the board says.
    public func reboot(wall: Int64, boot: UInt64) {
        state.withLock { $0 = State(wall: wall, monotonic: 5_000, boot: boot) }
    }
}

/// A sync source a test flips.
public final class TestSyncSource: SyncSource {
    private let synchronised: Atomic<Bool>

    public init(_ synchronised: Bool = false) {
        self.synchronised = Atomic(synchronised)
    }

    public func isSynchronised() -> Bool { synchronised.load(ordering: .relaxed) }

    public func set(_ value: Bool) { synchronised.store(value, ordering: .relaxed) }
}
