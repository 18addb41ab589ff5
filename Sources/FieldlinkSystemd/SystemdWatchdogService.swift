import FieldlinkCore
import Logging
import ServiceLifecycle

/// The daemon's side of `Type=notify` with `WatchdogSec=`: `READY=1` once every bus thread runs,
/// `STATUS=` whenever the one-line summary changes, `WATCHDOG=1` only while every working thread
/// beats, and `STOPPING=1` when shutdown begins.
///
/// Runs last in the `ServiceGroup`, so it starts after the buses and the publisher and is the first
/// to hear of a shutdown. Every second (or twice per watchdog interval, if shorter) it reads the
/// `HealthBoard`: a thread whose heartbeat has not moved for half the watchdog interval (at least
/// 2 s) counts as stuck, and the pings stop, so systemd restarts the service.
public struct SystemdWatchdogService: Service {
    private let notifier: SystemdNotifier
    private let board: HealthBoard
    private let expectedBusThreads: Int
    private let status: @Sendable (HealthBoard.Snapshot) -> String
    private let logger: Logger

    /// `expectedBusThreads`: how many bus loops must be running before `READY=1`.
    /// `status`: the `STATUS=` line for a snapshot of the board.
    public init(notifier: SystemdNotifier = SystemdNotifier(), board: HealthBoard = .shared, expectedBusThreads: Int,
                logger: Logger, status: @escaping @Sendable (HealthBoard.Snapshot) -> String) {
        self.notifier = notifier
        self.board = board
        self.expectedBusThreads = expectedBusThreads
        self.status = status
        self.logger = logger
    }

    public func run() async throws {
        guard notifier.isEnabled else { return await waitForShutdown() }
        let interval: Duration?
        do {
            interval = try notifier.watchdogInterval()
        } catch {
            logger.error("\(error); the systemd watchdog is off")
            interval = nil
        }
        let tick = min(.seconds(1), (interval ?? .seconds(2)) / 2)
        let stallLimit = max(.seconds(2), (interval ?? .seconds(4)) / 2)
        let clock = ContinuousClock()

        // READY=1 once every bus thread has started (they register at once), not waiting for the broker.
        let readyBy = clock.now + .seconds(10)
        while board.snapshot().heartbeats.values.filter({ $0.name != "fl-mqtt" }).count < expectedBusThreads,
              clock.now < readyBy, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        var lastStatus = status(board.snapshot())
        send { try notifier.ready(status: lastStatus) }

        var lastSeen: [ObjectIdentifier: (count: UInt64, at: ContinuousClock.Instant)] = [:]
        var stuckReported = Set<String>()
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let now = clock.now
            let snapshot = board.snapshot()
            var stuck: [String] = []
            var seen: [ObjectIdentifier: (count: UInt64, at: ContinuousClock.Instant)] = [:]
            for (id, heartbeat) in snapshot.heartbeats {
                let previous = lastSeen[id]
                let movedAt = previous.map { $0.count == heartbeat.count ? $0.at : now } ?? now
                seen[id] = (heartbeat.count, movedAt)
                if now - movedAt > stallLimit { stuck.append(heartbeat.name) }
            }
            lastSeen = seen
            let line = status(snapshot)
            if line != lastStatus {
                lastStatus = line
                send { try notifier.status(line) }
            }
            if stuck.isEmpty {
                if interval != nil { send { try notifier.watchdog() } }
                stuckReported.removeAll()
            } else {
                let names = Set(stuck)
                if names != stuckReported {
                    stuckReported = names
                    logger.critical("thread(s) \(stuck.sorted().joined(separator: ", ")) made no progress for \(stallLimit); withholding the watchdog ping")
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
        }
        send { try notifier.stopping() }
    }

    private func waitForShutdown() async {
        // Nothing to tell; stays in the group so that the group's lifetime does not depend on it.
        try? await gracefulShutdown()
    }

    private func send(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            logger.warning("\(error)")
        }
    }
}
