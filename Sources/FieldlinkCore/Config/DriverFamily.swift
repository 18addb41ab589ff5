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
    /// The bus `type:` values this family serves.
    var busTypes: [String] { get }
    func readBus(type: String, _ mapping: inout ConfigMapping) -> (any BusOptions)?
    func readDevice(_ mapping: inout ConfigMapping, on bus: BusConfig) -> (any DeviceOptions)?
    func readPoint(_ mapping: inout ConfigMapping, on bus: BusConfig) -> (any PointOptions)?
    /// The bus's single owner: every transaction on it goes through this service, one at a time.
    func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) -> any Service
    /// Commissioning (`fieldlink probe --device`): opens the bus, polls one device once, closes the bus.
    /// Blocking; for the CLI, never for a running gateway (whose bus has its single owner).
    func pollOnce(bus: BusConfig, device: DeviceConfig, logger: Logger) -> Reading
}

extension Logger {
    /// This logger with `bus=<name>` on every line (a journald field), for a bus's owner.
    public func on(bus: BusConfig) -> Logger {
        var logger = self
        logger[metadataKey: "bus"] = "\(bus.name)"
        return logger
    }
}
