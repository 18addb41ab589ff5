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

    @Test(arguments: ["", "ABDC", "AB", "bigger", "ABCDEFGH", "swap", "little_big"])
    func unknownWordOrdersAreRejected(name: String) {
        #expect(WordOrder(configName: name) == nil)
    }

    /// The aliases users bring from other tools, each to exactly one layout, in any case and with
    /// `-`, `_` or a space between words.
    @Test(arguments: [
        ("big", WordOrder.abcd), ("Big-Endian", .abcd), ("big endian", .abcd), ("BE", .abcd), ("msw", .abcd),
        ("msw_first", .abcd), ("none", .abcd),
        ("swap_words", .cdab), ("word-swap", .cdab), ("word", .cdab), ("LSW", .cdab), ("lsw first", .cdab),
        ("little-endian word swap", .cdab), ("mixed-endian", .cdab),
        ("swap_bytes", .badc), ("byte-swap", .badc), ("byte", .badc),
        ("little", .dcba), ("little_endian", .dcba), ("le", .dcba), ("swap_all", .dcba), ("word_byte", .dcba),
    ])
    func aliasesNameOneLayoutEach(name: String, order: WordOrder) {
        #expect(WordOrder(configName: name) == order)
    }

    @Test func everyAliasIsListedOnceAndNoneShadowsALayoutName() {
        let keys = WordOrder.aliases.map(\.key)
        #expect(Set(keys).count == keys.count)
        #expect(keys.allSatisfy { WordOrder(rawValue: $0.uppercased()) == nil })
        #expect(keys.allSatisfy { $0 == $0.lowercased() && !$0.contains("-") && !$0.contains(" ") })
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

    @Test(arguments: [
        (ModbusDataType.string, 8, 8), (.raw, 3, 3), (.raw, 1, 1), (.int16, 9, 1), (.float64, 9, 4),
    ])
    func stringsAndRawSpanTheirLength(type: ModbusDataType, length: Int, count: Int) {
        #expect(ModbusPointOptions(table: .holding, address: 10, type: type, order: .abcd, length: length).span.count == count)
    }

    @Test func descriptionsSaySettingsAtAGlance() {
        #expect(ModbusPointOptions(table: .holding, address: 5, type: .string, order: .abcd, length: 8).description == "holding 5 string[8]")
        #expect(ModbusPointOptions(table: .holding, address: 5, type: .string, order: .badc, length: 8).description == "holding 5 string[8] BADC")
        #expect(ModbusPointOptions(table: .input, address: 5, type: .raw, order: .abcd, length: 3).description == "input 5 raw[3]")
        #expect(ModbusPointOptions(table: .input, address: 5, type: .bool, order: .abcd, bit: 12).description == "input 5 bool bit 12")
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
