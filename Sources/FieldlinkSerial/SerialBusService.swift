import FieldlinkCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The single owner of one serial bus. Poll mode runs on a `BusLoop` (the fixed-rate schedule of
/// every family); stream mode on a thread of its own that reads whenever bytes arrive. Either way
/// the blocking reads happen on the bus's thread, never on the cooperative pool.
struct SerialBusService: Service {
    let bus: BusConfig
    let options: SerialBusOptions
    let devices: [DeviceConfig]
    let sink: any ReadingSink
    let logger: Logger

    init(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) {
        self.bus = bus
        self.options = bus.options as! SerialBusOptions
        self.devices = devices
        self.sink = sink
        self.logger = logger.on(bus: bus)
    }

    func run() async throws {
        guard !devices.isEmpty else { return }
        let options = self.options, devices = self.devices, sink = self.sink, logger = self.logger
        let thread: any BusThread
        switch options.mode {
        case .poll:
            thread = BusLoop(name: "fl-\(bus.name)", devices: devices.map { .init(name: $0.name, interval: $0.interval) }, logger: logger,
                             makeResource: { SerialLine(options: options, devices: devices, logger: logger) }) { index, line in
                line.pollAndPublish(index, sink: sink)
            }
            logger.info("polling \(devices.count) device(s) on \(options.description)")
        case .stream:
            thread = StreamReader(name: "fl-\(bus.name)") { heartbeat, stopping in
                SerialLine(options: options, devices: devices, logger: logger).stream(sink: sink, heartbeat: heartbeat, stopping: stopping)
            }
        }
        await thread.runUntilShutdown()
    }
}

/// A stream bus's thread: runs its body until `stop()`, beating a heartbeat the watchdog reads.
final class StreamReader: BusThread {
    typealias Body = @Sendable (_ heartbeat: HealthBoard.Heartbeat, _ stopping: () -> Bool) -> Void

    private let name: String
    private let body: Body
    private let stopping = Atomic<Bool>(false)
    private let ended = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(name: String, body: @escaping Body) {
        self.name = name
        self.body = body
    }

    func start() {
        let thread = Thread { [self] in
            let heartbeat = HealthBoard.shared.register(name)
            body(heartbeat) { stopping.load(ordering: .acquiring) }
            HealthBoard.shared.unregister(heartbeat)
            let waiters = ended.withLock { state in
                state.done = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            waiters.forEach { $0.resume() }
        }
        thread.name = String(name.prefix(15))
        thread.start()
    }

    /// The thread notices within one read timeout (200 ms).
    func stop() { stopping.store(true, ordering: .releasing) }

    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = ended.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}
