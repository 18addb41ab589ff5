import FieldlinkCore
@testable import FieldlinkModbus
import Testing

/// The Modbus family's own types; its config keys are tested through the loader in FieldlinkCoreTests.
@Suite struct ModbusFamilyTests {
    @Test func servesModbusRTUAndTCP() {
        #expect(ModbusFamily().busTypes == ["modbus-rtu", "modbus-tcp"])
    }

    @Test(arguments: [("abcd", WordOrder.abcd), ("CDAB", .cdab), ("BaDc", .badc), ("dcba", .dcba)])
    func wordOrdersAcceptAnyCase(name: String, order: WordOrder) {
        #expect(WordOrder(configName: name) == order)
    }

    @Test(arguments: ["", "ABDC", "AB", "big", "ABCDEFGH"])
    func unknownWordOrdersAreRejected(name: String) {
        #expect(WordOrder(configName: name) == nil)
    }

    @Test(arguments: [
        (ModbusTable.holding, false), (.input, false), (.coil, true), (.discrete, true),
    ])
    func onlyCoilsAndDiscreteInputsHoldBits(table: ModbusTable, bits: Bool) {
        #expect(table.holdsBits == bits)
    }

    @Test(arguments: [
        (ModbusTable.holding, ModbusDataType.float64, 4), (.input, .int32, 2), (.holding, .uint16, 1), (.coil, .bool, 1), (.discrete, .bool, 1),
    ])
    func aPointSpansItsRegisters(table: ModbusTable, type: ModbusDataType, count: Int) {
        let options = ModbusPointOptions(table: table, address: 40, type: type, order: .cdab)
        #expect(options.span.table == table)
        #expect(options.span.address == 40)
        #expect(options.span.count == count)
    }

    @Test func descriptionsSaySettingsAtAGlance() {
        #expect(ModbusPointOptions(table: .holding, address: 2, type: .float32, order: .cdab).description == "holding 2 float32 CDAB")
        #expect(ModbusPointOptions(table: .input, address: 7, type: .int16, order: .cdab).description == "input 7 int16")
        #expect(ModbusDeviceOptions(unit: 17, timeout: nil).description == "unit 17")
        let bus = ModbusRTUBusOptions(port: "/dev/ttyUSB0", baud: 9_600, parity: .even, dataBits: 8, stopBits: 1, timeout: .milliseconds(300))
        #expect(bus.description == "/dev/ttyUSB0 9600 8E1, timeout 300ms")
    }

    @Test func protocolLimits() {
        #expect(ModbusLimits.maxRegistersPerRead == 125)
        #expect(ModbusLimits.maxBitsPerRead == 2_000)
        #expect(ModbusLimits.maxAddress == 65_535)
    }
}
