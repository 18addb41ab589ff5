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

/// The single owner of one physical bus, for every family: a `BusLoop` thread that runs the
/// family's `BusDriver` inside a `BusOwner`, one transaction at a time, on the devices' fixed-rate
/// schedules. Poll and stream buses alike: a stream's frames are read in the loop's idle time.
public struct BusService<Driver: BusDriver>: Service {
    public let bus: BusConfig
    public let devices: [DeviceConfig]
    private let sink: any ReadingSink
    private let clock: any BusClock
    private let logger: Logger
    /// What the log says when the bus starts ("polling 2 device(s) on /dev/ttyUSB0 9600 8E1").
    private let startMessage: String
    private let makeDriver: @Sendable () -> Driver
    /// The devices report once per period (a stream): each one's first slot is one interval in.
    private let periodic: Bool
    /// Where commands for this bus's devices arrive (write-back); nil: the bus takes none.
    private let inbox: WriteInbox?

    /// `makeDriver` runs on the bus thread, so the driver's C handles never leave it.
    public init(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, clock: any BusClock = SystemBusClock(), logger: Logger,
                startMessage: String, periodic: Bool = false, inbox: WriteInbox? = nil, makeDriver: @escaping @Sendable () -> Driver) {
        self.periodic = periodic
        self.inbox = inbox
        self.bus = bus
        self.devices = devices
        self.sink = sink
        self.clock = clock
        self.logger = logger.on(bus: bus)
        self.startMessage = startMessage
        self.makeDriver = makeDriver
    }

    public func run() async throws {
        guard !devices.isEmpty else {
            inbox?.close()
            return
        }
        let devices = self.devices, periodic = self.periodic, sink = self.sink, clock = self.clock, logger = self.logger, makeDriver = self.makeDriver
        let loop = BusLoop(name: "fl-\(bus.name)", devices: devices.map { .init(name: $0.name, interval: $0.interval, firstAfter: periodic ? $0.interval : .zero) },
                           logger: logger,
                           makeResource: { BusOwner(driver: makeDriver(), devices: devices, sink: sink, clock: clock, logger: logger) },
                           idle: { available, owner in owner.idle(for: available) },
                           inbox: inbox, serve: { job, owner in job.reply(owner.write(job.request)) },
                           wedgeAfter: Self.testWedge("fl-\(bus.name)")) { index, owner in
            owner.scheduledPoll(index)
        }
        logger.info("\(startMessage)")
        await loop.runUntilShutdown()
    }

    /// TEST ONLY: `FIELDLINK_TEST_WEDGE_BUS=<thread name>:<seconds>` (the thread name is `fl-<bus>`)
    /// makes that bus loop stop polling and stop beating after `seconds`, as a thread stuck inside a
    /// driver call would, until it is stopped. The integration tests use it to check that the
    /// systemd watchdog pings stop; read once per start, it costs a poll nothing.
    private static func testWedge(_ name: String) -> Duration? {
        guard let value = ProcessInfo.processInfo.environment["FIELDLINK_TEST_WEDGE_BUS"] else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, parts[0] == name, let seconds = Double(parts[1]) else { return nil }
        return .milliseconds(Int64(seconds * 1_000))
    }
}

/// Where a commissioning probe's readings would go: nowhere (it returns its one reading).
public struct DiscardingSink: ReadingSink {
    public init() {}
    public func deliver(_ reading: Reading) {}
    public func healthChanged(_ health: DeviceHealth) {}
}

extension BusDriver {
    /// `fieldlink probe --device`: one reading of `device` on a driver made for it alone, converted
    /// as the running gateway would. Blocking; for the CLI, never while a gateway owns the bus.
    /// The driver must have been made for `device` alone (its index 0).
    public func commissioningReading(of device: DeviceConfig, logger: Logger) -> Reading {
        BusOwner(driver: self, devices: [device], sink: DiscardingSink(), logger: logger).commission(0)
    }

    /// `fieldlink write`: one command on a driver made for it alone, with every check the running
    /// gateway makes, then the read-back. Blocking; for the CLI, never while a gateway owns the bus.
    public func commissioningWrite(_ request: WriteRequest, to device: DeviceConfig, logger: Logger) -> [PointWriteResult] {
        BusOwner(driver: self, devices: [device], sink: DiscardingSink(), logger: logger).write(request)
    }
}
