import Dispatch
import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Synchronization

/// A bus owner's thread, seen from its service: started once, stopped from any thread, awaited.
public protocol BusThread: Sendable {
    func start()
    /// The transaction in progress finishes; no new one starts. Safe from any thread, more than once.
    func stop()
    /// Returns once the thread has ended.
    func waitUntilStopped() async
}

extension BusThread {
    /// A bus service's whole `run()`: starts the thread and returns once it has stopped, after a
    /// graceful shutdown or a cancellation.
    public func runUntilShutdown() async {
        start()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await waitUntilStopped()
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
    }
}

/// The single owner of one physical bus: a dedicated thread that polls the bus's devices, one
/// transaction at a time, on a fixed-rate `PollSchedule`.
///
/// Blocking calls (libmodbus, termios reads, ioctl) never run on Swift's cooperative pool, where
/// they would starve every other task; and the schedule lives on the same thread, so a poll costs
/// no hop between threads. The resource (a serial line, an adapter) is created on the thread and
/// never leaves it, so it need not be `Sendable`.
public final class BusLoop<Resource>: BusThread {
    public struct Device: Sendable {
        public var name: String
        public var interval: Duration
        /// How long after the start the first slot comes.
        public var firstAfter: Duration

        public init(name: String, interval: Duration, firstAfter: Duration = .zero) {
            self.name = name
            self.interval = interval
            self.firstAfter = firstAfter
        }
    }

    public typealias Poll = @Sendable (_ device: Int, _ resource: inout Resource) -> Void
    /// Called while the loop would wait, with the time left before the next poll is due (at most
    /// `maximumIdleWait`): work that must not delay any device's schedule (probing a backed-off
    /// device, reading a stream) fits in there. True: it used the time, so the loop looks again at
    /// once instead of sleeping.
    public typealias Idle = @Sendable (_ available: Duration, _ resource: inout Resource) -> Bool
    /// Runs one command from the inbox on the bus thread.
    public typealias Serve = @Sendable (_ job: WriteJob, _ resource: inout Resource) -> Void

    private let name: String
    private let devices: [Device]
    private let logger: Logger
    private let makeResource: @Sendable () -> Resource
    private let poll: Poll
    private let idle: Idle?
    /// Commands (write-back) from other threads, run at the top of a turn, between two polls.
    private let inbox: WriteInbox?
    private let serve: Serve?
    /// Test only: when set, the loop wedges this long after it started (see `BusService`).
    private let wedgeAfter: Duration?
    private let stopping = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)
    private let lifecycle = Mutex(Lifecycle())

    private struct Lifecycle {
        var started = false
        var ended = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public init(name: String, devices: [Device], logger: Logger, makeResource: @escaping @Sendable () -> Resource,
                idle: Idle? = nil, inbox: WriteInbox? = nil, serve: Serve? = nil, wedgeAfter: Duration? = nil, poll: @escaping Poll) {
        self.name = name
        self.inbox = inbox
        self.serve = serve
        self.wedgeAfter = wedgeAfter
        self.devices = devices
        self.logger = logger
        self.makeResource = makeResource
        self.idle = idle
        self.poll = poll
    }

    /// Starts the loop on its own thread (once). Synchronous: starting never waits for the
    /// cooperative pool.
    public func start() {
        let first = lifecycle.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        guard first else { return }
        PosixThread.start(name: name) { [self] in
            loop()
            let waiters = lifecycle.withLock { state in
                state.ended = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            waiters.forEach { $0.resume() }
        }
    }

    /// Returns once the thread has ended (after `stop()`).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = lifecycle.withLock { state in
                if !state.ended { state.waiters.append(continuation) }
                return state.ended
            }
            if ended { continuation.resume() }
        }
    }

    /// The poll in progress finishes; no new one starts. Safe from any thread, more than once.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
    }

    /// The longest the loop sleeps before it looks again (and beats its heartbeat), so an idle
    /// loop still shows it is alive to the watchdog (which allows a thread at least 2 s): once a
    /// second, the only wake-up an idle bus costs.
    public static var maximumIdleWait: Duration { .seconds(1) }

    private func loop() {
        let heartbeat = HealthBoard.shared.register(name)
        defer { HealthBoard.shared.unregister(heartbeat) }
        var resource = makeResource()
        let wakeup = self.wakeup
        inbox?.attach { wakeup.signal() }
        defer { inbox?.close() }
        let clock = ContinuousClock()
        let wedgeAt = wedgeAfter.map { clock.now + $0 }
        var schedule = PollSchedule(intervals: devices.map(\.interval), start: clock.now, firstAfter: devices.map(\.firstAfter))
        while !stopping.load(ordering: .acquiring), let (index, due) = schedule.next() {
            heartbeat.beat()
            if let wedgeAt, clock.now >= wedgeAt {
                wedgeUntilStopped()
                break
            }
            // Commands first: each is one transaction between two polls, never beside one.
            if let inbox, let serve {
                let jobs = inbox.take()
                if !jobs.isEmpty {
                    for job in jobs { serve(job, &resource) }
                    continue
                }
            }
            var untilDue = clock.now.duration(to: due)
            if untilDue > .zero, let idle {
                if idle(min(untilDue, Self.maximumIdleWait), &resource) { continue }
                untilDue = clock.now.duration(to: due)
            }
            let wait = min(untilDue, Self.maximumIdleWait)
            if wait > .zero {
                // Sleeps until the slot, or until `stop()` wakes it; either way the loop looks again.
                _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(wait.components.seconds) * 1_000_000_000
                                                                   + Int(wait.components.attoseconds / 1_000_000_000)))
                continue
            }
            poll(index, &resource)
            let missed = schedule.completed(index, at: clock.now)
            if missed > 0 {
                logger.debug("poll overran its interval; skipped \(missed) slot(s)", metadata: ["device": "\(devices[index].name)"])
            }
        }
        for (index, device) in devices.enumerated() where schedule.skipped[index] > 0 {
            logger.info("skipped \(schedule.skipped[index]) overrun poll slot(s)", metadata: ["device": "\(device.name)"])
        }
        _ = consume resource
    }

    private func wedgeUntilStopped() {
        logger.warning("FIELDLINK_TEST_WEDGE_BUS: bus loop wedged on purpose (test only)")
        while !stopping.load(ordering: .acquiring) {
            _ = wakeup.wait(timeout: .now() + .milliseconds(100))
        }
    }
}
