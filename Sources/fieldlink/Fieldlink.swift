import ArgumentParser
import FieldlinkBuffer
import FieldlinkCore
import FieldlinkI2C
import FieldlinkModbus
import FieldlinkMQTT
import FieldlinkOperability
import FieldlinkPOSIX
import FieldlinkPipeline
import FieldlinkSerial
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

enum FieldlinkVersion {
    static let current = "0.1.0"
}

/// sysexits(3): the config is invalid.
let exitConfigError = ExitCode(78)
/// sysexits(3): a file the daemon needs cannot be created.
let exitCannotCreate = ExitCode(73)

/// Every driver family built into this binary.
let driverFamilies: [any DriverFamily] = [ModbusFamily(), SerialFamily(), I2CFamily()]

@main
struct Fieldlink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldlink",
        abstract: "Polls field devices (Modbus, serial, I2C) and publishes their readings to an MQTT broker.",
        version: FieldlinkVersion.current,
        subcommands: [Run.self, Check.self, Status.self, Probe.self, Write.self, Plan.self, Scan.self, Buffer.self, Reference.self]
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: [.short, .long], help: "The YAML config file.")
    var config: String

    /// Loads and validates the config, printing every problem and exiting 78 when it is invalid;
    /// warnings go to stderr too, but do not stop it.
    /// `toRun`: for `check` and `run`, which also refuse a config without devices.
    func load(toRun: Bool = false) throws -> Config {
        try Self.load(file: config, toRun: toRun)
    }

    static func load(file config: String, toRun: Bool = false) throws -> Config {
        do {
            let loaded = try ConfigLoader(families: driverFamilies).load(file: config)
            if toRun, let problem = loaded.nothingToRun { throw ConfigErrors(problems: [problem]) }
            for warning in loaded.warnings {
                StandardError.write("warning: \(warning)\n")
            }
            return loaded
        } catch {
            StandardError.write("\(error)\n")
            throw exitConfigError
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a config and print what it declares; exits 78 when it is invalid, 73 when its state directory cannot be created or written.",
        discussion: "Missing serial ports and I2C adapters are warnings, not failures: a USB adapter may be plugged in later."
    )

    @OptionGroup var options: ConfigOption

    @Flag(name: .shortAndLong, help: "Print only problems and warnings (for scripts and deployment checks).")
    var quiet = false

    func run() throws {
        let config = try options.load(toRun: true)
        for warning in DeviceNodes.warnings(for: config) {
            StandardError.write("warning: \(warning)\n")
        }
        do {
            try StateDirectory.verify(config.gateway.stateDirectory)
        } catch {
            StandardError.write("\(error)\n")
            throw exitCannotCreate
        }
        // Units and topics come from the file: their control characters are shown escaped, line by line.
        let summary = ConfigSummary(config).text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0).escapingControlCharacters }
        if !quiet { print(summary.joined(separator: "\n"), terminator: "") }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway until SIGTERM or SIGINT, then shut down gracefully; SIGHUP reloads the config."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Where logs go: journal (native journald protocol, with DEVICE=, BUS=, ... fields), stderr, or auto (the journal when stderr is connected to it).")
    var logTarget: LogTarget = .auto

    func run() async throws {
        let config = try options.load(toRun: true)
        let started = ContinuousClock.now
        let level = logLevel
        if logTarget.usesJournal {
            LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level) }
        } else {
            LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        }
        let logger = Logger(label: "fieldlink")

        do {
            try StateDirectory.prepare(config.gateway.stateDirectory)
        } catch let problem as FileSystemProblem {
            logger.critical("\(problem)")
            throw exitCannotCreate
        } catch {
            logger.critical("\(StateDirectory.key): \(error); \(StateDirectory.remedy)")
            throw exitCannotCreate
        }

        let clock = ClockWatch(clock: MachineClock(), sync: config.time.trust == .always ? AlwaysSynchronised() : MachineSyncSource())
        let ring: DiskRing
        let ringDirectory = "\(config.gateway.stateDirectory)/buffer"
        do {
            var settings = DiskRing.Settings(directory: ringDirectory, buffer: config.buffer, inFlightWindow: config.mqtt.maxInflight)
            settings.clock = clock
            ring = try DiskRing(settings: settings, logger: logger)
        } catch {
            logger.critical("\(StateDirectory.key): cannot open the buffer ring in \(config.gateway.stateDirectory)/buffer: \(error); \(StateDirectory.remedy)")
            throw exitCannotCreate
        }
        let sequences: SequenceStore
        do {
            sequences = try SequenceStore(directory: config.gateway.stateDirectory, blockSize: Self.sequenceBlock(config.buffer, config.mqtt),
                                          mirrorDirectory: ringDirectory, recovery: Self.sequenceRecovery(config, ring: ring))
        } catch let problem as FileSystemProblem {
            logger.critical("\(problem)")
            throw exitCannotCreate
        } catch {
            logger.critical("\(StateDirectory.key): \(error); \(StateDirectory.remedy)")
            throw exitCannotCreate
        }
        for note in sequences.startNotes { logger.warning("\(note)") }
        let pipeline = TelemetryPipeline(config: config, sequences: sequences, ring: ring, logger: logger)
        let commands = CommandDesk(formats: pipeline.sparkplug.map { [$0.commandFormat] } ?? [], logger: logger)
        let publisher = MQTTPublisher(config: config.mqtt, ring: ring, session: pipeline.sparkplug.map { SparkplugSession(node: $0) },
                                      commands: commands, logger: logger)
        let announcer = HomeAssistantAnnouncer(ring: ring, stateDirectory: config.gateway.stateDirectory, version: FieldlinkVersion.current,
                                               logger: logger)
        announcer.announce(config)
        let gate = ClockGate(config: config.time, clock: clock, next: pipeline, logger: logger)
        let buses = BusSupervisor(config: config, pipeline: pipeline, gate: gate, publisher: publisher, announcer: announcer, commands: commands,
                                  logger: logger)
        let busThreads = config.buses.filter { !config.devices(on: $0).isEmpty }.count
        // Last, so it starts after the buses (READY=1 waits for their threads) and hears of a shutdown first (STOPPING=1).
        let watchdog = SystemdWatchdogService(expectedBusThreads: busThreads, logger: logger) { snapshot in
            ServiceStatus(devices: buses.current.withLock { $0.devices.map(\.name) }, health: snapshot, buffered: ring.statistics.depth).line
        }
        let source = StatusSource(started: started, config: { buses.current.withLock { $0 } }, ring: ring, gate: gate)
        let socket = StatusSocketPath.daemon(stateDirectory: config.gateway.stateDirectory, environment: ProcessInfo.processInfo.environment)
        var keepers: [any Service] = [StatusSocketServer(path: socket, logger: logger, document: source.document)]
        if let metrics = config.metrics {
            keepers.append(MetricsTextfileService(config: metrics, logger: logger, document: source.document))
        }
        // Shutdown runs this list backwards: STOPPING=1, the buses stop, held readings and the last
        // batches go out, the publisher drains. Batches wait by the monotonic clock, as readings are stamped.
        let flusher = BatchFlusher(pipeline: pipeline) { clock.clock.monotonicMilliseconds }
        let services: [any Service] = [publisher, flusher, gate] + keepers + [buses, watchdog]

        logger.info("fieldlink \(FieldlinkVersion.current) starting: \(config.devices.count) device(s) on \(config.buses.count) bus(es), gateway \(config.gateway.id)")
        // ServiceGroup stops services in reverse order: the watchdog (STOPPING=1), the buses (no new
        // readings), then the publisher, which drains what is queued before it disconnects.
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
            logger.critical("stopping after an internal failure: \(error)")
        }
        // Whatever the broker has not acknowledged goes to disk for the next start, even after a failure.
        ring.close()
        do {
            try sequences.close()
        } catch {
            logger.error("\(error)")
        }
        if let failure { throw failure }
        logger.info("stopped")
    }
}

struct Buffer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look at the store-and-forward ring.",
        subcommands: [Inspect.self]
    )

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print depth, oldest pending record, segments and loss counters; safe while the daemon runs."
        )

        @OptionGroup var options: ConfigOption

        func run() throws {
            let config = try options.load()
            let directory = "\(config.gateway.stateDirectory)/buffer"
            guard FileManager.default.fileExists(atPath: directory) else {
                print("buffer \(directory): empty (no ring yet; in spill mode nothing is written while the broker is reachable)")
                return
            }
            print(try RingInspection(directory: directory).report(), terminator: "")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--log-target`.
enum LogTarget: String, ExpressibleByArgument, CaseIterable {
    case auto, journal, stderr

    var usesJournal: Bool {
        switch self {
        case .journal: true
        case .stderr: false
        case .auto: StderrLogHandler.stderrIsJournal()
        }
    }
}

extension Run {
    /// Numbers reserved per write of `sequence.json`. In spill mode what a crash loses is what memory
    /// held, so the block is no larger than memory: the numbers a crash skips stay of that order.
    static func sequenceBlock(_ buffer: BufferConfig, _ mqtt: MQTTConfig) -> UInt64 {
        buffer.durability == .always ? 1_000 : UInt64(min(1_000, buffer.memoryMessages ?? mqtt.maxInflight))
    }

    /// With `durability: always` every number handed out to an unbatched device reaches the ring at
    /// once, so after a crash its numbering continues right after the ring's highest.
    static func sequenceRecovery(_ config: Config, ring: DiskRing) -> SequenceStore.Recovery {
        let exact = config.buffer.durability == .always ? Set(config.devices.filter { $0.batch == nil }.map(\.name)) : []
        return SequenceStore.Recovery(ringHighWater: ring.sequenceHighWater, exact: exact)
    }
}
