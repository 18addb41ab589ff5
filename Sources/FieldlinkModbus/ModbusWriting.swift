import FieldlinkCore
import Logging

/// The Modbus write functions (Modbus Application Protocol v1.1b3, 6.5, 6.6, 6.11, 6.12).
public enum ModbusWriteFunction: Int, Sendable, CaseIterable {
    case singleCoil = 5
    case singleRegister = 6
    case multipleCoils = 15
    case multipleRegisters = 16
}

extension ModbusFamily {
    /// `write_function:` 5|15 for a coil, 6|16 for a holding register (6 only where the point is one
    /// register); only beside `writable: true`.
    func readWriteFunction(_ map: inout ConfigMapping, table: ModbusTable, layout: RegisterLayout) -> Int? {
        guard let value = map.optional("write_function"), let number = value.int(in: 1...127) else { return nil }
        if map.peek("writable") != "true" {
            value.report("write_function says how a command is written: it needs writable: true on the point")
        }
        switch table {
        case .coil where number == 5 || number == 15: return number
        case .coil: value.report("a coil is written with function 5 (one coil) or 15 (several coils), not \(number)")
        case .holding where number == 16: return number
        case .holding where number == 6:
            if layout.registerCount > 1 {
                value.report("function 6 writes one register; a \(layout.type) takes \(layout.registerCount): use 16")
            }
            return number
        case .holding: value.report("a holding register is written with function 6 (one register) or 16 (several registers), not \(number)")
        case .input, .discrete: value.report("a \(table) point is read-only: it has no write function")
        }
        return nil
    }

    public func writeOnce(bus: BusConfig, device: DeviceConfig, request: WriteRequest, logger: Logger) -> [PointWriteResult] {
        let options = bus.options as! any ModbusBusOptions
        let driver = ModbusDriver(options: options, devices: [PolledDevice(config: device, bus: options)], logger: logger)
        defer { driver.close() }
        return driver.commissioningWrite(request, to: device, logger: logger)
    }
}
