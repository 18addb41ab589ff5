import FieldlinkCore
import Logging
import ServiceLifecycle

public struct ModbusRTUBusOptions: BusOptions {
    public var port: String
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

    public var span: ReadPlan.Span {
        ReadPlan.Span(table: table, address: address, count: table.holdsBits ? 1 : type.registerCount)
    }

    public var valueKind: ValueKind? { type.valueKind }

    public var description: String {
        type.registerCount > 1 ? "\(table) \(address) \(type) \(order.rawValue)" : "\(table) \(address) \(type)"
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
        let typeValue = map.optional("type")
        let type = typeValue.flatMap { $0.oneOf(ModbusDataType.self) } ?? (table.holdsBits ? .bool : .uint16)
        let orderValue = map.optional("order")
        let order = orderValue.flatMap { value -> WordOrder? in
            guard let text = value.string() else { return nil }
            if let order = WordOrder(configName: text) { return order }
            return value.fail("unknown order \"\(text)\" (expected one of \(WordOrder.allCases.map(\.rawValue).joined(separator: ", ")))")
        } ?? .abcd
        if table.holdsBits, type != .bool, let typeValue {
            typeValue.report("a \(table) point is a single bit: its type must be bool, not \(type)")
        }
        if let address, !table.holdsBits, address + type.registerCount - 1 > ModbusLimits.maxAddress, let addressValue {
            addressValue.report("\(type) at \(address) runs past the last register address \(ModbusLimits.maxAddress)")
        }
        // A bad type or order was reported above; the defaults stand in so the rest can still be checked.
        guard let address else { return nil }
        return ModbusPointOptions(table: table, address: address, type: type, order: order)
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
