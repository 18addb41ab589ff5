import FieldlinkCore
import Logging
import ServiceLifecycle

/// What every Modbus bus sets for its devices, whatever carries its frames: the defaults a device may
/// override, and when a silent device is backed off.
public struct ModbusBusDefaults: Sendable, Hashable {
    /// How long to wait for an answer (libmodbus's own default, 500 ms; some inverters need more).
    public var timeout = ModbusBusDefaults.defaultTimeout
    /// Extra attempts of a request after a timeout or a damaged answer (an exception is an answer: never retried).
    public var retries = ModbusBusDefaults.defaultRetries
    /// Quiet time on the line before each request, counted from the end of the previous transaction:
    /// for RS-485 adapters and slaves that need time to switch direction between slaves.
    public var delayBeforeRequest = ModbusBusDefaults.defaultDelayBeforeRequest
    /// Consecutive polls without an answer before a device is backed off.
    public var backoffAfter = ModbusBusDefaults.defaultBackoffAfter
    /// The longest a backed-off device waits between two probes.
    public var backoffMax = ModbusBusDefaults.defaultBackoffMax

    public init() {}

    public static let defaultTimeout = Duration.milliseconds(500)
    public static let defaultRetries = 0
    /// More retries only hold the line longer for a device that is gone; a bus's and a device's.
    public static let retriesRange = 0...10
    public static let defaultDelayBeforeRequest = Duration.zero
    public static let defaultBackoffAfter = 3
    public static let backoffAfterRange = 1...1_000
    public static let defaultBackoffMax = Duration.seconds(60)
    public static let minimumBackoffMax = Duration.milliseconds(100)

    var description: String {
        var parts = ["timeout \(timeout.configText)"]
        if retries > 0 { parts.append("\(retries) retr\(retries == 1 ? "y" : "ies")") }
        if delayBeforeRequest > .zero { parts.append("\(delayBeforeRequest.configText) before each request") }
        return parts.joined(separator: ", ")
    }
}

/// A Modbus bus, serial or TCP: one owner thread runs every transaction on it.
public protocol ModbusBusOptions: BusOptions {
    var defaults: ModbusBusDefaults { get }
    /// The quiet time the protocol itself demands between two frames (3.5 characters on RTU; none on TCP).
    var interFrameSilence: Duration { get }
    /// How long `characters` bytes take on the wire; nil where no line rate applies (TCP).
    func wireTime(characters: Int) -> Duration?
    /// A fresh, unopened libmodbus context for this bus.
    func makeConnection() throws(ModbusError) -> ModbusConnection
    /// After `connect`: RS-485 mode and RTS, which a port may refuse.
    func configure(_ connection: ModbusConnection) throws(ModbusError)
    /// Where it is, for messages (`/dev/ttyUSB0`, `10.0.0.5:502`).
    var endpoint: String { get }
}

/// Modbus RTU on a serial line (RS-485, RS-232).
public struct ModbusRTUBusOptions: ModbusBusOptions {
    public var port: String
    public var physicalResource: String? { port }
    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int
    /// The kernel drives the transmitter (TIOCSRS485) instead of the adapter or RTS.
    public var rs485 = false
    public var rts = RTSMode.none
    /// Delay around RTS switching, for `rts: up|down`; nil keeps libmodbus's (one character time).
    public var rtsDelay: Duration?
    public var defaults = ModbusBusDefaults()

    public init(port: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int, timeout: Duration) {
        self.port = port
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.defaults.timeout = timeout
    }

    public var timeout: Duration { defaults.timeout }
    public var endpoint: String { port }

    /// Bits per character on the wire; the Modbus serial line specification (2.5.1) frames every
    /// RTU character in 11 bits (start, 8 data, parity or a second stop bit, stop), and so do we.
    public static let bitsPerCharacter = 11

    /// 3.5 character times, and a fixed 1.75 ms above 19200 baud (Modbus over serial line 2.5.1.1).
    public var interFrameSilence: Duration {
        baud > 19_200 ? .microseconds(1_750) : .nanoseconds(Int64(3.5 * Double(Self.bitsPerCharacter) / Double(baud) * 1e9))
    }

    public func wireTime(characters: Int) -> Duration? {
        .nanoseconds(Int64(Double(characters * Self.bitsPerCharacter) / Double(baud) * 1e9))
    }

    public func makeConnection() throws(ModbusError) -> ModbusConnection {
        try ModbusConnection(rtuPort: port, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits)
    }

    public func configure(_ connection: ModbusConnection) throws(ModbusError) {
        if rs485 {
            do {
                try connection.enableRS485()
            } catch {
                throw ModbusError(code: .port, detail: "\(port) refuses RS-485 mode (TIOCSRS485: \(error.detail.replacingLiterally("RS-485 mode (TIOCSRS485): ", with: ""))); its driver has no kernel RS-485 support: remove rs485: true (most USB adapters switch direction by themselves) or use rts: up")
            }
        }
        if rts != .none || rtsDelay != nil {
            try connection.setRTS(rts, delay: rtsDelay)
        }
    }

    public var description: String {
        var text = "\(port) \(baud) \(dataBits)\(parity.rawValue.prefix(1).uppercased())\(stopBits), \(defaults.description)"
        if rs485 { text += ", kernel RS-485" }
        if rts != .none { text += ", RTS \(rts.rawValue)" }
        return text
    }
}

/// Modbus TCP (MBAP framing) to a device or a TCP-to-RTU gateway.
public struct ModbusTCPBusOptions: ModbusBusOptions {
    public var host: String
    public var port: Int
    public var defaults = ModbusBusDefaults()

    public init(host: String, port: Int = ModbusFamily.defaultTCPPort) {
        self.host = host
        self.port = port
    }

    public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var interFrameSilence: Duration { .zero }
    public func wireTime(characters: Int) -> Duration? { nil }

    public func makeConnection() throws(ModbusError) -> ModbusConnection {
        try ModbusConnection(tcpHost: host, port: port)
    }

    public func configure(_ connection: ModbusConnection) throws(ModbusError) {}

    public var description: String { "\(endpoint), \(defaults.description)" }
}

public struct ModbusDeviceOptions: DeviceOptions {
    /// The slave id on the line (the unit identifier on TCP).
    public var unit: Int
    /// Overrides the bus's response timeout for a slow device.
    public var timeout: Duration?
    /// Overrides the bus's `retries`.
    public var retries: Int?
    /// Overrides the bus's `delay_before_request`.
    public var delayBeforeRequest: Duration?
    /// Registers (or bits) read but unused to bridge a gap between two points in one request.
    public var maxGap = ModbusDeviceOptions.defaultMaxGap
    /// False for devices that reject any read touching an undefined register: one request per point.
    public var merge = ModbusDeviceOptions.defaultMerge

    /// A separate request costs at least 13 bytes plus two 3.5-character silences (about 20 character
    /// times); each bridged register costs 2. Up to 8 bridged registers is cheaper, with margin.
    public static let defaultMaxGap = 8
    public static let defaultMerge = true

    public init(unit: Int, timeout: Duration?) {
        self.unit = unit
        self.timeout = timeout
    }

    public var description: String {
        var parts = ["unit \(unit)"]
        if let timeout { parts.append("timeout \(timeout.configText)") }
        if let retries { parts.append("\(retries) retr\(retries == 1 ? "y" : "ies")") }
        if let delayBeforeRequest { parts.append("\(delayBeforeRequest.configText) before each request") }
        if !merge { parts.append("no merged reads") } else if maxGap != Self.defaultMaxGap { parts.append("max gap \(maxGap)") }
        return parts.joined(separator: ", ")
    }
}

public struct ModbusPointOptions: PointOptions {
    public var table: ModbusTable
    /// Zero-based protocol address, as on the wire.
    public var address: Int
    public var type: ModbusDataType
    public var order: WordOrder
    /// A bool from one bit (0 = least significant) of a holding or input register.
    public var bit: Int? = nil
    /// Registers of a `string` or `raw` point.
    public var length: Int = 1
    /// `write_function` (5, 6, 15 or 16) for a writable point; nil picks one that fits.
    public var writeFunction: Int? = nil

    public var layout: RegisterLayout { RegisterLayout(type: type, order: order, bit: bit, length: length) }

    public var span: ReadPlan.Span {
        ReadPlan.Span(table: table, address: address, count: table.holdsBits ? 1 : layout.registerCount)
    }

    public var valueKind: ValueKind? { type.valueKind }

    public var writeRefusal: String? {
        switch table {
        case .input, .discrete: "\(table == .input ? "an input register" : "a discrete input") is read-only; only holding registers and coils can be written"
        case _ where type == .raw: "a raw point shows registers for exploring; give it a type to write it"
        default: nil
        }
    }

    public var description: String {
        var text = "\(table) \(address) \(type)"
        if type.hasLength { text += "[\(length)]" }
        if let bit { text += " bit \(bit)" }
        if type == .string ? order != .abcd : layout.registerCount > 1 && type != .raw { text += " \(order.rawValue)" }
        return text
    }
}

/// Modbus RTU and TCP: their config keys, their decoding and their bus owner.
public struct ModbusFamily: DriverFamily {
    public init() {}

    /// `modbus-rtu-over-tcp` (RTU frames through a TCP socket) is not offered: libmodbus 3.1.6 has no
    /// backend for it (its RTU backend needs a tty, its TCP backend speaks MBAP only).
    public var busTypes: [String] { ["modbus-rtu", "modbus-tcp"] }

    /// Modbus over serial line 2.5.1: 19200 baud, even parity, 8 data bits, 1 stop bit unless given.
    public static let defaultBaud = 19_200
    public static let defaultParity = Parity.even
    public static let defaultDataBits = 8
    public static let dataBitsRange = 5...8
    public static let defaultStopBits = 1
    public static let stopBitsRange = 1...2
    /// The registered Modbus/TCP port.
    public static let defaultTCPPort = 502
    public static let rtuUnitRange = 1...247
    /// On TCP 0 and 255 are valid too (many devices ignore the unit there).
    public static let tcpUnitRange = 0...255
    /// What devices and TCP-to-RTU gateways answer most often.
    public static let defaultTCPUnit = 1
    public static let bitRange = 0...15

    public static let bauds = [1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600]

    public func readBus(type: String, _ map: inout ConfigMapping) -> (any BusOptions)? {
        type == "modbus-tcp" ? readTCPBus(&map) : readRTUBus(&map)
    }

    private func readRTUBus(_ map: inout ConfigMapping) -> ModbusRTUBusOptions? {
        let port = map.required("port")?.filePath()
        let baudValue = map.optional("baud")
        var baud = Self.defaultBaud
        if let baudValue, let value = baudValue.int(in: 50...4_000_000) {
            if Self.bauds.contains(value) {
                baud = value
            } else {
                baudValue.report("unsupported baud rate \(value) (expected one of \(Self.bauds.map(String.init).joined(separator: ", ")))")
            }
        }
        let parity = map.optional("parity").flatMap { $0.oneOf(Parity.self) } ?? Self.defaultParity
        let dataBits = map.optional("data_bits").flatMap { $0.int(in: Self.dataBitsRange) } ?? Self.defaultDataBits
        let stopBits = map.optional("stop_bits").flatMap { $0.int(in: Self.stopBitsRange) } ?? Self.defaultStopBits
        let defaults = readBusDefaults(&map)
        let rs485 = map.optional("rs485")?.bool() ?? false
        let rts = map.optional("rts").flatMap { $0.oneOf(RTSMode.self) } ?? .none
        let rtsDelayValue = map.optional("rts_delay")
        let rtsDelay = rtsDelayValue?.duration(minimum: .zero)
        if rts == .none, let rtsDelayValue {
            rtsDelayValue.report("rts_delay needs rts: up or rts: down")
        }
        guard let port else { return nil }
        var options = ModbusRTUBusOptions(port: port, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits, timeout: defaults.timeout)
        options.defaults = defaults
        options.rs485 = rs485
        options.rts = rts
        options.rtsDelay = rtsDelay
        return options
    }

    private func readTCPBus(_ map: inout ConfigMapping) -> ModbusTCPBusOptions? {
        let host = map.required("host")?.nonEmptyString()
        let port = map.optional("port").flatMap { $0.int(in: BrokerEndpoint.portRange) } ?? Self.defaultTCPPort
        let defaults = readBusDefaults(&map)
        guard let host else { return nil }
        var options = ModbusTCPBusOptions(host: host, port: port)
        options.defaults = defaults
        return options
    }

    /// The keys every Modbus bus has: device defaults and the dead-slave policy.
    private func readBusDefaults(_ map: inout ConfigMapping) -> ModbusBusDefaults {
        var defaults = ModbusBusDefaults()
        if let timeout = map.optional("timeout")?.duration() { defaults.timeout = timeout }
        if let retries = map.optional("retries")?.int(in: ModbusBusDefaults.retriesRange) { defaults.retries = retries }
        if let delay = map.optional("delay_before_request")?.duration(minimum: .zero) { defaults.delayBeforeRequest = delay }
        if let after = map.optional("backoff_after")?.int(in: ModbusBusDefaults.backoffAfterRange) { defaults.backoffAfter = after }
        if let most = map.optional("backoff_max")?.duration(minimum: ModbusBusDefaults.minimumBackoffMax) { defaults.backoffMax = most }
        return defaults
    }

    public func readDevice(_ map: inout ConfigMapping, on bus: BusConfig) -> DeviceEntry<ModbusDeviceOptions, Void> {
        let isTCP = bus.options is ModbusTCPBusOptions
        // On TCP the unit identifier is often ignored by the device itself, but a TCP-to-RTU gateway
        // routes by it; 1 is what devices and gateways answer most often (write 255 for the spec's "none").
        let unitValue = isTCP ? map.optional("unit") : map.required("unit")
        let unit = isTCP ? (unitValue?.int(in: Self.tcpUnitRange) ?? Self.defaultTCPUnit) : unitValue?.int(in: Self.rtuUnitRange)
        let timeout = map.optional("timeout")?.duration()
        let retries = map.optional("retries")?.int(in: ModbusBusDefaults.retriesRange)
        let delay = map.optional("delay_before_request")?.duration(minimum: .zero)
        let maxGap = map.optional("max_gap")?.int(in: 0...ModbusLimits.maxRegistersPerRead)
        let merge = map.optional("merge")?.bool()
        guard let unit else { return DeviceEntry(options: nil) }
        var options = ModbusDeviceOptions(unit: unit, timeout: timeout)
        options.retries = retries
        options.delayBeforeRequest = delay
        if let maxGap { options.maxGap = maxGap }
        if let merge { options.merge = merge }
        return DeviceEntry(options: options)
    }

    public func readPoint(_ map: inout ConfigMapping, of device: DeviceEntry<ModbusDeviceOptions, Void>, on bus: BusConfig) -> (any PointOptions)? {
        let table = map.optional("table").flatMap { $0.oneOf(ModbusTable.self) } ?? .holding
        let addressValue = map.required("address")
        let address = addressValue?.int(in: 0...ModbusLimits.maxAddress)
        let bitValue = map.optional("bit")
        let bit = bitValue?.int(in: Self.bitRange)
        let typeValue = map.optional("type")
        let type = typeValue.flatMap { $0.oneOf(ModbusDataType.self) } ?? (table.holdsBits || bitValue != nil ? .bool : .uint16)
        let orderValue = map.optional("order")
        let order = orderValue.flatMap { value -> WordOrder? in
            guard let text = value.string() else { return nil }
            if let order = WordOrder(configName: text) { return order }
            let aliases = WordOrder.aliases.map(\.key).joined(separator: ", ")
            return value.fail("unknown order \"\(text)\" (expected one of \(WordOrder.allCases.map(\.rawValue).joined(separator: ", ")), or an alias: \(aliases))")
        } ?? .abcd
        let lengthValue = map.optional("length")
        let length = lengthValue?.int(in: 1...ModbusLimits.maxRegistersPerRead) ?? 1
        if table.holdsBits, type != .bool, let typeValue {
            typeValue.report("a \(table) point is a single bit: its type must be bool, not \(type)")
        }
        if let bitValue {
            if table.holdsBits {
                bitValue.report("bit picks a bit of a register; a \(table) point is a single bit already")
            } else if type != .bool {
                bitValue.report("bit makes a bool from one bit of the register; this point's type is \(type)")
            }
        }
        if type == .string, lengthValue == nil, let typeValue {
            typeValue.report("a string needs its length in registers (length: N, two characters each)")
        }
        if let lengthValue, !type.hasLength { lengthValue.report("length is for string and raw points; a \(type) has a fixed size") }
        if let orderValue, type == .string, order.swapsWords {
            orderValue.report("a string's registers are read in order: use ABCD (high byte first) or BADC (low byte first)")
        }
        if let orderValue, type == .raw { orderValue.report("raw shows the registers as they arrive; it takes no order") }
        if !type.isNumeric {
            for key in ["scale", "offset", "precision"] {
                map.optional(key)?.report("\(key) is for numbers; this point's type is \(type)")
            }
        }
        if let labels = map.optional("map"), !type.isInteger, type != .bool {
            labels.report("map labels integer values; this point's type is \(type)")
        }
        let layout = RegisterLayout(type: type, order: order, bit: bit, length: length)
        if let address, !table.holdsBits, address + layout.registerCount - 1 > ModbusLimits.maxAddress, let addressValue {
            addressValue.report("\(type) at \(address) runs past the last register address \(ModbusLimits.maxAddress)")
        }
        // A bad type or order was reported above; the defaults stand in so the rest can still be checked.
        let writeFunction = readWriteFunction(&map, table: table, layout: layout)
        guard let address else { return nil }
        var options = ModbusPointOptions(table: table, address: address, type: type, order: order, bit: bit, length: length)
        options.writeFunction = writeFunction
        return options
    }

    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) -> any Service {
        makeBusService(bus: bus, devices: devices, sink: sink, inbox: nil, logger: logger)
    }

    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox, logger: Logger) -> any Service {
        makeBusService(bus: bus, devices: devices, sink: sink, inbox: Optional(inbox), logger: logger)
    }

    private func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox?, logger: Logger) -> any Service {
        let options = bus.options as! any ModbusBusOptions
        let polled = devices.map { PolledDevice(config: $0, bus: options) }
        let busLogger = logger.on(bus: bus)
        return BusService(bus: bus, devices: devices, sink: sink, logger: logger,
                          startMessage: "polling \(devices.count) device(s) on \(options.description)", inbox: inbox) {
            ModbusDriver(options: options, devices: polled, logger: busLogger)
        }
    }

    public func pollOnce(bus: BusConfig, device: DeviceConfig, logger: Logger) -> Reading {
        let options = bus.options as! any ModbusBusOptions
        let driver = ModbusDriver(options: options, devices: [PolledDevice(config: device, bus: options)], logger: logger)
        defer { driver.close() }
        return driver.commissioningReading(of: device, logger: logger)
    }
}
