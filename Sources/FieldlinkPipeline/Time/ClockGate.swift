import FieldlinkCore
import Logging
import ServiceLifecycle
import Synchronization

/// Between the buses and the pipeline: stamps each reading with its time in both clocks and, while
/// the wall clock is not synchronised, holds readings back (`time: {unsynced: hold}`) or lets them
/// through marked (`mark`).
///
/// When sync comes, each held reading's ts is recomputed from the monotonic distance to the sync
/// moment, and they are handed on in the order they were taken, before any newer reading, so `seq`
/// follows time. Without sync for `max_wait`, or at a stop, they go on marked with the best time
/// known. As a service it looks at the clock a few times a second and logs every step of it.
public final class ClockGate: ReadingSink, Service {
    /// What `fieldlink status` and the metrics show.
    public struct Status: Sendable, Equatable {
        public var synchronised: Bool
        public var held: Int

        public init(synchronised: Bool, held: Int) {
            self.synchronised = synchronised
            self.held = held
        }
    }

    private struct State {
        var held: [Reading] = []
        /// The moment the clock became synchronised, in both clocks; nil while it is not.
        var syncedAt: TimeStamp?
        /// `max_wait` passed without sync: unsynced readings go on marked.
        var gaveUp = false
    }

    let config: TimeConfig
    public let clock: ClockWatch
    let next: any ReadingSink
    let logger: Logger
    let interval: Duration
    /// Monotonic ms when the gate started: `max_wait` counts from here.
    private let started: Int64
    /// Synchronised and nothing held: readings pass without taking the lock.
    private let open = Atomic<Bool>(false)
    private let state: Mutex<State>

    /// `interval`: how often the clock is looked at.
    public init(config: TimeConfig, clock: ClockWatch, next: any ReadingSink, logger: Logger, interval: Duration = .milliseconds(250)) {
        self.config = config
        self.clock = clock
        self.next = next
        self.logger = logger
        self.interval = interval
        let now = clock.now()
        started = now.monotonic
        state = Mutex(State(syncedAt: now.trusted ? now : nil))
        open.store(now.trusted, ordering: .releasing)
        if !now.trusted {
            logger.notice("the clock is not synchronised yet: readings are \(config.unsynced == .hold ? "held until it is (at most \(config.maxWait.configText))" : "published marked \"ts_quality\": \"unsynced\"")")
        }
    }

    public var status: Status {
        Status(synchronised: clock.isSynchronised, held: state.withLock { $0.held.count })
    }

    public func deliver(_ reading: Reading) {
        let now = clock.now()
        var reading = reading
        // The poll finished moments ago: its monotonic time is that far before now.
        reading.time = TimeStamp(wall: reading.timestamp, monotonic: now.monotonic - max(0, now.wall - reading.timestamp), boot: now.boot,
                                 trusted: now.trusted)
        if open.load(ordering: .acquiring) {
            next.deliver(reading)
            return
        }
        state.withLock { state in
            if let syncedAt = state.syncedAt {
                // Stamped just before the sync was seen: corrected like the held ones.
                next.deliver(Self.corrected(reading, syncedAt: syncedAt))
            } else if config.unsynced == .mark || state.gaveUp {
                next.deliver(reading)
            } else {
                state.held.append(reading)
            }
        }
    }

    public func healthChanged(_ health: DeviceHealth) {
        next.healthChanged(health)
    }

    /// Looks at the clock: logs a step, releases the held readings at sync or after `max_wait`.
    public func tick() {
        let change = clock.refresh()
        if let step = change.step {
            let size = Self.stepText(step)
            if step < .zero {
                logger.warning("the wall clock stepped back by \(size); seq, polls and ages follow the monotonic clock, nothing is reordered or repeated")
            } else {
                logger.notice("the wall clock stepped forward by \(size); ages follow the monotonic clock, nothing is aged out by the step")
            }
        }
        if let syncedAt = change.synchronisedAt {
            let released = state.withLock { state -> Int in
                state.syncedAt = syncedAt
                defer { state.held.removeAll() }
                for reading in state.held { next.deliver(Self.corrected(reading, syncedAt: syncedAt)) }
                open.store(true, ordering: .releasing)
                return state.held.count
            }
            logger.notice("the clock is synchronised: \(released) held reading(s) published with their ts corrected from the monotonic clock")
            return
        }
        guard config.unsynced == .hold, clock.now().monotonic - started >= config.maxWait.milliseconds else { return }
        let released = state.withLock { state -> Int? in
            guard !state.gaveUp else { return nil }
            state.gaveUp = true
            return releaseMarked(&state)
        }
        if let released {
            logger.warning("the clock is still not synchronised after time.max_wait (\(config.maxWait.configText)): \(released) held reading(s) and later ones are published marked \"ts_quality\": \"unsynced\"")
        }
    }

    /// At a stop: what is held goes on marked, into the ring, rather than being lost.
    public func releaseHeld() {
        let released = state.withLock { releaseMarked(&$0) }
        if released > 0 {
            logger.warning("stopping before the clock was synchronised: \(released) held reading(s) queued marked \"ts_quality\": \"unsynced\" with the best time known")
        }
    }

    private func releaseMarked(_ state: inout State) -> Int {
        defer { state.held.removeAll() }
        for reading in state.held { next.deliver(reading) }
        return state.held.count
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: interval)
            tick()
        }
        releaseHeld()
    }

    /// `2.345 s`, or `1814402.345 s (21 days)`: the size of a step, to the millisecond.
    static func stepText(_ step: Duration) -> String {
        let ms = abs(step.milliseconds)
        let fraction = String(ms % 1_000)
        let text = "\(ms / 1_000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) s"
        return ms >= 86_400_000 ? text + " (\(ms / 86_400_000) days)" : text
    }

    /// `reading` as the synchronised clock would have stamped it: `syncedAt`'s wall time less the
    /// monotonic time between the reading and the sync moment.
    static func corrected(_ reading: Reading, syncedAt: TimeStamp) -> Reading {
        guard var time = reading.time, !time.trusted, time.boot == syncedAt.boot else { return reading }
        time.wall = syncedAt.wall - (syncedAt.monotonic - time.monotonic)
        time.trusted = true
        var reading = reading
        reading.timestamp = time.wall
        reading.time = time
        return reading
    }
}
