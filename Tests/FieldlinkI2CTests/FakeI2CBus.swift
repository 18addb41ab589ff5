@testable import FieldlinkI2C

/// A chip as the bus sees it: raw I2C messages in, bytes out. SMBus transfers reach it the way the
/// kernel's i2c-core emulates them on a plain I2C adapter (a read-word is a write of the command
/// byte, a repeated start, a two-byte read), so one model serves every transfer path.
protocol ChipModel: AnyObject {
    func write(_ bytes: [UInt8])
    func read(_ count: Int) -> [UInt8]
}

/// A fake adapter: a set of chips by address, the capabilities to advertise, and a log of the
/// transfers that reached it, so a test sees which path a driver took.
final class FakeI2CBus: I2CBus {
    var capabilities: I2CCapabilities
    var chips: [UInt8: any ChipModel]
    private(set) var log: [(address: UInt8, transfer: I2CTransfer)] = []
    private(set) var paused: [Duration] = []
    /// The next transfer to `address` fails with this (then it is cleared).
    var failNext: (address: UInt8, error: I2CError)?

    init(capabilities: I2CCapabilities = .fullI2C, chips: [UInt8: any ChipModel]) {
        self.capabilities = capabilities
        self.chips = chips
    }

    func pause(_ duration: Duration) { paused.append(duration) }

    var transfers: [I2CTransfer] { log.map(\.transfer) }

    func perform(_ transfer: I2CTransfer, address: UInt8) throws(I2CError) -> [UInt8] {
        log.append((address, transfer))
        if let failure = failNext, failure.address == address {
            failNext = nil
            throw failure.error
        }
        // As the kernel answers: EOPNOTSUPP for what the adapter lacks, before the bus is touched.
        let needed: I2CCapabilities = switch transfer {
        case .writeRead: .i2c
        case .smbusReadByte: .smbusReadByte
        case .smbusWriteByte: .smbusWriteByte
        case .smbusReadByteData: .smbusReadByteData
        case .smbusWriteByteData: .smbusWriteByteData
        case .smbusReadWordData: .smbusReadWordData
        case .smbusWriteWordData: .smbusWriteWordData
        case .smbusReadI2CBlock: .smbusReadI2CBlock
        case .smbusWriteI2CBlock: .smbusWriteI2CBlock
        }
        guard capabilities.contains(needed) else { throw I2CError(.unsupported, "fake adapter: \(transfer) not supported (EOPNOTSUPP)") }
        guard let chip = chips[address] else { throw I2CError.noDevice(at: address) }
        switch transfer {
        case .writeRead(let write, let count):
            if !write.isEmpty { chip.write(write) }
            return count > 0 ? chip.read(count) : []
        case .smbusReadByte: return chip.read(1)
        case .smbusWriteByte(let value): chip.write([value])
        case .smbusReadByteData(let command):
            chip.write([command])
            return chip.read(1)
        case .smbusWriteByteData(let command, let value): chip.write([command, value])
        case .smbusReadWordData(let command):
            chip.write([command])
            return chip.read(2)
        case .smbusWriteWordData(let command, let value): chip.write([command] + value)
        case .smbusReadI2CBlock(let command, let count):
            chip.write([command])
            return chip.read(count)
        case .smbusWriteI2CBlock(let command, let bytes): chip.write([command] + bytes)
        }
        return []
    }
}

/// A register file with an auto-incrementing pointer (an EEPROM, a BME280, a TMP102's registers as
/// bytes): the first byte written sets the pointer, the rest are stored from there.
final class RegisterFileChip: ChipModel {
    var registers = [UInt8](repeating: 0, count: 256)
    var pointer = 0
    private(set) var writes: [[UInt8]] = []

    init(_ contents: [UInt8: [UInt8]] = [:]) {
        for (start, bytes) in contents { set(start, bytes) }
    }

    func set(_ start: UInt8, _ bytes: [UInt8]) {
        for (offset, byte) in bytes.enumerated() { registers[(Int(start) + offset) & 0xFF] = byte }
    }

    func write(_ bytes: [UInt8]) {
        writes.append(bytes)
        guard let first = bytes.first else { return }
        pointer = Int(first)
        for byte in bytes.dropFirst() {
            registers[pointer] = byte
            pointer = (pointer + 1) & 0xFF
        }
    }

    func read(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in
            defer { pointer = (pointer + 1) & 0xFF }
            return registers[pointer]
        }
    }
}

/// SHT3x (datasheet 4.3, 4.4): a measure command, then six bytes with a CRC after each word.
final class SHT3xChip: ChipModel {
    var temperature: UInt16
    var humidity: UInt16
    var corruptHumidityCRC = false
    private var pending: [UInt8] = []

    init(temperature: UInt16, humidity: UInt16) {
        self.temperature = temperature
        self.humidity = humidity
    }

    func write(_ bytes: [UInt8]) {
        guard bytes == [0x24, 0x00] else { return }
        let t = [UInt8(temperature >> 8), UInt8(temperature & 0xFF)], h = [UInt8(humidity >> 8), UInt8(humidity & 0xFF)]
        pending = t + [SHT3x.crc8(t)] + h + [SHT3x.crc8(h) ^ (corruptHumidityCRC ? 0x01 : 0)]
    }

    func read(_ count: Int) -> [UInt8] {
        defer { pending = [] }
        return Array(pending.prefix(count))
    }
}

/// BH1750 (opcodes p.5): answers only after Power On and a One Time H-Resolution measurement.
final class BH1750Chip: ChipModel {
    /// The count at the default measurement time (MTreg 69); a longer time counts proportionally more.
    var count: UInt16
    /// MTreg, as the last "Change Measurement time" commands left it.
    var measurementTime: UInt8 = 69
    private var poweredOn = false
    private var measured = false

    init(count: UInt16) { self.count = count }

    func write(_ bytes: [UInt8]) {
        guard let byte = bytes.first, bytes.count == 1 else { return }
        if byte == 0x01 { poweredOn = true }
        if byte == 0x20, poweredOn { measured = true }
        if byte & 0xF8 == 0x40 { measurementTime = measurementTime & 0x1F | (byte & 0x07) << 5 }
        if byte & 0xE0 == 0x60 { measurementTime = measurementTime & 0xE0 | byte & 0x1F }
    }

    func read(_ count: Int) -> [UInt8] {
        guard measured else { return [0, 0] }
        measured = false
        poweredOn = false  // one-time mode powers down after the measurement
        let counted = UInt16(clamping: Int(self.count) * Int(measurementTime) / 69)
        return [UInt8(counted >> 8), UInt8(counted & 0xFF)]
    }
}

/// ADS1115 (9.6): a config write with OS=1 starts a conversion of the MUX input; the conversion
/// register then holds that input's code.
final class ADS1115Chip: ChipModel {
    var codes: [Int16]
    private(set) var configs: [UInt16] = []
    private var pointer: UInt8 = 0
    private var conversion: Int16 = 0

    init(codes: [Int16]) { self.codes = codes }

    func write(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        pointer = first
        if first == 0x01, bytes.count == 3 {
            let config = UInt16(bytes[1]) << 8 | UInt16(bytes[2])
            configs.append(config)
            conversion = codes[Int((config >> 12) & 0b11)]
        }
    }

    func read(_ count: Int) -> [UInt8] {
        let value: UInt16 = pointer == 0x00 ? UInt16(bitPattern: conversion) : 0x8000 | (configs.last ?? 0x8583) & 0x7FFF
        return Array([UInt8(value >> 8), UInt8(value & 0xFF)].prefix(count))
    }
}
