import FieldlinkCore
import Synchronization

/// A `BusClock` that moves only when told to, or when the code under test would have waited
/// (`sleep`, a fake's timeout): bus tests run in microseconds and never depend on the machine's load.
public final class ManualClock: BusClock {
    private let origin = ContinuousClock.now
    private let elapsed = Mutex<Duration>(.zero)
    /// The wall-clock time at `origin`, Unix ms.
    public let startMilliseconds: Int64

    public init(startMilliseconds: Int64 = 1_795_000_000_000) {
        self.startMilliseconds = startMilliseconds
    }

    public var now: ContinuousClock.Instant { origin + elapsed.withLock { $0 } }

    public var unixMilliseconds: Int64 { startMilliseconds + elapsed.withLock { $0 }.milliseconds }

    public func sleep(for duration: Duration) { advance(by: duration) }

    public func advance(by duration: Duration) {
        guard duration > .zero else { return }
        elapsed.withLock { $0 += duration }
    }

    /// Time since the clock was made.
    public var offset: Duration { elapsed.withLock { $0 } }
}

/// What a bus owner handed on: the readings and the health changes, in order.
public final class RecordingSink: ReadingSink {
    private let state = Mutex<(readings: [Reading], health: [DeviceHealth])>(([], []))

    public init() {}

    public func deliver(_ reading: Reading) { state.withLock { $0.readings.append(reading) } }
    public func healthChanged(_ health: DeviceHealth) { state.withLock { $0.health.append(health) } }

    public var readings: [Reading] { state.withLock { $0.readings } }
    public var health: [DeviceHealth] { state.withLock { $0.health } }

    /// Forgets what was recorded so far.
    public func clear() { state.withLock { $0 = ([], []) } }
}
