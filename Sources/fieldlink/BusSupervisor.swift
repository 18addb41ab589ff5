import FieldlinkCore
import FieldlinkMQTT
import FieldlinkPipeline
import FieldlinkSystemd
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
import UnixSignals

/// Runs one service per bus, and applies a new config on SIGHUP (`systemctl reload`).
///
/// A reload re-reads the file: an invalid one is refused with every problem logged and the running
/// config stays; a valid one restarts only the buses whose settings or devices changed. Unchanged
/// buses keep running untouched (same schedule, same line, same `seq`), the ring and its backlog are
/// never touched, and the broker connection is only replaced when the broker settings changed.
final class BusSupervisor: Service {
    private struct RunningBus {
        var bus: BusConfig
        var devices: [DeviceConfig]
        var task: Task<Void, Never>
        /// Where write-back commands for its devices go; closed when the bus stops.
        var inbox: WriteInbox
    }

    private let file: String
    private let pipeline: TelemetryPipeline
    /// Where the buses' readings go: stamped and, before the clock is synchronised, held.
    private let gate: ClockGate
    private let publisher: MQTTPublisher
    private let announcer: HomeAssistantAnnouncer
    private let commands: CommandDesk
    private let logger: Logger
    private let notifier = SystemdNotifier()
    /// The config in force: what a reload compares against, and whose devices `STATUS=` counts.
    let current: Mutex<Config>
    /// The first buses' inboxes, made before any service runs, so the broker connection (which
    /// starts first) already subscribes their command topics.
    private let firstInboxes: Mutex<[String: WriteInbox]>

    init(config: Config, pipeline: TelemetryPipeline, gate: ClockGate, publisher: MQTTPublisher, announcer: HomeAssistantAnnouncer, commands: CommandDesk,
         logger: Logger) {
        self.file = config.file
        self.pipeline = pipeline
        self.gate = gate
        self.publisher = publisher
        self.announcer = announcer
        self.commands = commands
        self.logger = logger
        self.current = Mutex(config)
        let inboxes = Dictionary(uniqueKeysWithValues: config.buses.map { ($0.name, WriteInbox()) })
        self.firstInboxes = Mutex(inboxes)
        commands.update(devices: config.devices, inboxes: inboxes)
    }

    func run() async throws {
        var running: [String: RunningBus] = [:]
        start(current.withLock { $0 }, into: &running, only: nil)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withGracefulShutdownHandler {
            for await _ in hangups.cancelOnGracefulShutdown() {
                await reload(&running)
            }
        } onGracefulShutdown: {}
        // Graceful shutdown: every bus finishes its poll in progress, then the publisher (after us) drains.
        for bus in running.values { bus.task.cancel() }
        for bus in running.values { await bus.task.value }
    }

    private func start(_ config: Config, into running: inout [String: RunningBus], only names: Set<String>?) {
        for bus in config.buses where names?.contains(bus.name) ?? true {
            let devices = config.devices(on: bus)
            guard !devices.isEmpty else {
                logger.warning("bus has no devices; not opened", metadata: ["bus": "\(bus.name)"])
                continue
            }
            let family = driverFamilies.first { $0.busTypes.contains(bus.type) }!
            let inbox = firstInboxes.withLock { $0.removeValue(forKey: bus.name) } ?? WriteInbox()
            let service = family.makeBusService(bus: bus, devices: devices, sink: gate, inbox: inbox, logger: logger)
            let logger = self.logger
            let task = Task {
                do {
                    try await service.run()
                } catch {
                    logger.error("bus stopped: \(error)", metadata: ["bus": "\(bus.name)"])
                }
            }
            running[bus.name] = RunningBus(bus: bus, devices: devices, task: task, inbox: inbox)
        }
        commands.update(devices: config.devices, inboxes: running.mapValues(\.inbox))
    }

    private func reload(_ running: inout [String: RunningBus]) async {
        send { try notifier.reloading() }
        defer { send { try notifier.ready() } }
        logger.notice("reloading \(file)")
        let config: Config
        do throws(ConfigErrors) {
            config = try ConfigLoader(families: driverFamilies).load(file: file)
            if let problem = config.nothingToRun { throw ConfigErrors(problems: [problem]) }
        } catch {
            logger.error("reload refused, the running config stays: \(error.problems.count) problem(s)")
            for problem in error.problems { logger.error("\(problem)") }
            return
        }
        for warning in config.warnings { logger.warning("\(warning)") }
        let old = current.withLock { $0 }
        if config.gateway.id != old.gateway.id || config.gateway.stateDirectory != old.gateway.stateDirectory {
            logger.warning("gateway.id and gateway.state_dir take effect at the next start, not on reload")
        }
        if config.buffer.durability != old.buffer.durability || config.buffer.maxBytes != old.buffer.maxBytes
            || config.buffer.maxAge != old.buffer.maxAge || config.buffer.memoryMessages != old.buffer.memoryMessages
            || config.buffer.syncInterval != old.buffer.syncInterval || config.buffer.replayRate != old.buffer.replayRate {
            logger.warning("buffer settings take effect at the next start, not on reload")
        }
        if config.time != old.time { logger.warning("time settings take effect at the next start, not on reload") }

        // Buses to stop: gone, or changed (settings, or any of their devices).
        var restart: Set<String> = []
        for (name, bus) in running {
            guard let new = config.buses.first(where: { $0.name == name }), new.sameSettings(as: bus.bus) else {
                restart.insert(name)
                continue
            }
            let devices = config.devices(on: new)
            if devices.count != bus.devices.count || !zip(devices, bus.devices).allSatisfy({ $0.sameSettings(as: $1) }) {
                restart.insert(name)
            }
        }
        let added = Set(config.buses.map(\.name)).subtracting(running.keys)
        for name in restart {
            running[name]?.task.cancel()
        }
        // The old bus threads let go of their lines before the new ones open them.
        for task in restart.compactMap({ running.removeValue(forKey: $0)?.task }) {
            await task.value
        }

        pipeline.update(devices: config.devices, statusTopic: config.mqtt.statusTopic)
        announcer.announce(config)
        let commandTopics = commands.subscriptions
        start(config, into: &running, only: restart.union(added))
        // New command topics are subscribed on a new connection.
        if config.mqtt != old.mqtt {
            publisher.reconfigure(config.mqtt)
        } else if commands.subscriptions != commandTopics {
            publisher.resubscribe()
        }
        current.withLock { $0 = config }
        let started = restart.union(added).filter { running[$0] != nil }.sorted()
        let brokerSettings = config.mqtt == old.mqtt ? "unchanged" : "changed"
        logger.notice("reloaded: \(started.isEmpty ? "no bus" : "bus(es) " + started.joined(separator: ", ")) (re)started, \(running.count - started.count) bus(es) unchanged, broker settings \(brokerSettings)")
    }

    private func send(_ body: () throws -> Void) {
        do { try body() } catch { logger.warning("sd_notify: \(error)") }
    }
}
