import Logging
import ServiceLifecycle

/// Where a driver hands its readings; the pipeline behind it numbers, encodes and queues them.
public protocol ReadingSink: Sendable {
    func deliver(_ reading: Reading)
    /// A device went from ok to failing or back (called once per change, not per poll).
    func healthChanged(_ health: DeviceHealth)
}

/// A family of drivers (Modbus, serial, I2C): reads its own config keys and runs its buses.
///
/// The config loader knows only the keys every bus, device and point share; a family adds its own,
/// so adding a family never touches the loader.
public protocol DriverFamily: Sendable {
    /// The options this family reads from a device entry.
    associatedtype Device: DeviceOptions
    /// What a device's points are checked against beyond its options (a chip's driver, a parser),
    /// known even when the device entry has a problem, so the points' problems come in the same pass.
    associatedtype PointContext: Sendable = Void
    /// The bus `type:` values this family serves.
    var busTypes: [String] { get }
    func readBus(type: String, _ mapping: inout ConfigMapping) -> (any BusOptions)?
    func readDevice(_ mapping: inout ConfigMapping, on bus: BusConfig) -> DeviceEntry<Device, PointContext>
    /// Reads one of `device`'s points; it sees the device as already read, never its raw YAML.
    func readPoint(_ mapping: inout ConfigMapping, of device: DeviceEntry<Device, PointContext>, on bus: BusConfig) -> (any PointOptions)?
    /// The bus's single owner: every transaction on it goes through this service, one at a time.
    func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) -> any Service
    /// Commissioning (`fieldlink probe --device`): opens the bus, polls one device once, closes the bus.
    /// Blocking; for the CLI, never for a running gateway (whose bus has its single owner).
    func pollOnce(bus: BusConfig, device: DeviceConfig, logger: Logger) -> Reading
    /// The bus's owner, taking write-back commands for its devices from `inbox`. A family that
    /// does not write keeps the default, which never serves the inbox (its points refuse `writable`).
    func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox, logger: Logger) -> any Service
    /// `fieldlink write`: opens the bus, runs one command with its read-back, closes the bus.
    func writeOnce(bus: BusConfig, device: DeviceConfig, request: WriteRequest, logger: Logger) -> [PointWriteResult]
}

extension DriverFamily {
    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox, logger: Logger) -> any Service {
        inbox.close()
        return makeBusService(bus: bus, devices: devices, sink: sink, logger: logger)
    }

    public func writeOnce(bus: BusConfig, device: DeviceConfig, request: WriteRequest, logger: Logger) -> [PointWriteResult] {
        request.values.map { PointWriteResult(point: $0.point, value: $0.value, outcome: .refused("this bus family does not write")) }
    }
}

/// A device entry as its family read it, handed to the reader of each of its points.
public struct DeviceEntry<Options: DeviceOptions, Context: Sendable>: Sendable {
    /// nil when the entry has a problem (already reported).
    public var options: Options?
    /// What the points are read against; see `DriverFamily.PointContext`.
    public var context: Context

    public init(options: Options?, context: Context) {
        self.options = options
        self.context = context
    }
}

extension DeviceEntry where Context == Void {
    public init(options: Options?) {
        self.init(options: options, context: ())
    }
}

extension DriverFamily {
    /// Reads a device entry's family keys; the returned reader reads its points against them.
    /// (Opens the family's types for a loader that holds `any DriverFamily`.)
    func readDeviceWithPointReader(_ mapping: inout ConfigMapping, on bus: BusConfig)
        -> (options: (any DeviceOptions)?, readPoint: (inout ConfigMapping) -> (any PointOptions)?) {
        let entry: DeviceEntry<Device, PointContext> = readDevice(&mapping, on: bus)
        return (entry.options, { readPoint(&$0, of: entry, on: bus) })
    }
}

extension Logger {
    /// This logger with `bus=<name>` on every line (a journald field), for a bus's owner.
    public func on(bus: BusConfig) -> Logger {
        var logger = self
        logger[metadataKey: "bus"] = "\(bus.name)"
        return logger
    }
}
