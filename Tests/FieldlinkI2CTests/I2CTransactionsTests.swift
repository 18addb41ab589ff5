@testable import FieldlinkI2C
import FieldlinkCore
import Testing

/// Which transfer carries a register read or write, by what the adapter can do.
@Suite struct I2CTransactionsTests {
    static func device(_ capabilities: I2CCapabilities) -> (I2CDevice, FakeI2CBus, RegisterFileChip) {
        let chip = RegisterFileChip([0x10: [1, 2, 3, 4, 5, 6, 7, 8]])
        let bus = FakeI2CBus(capabilities: capabilities, chips: [0x50: chip])
        return (I2CDevice(bus: bus, address: 0x50), bus, chip)
    }

    @Test func plainI2CUsesOneCombinedTransaction() throws {
        let (device, bus, _) = Self.device(.fullI2C)
        #expect(try device.readRegisters(0x10, count: 8) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(bus.transfers == [.writeRead(write: [0x10], readCount: 8)])
    }

    @Test func smbusByteAndWordReads() throws {
        let (device, bus, _) = Self.device(.smbusController)
        #expect(try device.readRegisters(0x10, count: 1) == [1])
        #expect(try device.readRegisters(0x10, count: 2) == [1, 2])
        #expect(bus.transfers == [.smbusReadByteData(command: 0x10), .smbusReadWordData(command: 0x10)])
    }

    @Test func smbusI2CBlockReadWhereTheAdapterHasIt() throws {
        let (device, bus, _) = Self.device(I2CCapabilities.smbusController.union(.smbusReadI2CBlock))
        #expect(try device.readRegisters(0x10, count: 6) == [1, 2, 3, 4, 5, 6])
        #expect(bus.transfers == [.smbusReadI2CBlock(command: 0x10, count: 6)])
    }

    @Test func longReadsWithoutBlockSupportOnlyWhereTheDeviceAllowsByteReads() throws {
        let (device, bus, _) = Self.device(.smbusController)
        #expect(throws: I2CError.self) { try device.readRegisters(0x10, count: 4) }
        #expect(try device.readRegisters(0x10, count: 4, perByteFallback: true) == [1, 2, 3, 4])
        #expect(bus.transfers.filter { if case .smbusReadByteData = $0 { true } else { false } }.count == 4)
    }

    @Test func writesFallBackToSMBus() throws {
        let (device, bus, chip) = Self.device(.smbusController)
        try device.writeRegister(0x20, [0xAB])
        try device.writeRegister(0x30, [0x12, 0x34])
        try device.write([0x40])
        #expect(chip.registers[0x20] == 0xAB && chip.registers[0x30] == 0x12 && chip.registers[0x31] == 0x34)
        #expect(bus.transfers == [.smbusWriteByteData(command: 0x20, value: 0xAB), .smbusWriteWordData(command: 0x30, value: [0x12, 0x34]),
                                  .smbusWriteByte(0x40)])
        #expect(throws: I2CError.self) { try device.writeRegister(0x30, [1, 2, 3]) }
    }

    @Test func anEmptyAddressIsANamedNoDeviceError() {
        let bus = FakeI2CBus(chips: [:])
        #expect(throws: I2CError(.noDevice, "no device at 0x48 (no acknowledge)")) {
            try I2CDevice(bus: bus, address: 0x48).readRegisters(0, count: 2)
        }
    }

    @Test func capabilityBitsMatchTheKernel() {
        // i2c-piix4 reports 0x037f0000 (measured in the QEMU guest); it includes our SMBus-controller set.
        let piix4 = I2CCapabilities(rawValue: 0x037F_0000)
        #expect(piix4.isSuperset(of: .smbusController))
        #expect(!piix4.contains(.i2c) && !piix4.contains(.smbusReadI2CBlock))
    }

    @Test(arguments: [([UInt8(0x2E), 0xFB], I2CRegisterType.int16, I2CByteOrder.little, Value.int(-1_234)),
                      ([0x12, 0x34], .uint16, .big, .uint(0x1234)), ([0xFF], .int8, .big, .int(-1)),
                      ([0x00, 0x01, 0xE2, 0x40], .uint32, .big, .uint(123_456)), ([0x40, 0xE2, 0x01, 0x00], .int32, .little, .int(123_456)),
                      ([0x41, 0xAC, 0x00, 0x00], .float32, .big, .double(21.5))] as [([UInt8], I2CRegisterType, I2CByteOrder, Value)])
    func registerDecoding(bytes: [UInt8], type: I2CRegisterType, order: I2CByteOrder, value: Value) {
        #expect(I2CRegisterDecoder.decode(bytes, as: type, order: order) == value)
    }
}
