import FieldlinkCore
import Logging
import ServiceLifecycle

public struct ModbusRTUBusOptions: BusOptions {
    public var port: String
    public var physicalResource: String? { port }
    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int
    public var timeout: Duration

    public var description: String {
        "\(port) \(baud) \(dataBits)\(parity.rawValue.prefix(1).uppercased())\(stopBits), timeout \(timeout.configText)"
    }
}

public struct ModbusDeviceOptions: DeviceOptions {
    /// The slave id on the line.
    public var unit: Int
    /// Overrides the bus's response timeout for a slow device.
    public var timeout: Duration?

    public var description: String { "unit \(unit)" }
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

    public var layout: RegisterLayout { RegisterLayout(type: type, order: order, bit: bit, length: length) }

    public var span: ReadPlan.Span {
        ReadPlan.Span(table: table, address: address, count: table.holdsBits ? 1 : layout.registerCount)
    }

    public var valueKind: ValueKind? { type.valueKind }

    public var description: String {
        var text = "\(table) \(address) \(type)"
        if type.hasLength { text += "[\(length)]" }
        if let bit { text += " bit \(bit)" }
        if type == .string ? order != .abcd : layout.registerCount > 1 && type != .raw { text += " \(order.rawValue)" }
        return text
    }
}

/// Modbus RTU: its config keys, its decoding and its bus owner.
public struct ModbusFamily: DriverFamily {
    public init() {}

    public var busTypes: [String] { ["modbus-rtu"] }

    public static let bauds = [1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600]

    public func readBus(type: String, _ map: inout ConfigMapping) -> (any BusOptions)? {
        let port = map.required("port")?.filePath()
        let baudValue = map.optional("baud")
        var baud = 19_200
        if let baudValue, let value = baudValue.int(in: 50...4_000_000) {
            if Self.bauds.contains(value) {
                baud = value
            } else {
                baudValue.report("unsupported baud rate \(value) (expected one of \(Self.bauds.map(String.init).joined(separator: ", ")))")
            }
        }
        let parity = map.optional("parity").flatMap { $0.oneOf(Parity.self) } ?? .even
        let dataBits = map.optional("data_bits").flatMap { $0.int(in: 5...8) } ?? 8
        let stopBits = map.optional("stop_bits").flatMap { $0.int(in: 1...2) } ?? 1
        let timeout = map.optional("timeout").flatMap { $0.duration() } ?? .milliseconds(500)
        guard let port else { return nil }
        return ModbusRTUBusOptions(port: port, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits, timeout: timeout)
    }

    public func readDevice(_ map: inout ConfigMapping, on bus: BusConfig) -> (any DeviceOptions)? {
        let unit = map.required("unit")?.int(in: 1...247)
        let timeout = map.optional("timeout")?.duration()
        guard let unit else { return nil }
        return ModbusDeviceOptions(unit: unit, timeout: timeout)
    }

    public func readPoint(_ map: inout ConfigMapping, on bus: BusConfig) -> (any PointOptions)? {
        let table = map.optional("table").flatMap { $0.oneOf(ModbusTable.self) } ?? .holding
        let addressValue = map.required("address")
        let address = addressValue?.int(in: 0...ModbusLimits.maxAddress)
        let bitValue = map.optional("bit")
        let bit = bitValue?.int(in: 0...15)
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
        guard let address else { return nil }
        return ModbusPointOptions(table: table, address: address, type: type, order: order, bit: bit, length: length)
    }

    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) -> any Service {
        ModbusBusService(bus: bus, devices: devices, sink: sink, logger: logger)
    }

    public func pollOnce(bus: BusConfig, device: DeviceConfig, logger: Logger) -> Reading {
        let options = bus.options as! ModbusRTUBusOptions
        let polled = PolledDevice(config: device, busTimeout: options.timeout)
        return ModbusLine(options: options, devices: [polled], logger: logger).poll(polled)
    }
}
