import FieldlinkCore
import Logging
import ServiceLifecycle

/// An I2C bus is one kernel adapter: everything on it shares one owner thread.
public struct I2CBusOptions: BusOptions {
    /// The adapter's character device, `/dev/i2c-1` on a Raspberry Pi's header.
    public var device: String

    public var description: String { device }
    public var physicalResource: String? { device }
    public var physicalResourceKey: String { "device" }
}

/// A chip on the bus: which datasheet procedure reads it, and where it answers.
public struct I2CDeviceOptions: DeviceOptions {
    public var driver: I2CDriverKind
    public var address: UInt8
    /// ADS1115 full-scale range in volts (its PGA setting).
    public var gain: Double?

    public var description: String {
        "\(driver.rawValue) at \(hex(address))" + (gain.map { ", ±\($0) V" } ?? "")
    }
}

/// Where a point's value comes from: one of the driver's quantities, or (`registers`) a register.
public enum I2CPointSource: Sendable, Hashable {
    case quantity(String)
    case register(address: UInt8, type: I2CRegisterType, order: I2CByteOrder)
}

/// A point is one of its driver's quantities under the name the user chose, so the payload keeps
/// the user's names whatever the chip calls things.
public struct I2CPointOptions: PointOptions {
    public var source: I2CPointSource
    /// The driver's unit for the quantity (°C, %RH, Pa, lx, V), the point's unless its entry names one.
    public var unit: String? = nil

    public var defaultUnit: String? { unit }

    /// Only the `registers` driver's registers can be written; a sensor's quantities are measured.
    public var writeRefusal: String? {
        if case .quantity = source { return "a sensor's measurements are read-only; only the registers driver writes (its registers)" }
        return nil
    }

    public var writeKind: ValueKind? {
        if case .register(_, let type, _) = source { return type.valueKind }
        return nil
    }

    public var description: String {
        switch source {
        case .quantity(let name): name
        case .register(let address, let type, let order): "register \(hex(address)) \(type.rawValue)" + (type.size > 1 ? " \(order.rawValue)" : "")
        }
    }
}

/// I2C sensors through the kernel's i2c-dev: its config keys, its drivers and its bus owner.
public struct I2CFamily: DriverFamily {
    public init() {}

    public var busTypes: [String] { ["i2c"] }

    public func readBus(type: String, _ map: inout ConfigMapping) -> (any BusOptions)? {
        guard let device = map.required("device")?.filePath() else { return nil }
        return I2CBusOptions(device: device)
    }

    public func readDevice(_ map: inout ConfigMapping, on bus: BusConfig) -> DeviceEntry<I2CDeviceOptions, I2CDriverKind?> {
        let driverValue = map.required("driver")
        let driver = driverValue?.oneOf(I2CDriverKind.self)
        let addressValue = map.optional("address")
        // 7-bit addresses; 0x00-0x07 and 0x78-0x7F are reserved (I2C-bus specification UM10204, 3.1.12).
        var address = addressValue?.int(in: 0x08...0x77).map(UInt8.init)
        if addressValue == nil, let driver {
            address = driver.defaultAddress
            if address == nil, let driverValue { driverValue.report("the registers driver needs an address") }
        }
        let gainValue = map.optional("gain")
        var gain: Double?
        if let gainValue, let value = gainValue.double() {
            if driver != .ads1115 {
                gainValue.report("gain is an ads1115 setting")
            } else if !ADS1115.fullScaleRanges.contains(value) {
                gainValue.report("unsupported gain \(value) (expected one of \(ADS1115.fullScaleRanges.map { "\($0)" }.joined(separator: ", ")) volts full scale)")
            } else {
                gain = value
            }
        }
        if driver == .ads1115, gain == nil { gain = 2.048 }
        // The points are checked against the driver even when the address is wrong.
        guard let driver, let address else { return DeviceEntry(options: nil, context: driver) }
        return DeviceEntry(options: I2CDeviceOptions(driver: driver, address: address, gain: gain), context: driver)
    }

    /// A point reads what its chip's driver (`device.context`) offers: a registers chip's points name
    /// registers, every other chip's points one of the driver's quantities (by default the point's name).
    public func readPoint(_ map: inout ConfigMapping, of device: DeviceEntry<I2CDeviceOptions, I2CDriverKind?>,
                          on bus: BusConfig) -> (any PointOptions)? {
        let nameValue = map.optional("name")
        let measure = map.optional("measure")
        let registerValue = map.optional("register")
        let typeValue = map.optional("type")
        let orderValue = map.optional("order")
        let quantity = registerValue == nil ? (measure ?? nameValue)?.string() : nil
        if let driver = device.context {
            if driver == .registers {
                if registerValue == nil {
                    map.report("missing required key \"register\" (a registers point names its register)")
                }
                measure?.report("a registers point has no measure (it reads the register it names)")
            } else {
                let registerKeys = [(registerValue, "register"), (typeValue, "type"), (orderValue, "order")].compactMap { value, key in value.map { ($0, key) } }
                for (value, key) in registerKeys {
                    value.report("\(key) is a registers-driver key; a \(driver.rawValue) point takes measure")
                }
                let known = driver.quantities.map(\.name)
                if registerKeys.isEmpty, let quantity, !known.contains(quantity), let at = measure ?? nameValue {
                    at.report("\(driver.rawValue) measures \(known.joined(separator: ", ")), not \"\(quantity)\""
                              + (measure == nil ? " (name the quantity with measure: to give the point another name)" : ""))
                }
            }
        }
        if let registerValue {
            let register = registerValue.int(in: 0...0xFF).map(UInt8.init)
            let type = typeValue.flatMap { $0.oneOf(I2CRegisterType.self) } ?? .uint16
            let order = orderValue.flatMap { $0.oneOf(I2CByteOrder.self) } ?? .big
            if let register, Int(register) + type.size > 0x100 {
                registerValue.report("\(type.rawValue) at \(hex(register)) runs past the last register 0xff")
            }
            guard let register else { return nil }
            return I2CPointOptions(source: .register(address: register, type: type, order: order))
        }
        guard let quantity else { return nil }
        let unit = device.context?.quantities.first { $0.name == quantity }?.unit
        return I2CPointOptions(source: .quantity(quantity), unit: unit)
    }

    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) -> any Service {
        makeService(bus: bus, devices: devices, sink: sink, inbox: nil, logger: logger)
    }

    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox, logger: Logger) -> any Service {
        makeService(bus: bus, devices: devices, sink: sink, inbox: inbox, logger: logger)
    }

    private func makeService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox?, logger: Logger) -> any Service {
        let path = (bus.options as! I2CBusOptions).device
        return BusService(bus: bus, devices: devices, sink: sink, logger: logger,
                          startMessage: "polling \(devices.count) device(s) on \(path)", inbox: inbox) {
            I2CDriver(device: path, devices: devices)
        }
    }

    public func writeOnce(bus: BusConfig, device: DeviceConfig, request: WriteRequest, logger: Logger) -> [PointWriteResult] {
        I2CDriver(device: (bus.options as! I2CBusOptions).device, devices: [device]).commissioningWrite(request, to: device, logger: logger)
    }

    public func pollOnce(bus: BusConfig, device: DeviceConfig, logger: Logger) -> Reading {
        let options = bus.options as! I2CBusOptions
        return I2CDriver(device: options.device, devices: [device]).commissioningReading(of: device, logger: logger)
    }
}
