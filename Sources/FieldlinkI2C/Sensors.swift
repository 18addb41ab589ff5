import FieldlinkCore

/// The built-in drivers (`driver:`): what each chip measures and where it usually sits.
public enum I2CDriverKind: String, Sendable, Hashable, CaseIterable {
    /// `lm75`: 9 bits, what every LM75 variant guarantees (TI LM75B/C, Maxim LM75), as the kernel's
    /// lm75 driver reads it; `lm75a`: the 11 bits of NXP's LM75A/LM75B.
    case tmp102, lm75, lm75a, sht3x, bme280, ads1115, bh1750, registers

    /// The quantities a point can `measure`, with the unit each comes in; empty for `registers`,
    /// whose points name their own register.
    public var quantities: [(name: String, unit: String)] {
        switch self {
        case .tmp102, .lm75, .lm75a: [("temperature", "°C")]
        case .sht3x: [("temperature", "°C"), ("humidity", "%RH")]
        case .bme280: [("temperature", "°C"), ("pressure", "Pa"), ("humidity", "%RH")]
        case .ads1115: (0...3).map { ("ain\($0)", "V") }
        case .bh1750: [("illuminance", "lx")]
        case .registers: []
        }
    }

    /// The address the chip answers at with its address pins in the default state; nil: must be given.
    public var defaultAddress: UInt8? {
        switch self {
        case .tmp102, .lm75, .lm75a, .ads1115: 0x48
        case .sht3x: 0x44
        case .bme280: 0x76
        case .bh1750: 0x23
        case .registers: nil
        }
    }
}

/// A chip's measuring procedure, datasheet by datasheet. A driver keeps what it learned from the
/// chip (calibration) between polls; the poll drops the driver after an error so it starts afresh.
protocol I2CSensor {
    /// Measures `wanted` (a subset of the driver's quantities); all or nothing.
    mutating func measure(_ wanted: Set<String>, on device: I2CDevice) throws(I2CError) -> [String: Double]
}

// MARK: TMP102 / LM75

/// TI TMP102 (SBOS397, 7.5.4 "Temperature Register", Tables 5 and 6): register 0x00, two bytes, MSB
/// first, left-justified two's complement, 0.0625 °C per LSB; bit D0 of the second byte is 1 in
/// 13-bit extended mode (EM), 0 in the 12-bit normal mode.
struct TMP102: I2CSensor {
    static func celsius(_ bytes: [UInt8]) -> Double {
        let raw = Int16(bitPattern: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
        return bytes[1] & 0x01 == 1 ? Double(raw >> 3) * 0.0625 : Double(raw >> 4) * 0.0625
    }

    mutating func measure(_ wanted: Set<String>, on device: I2CDevice) throws(I2CError) -> [String: Double] {
        ["temperature": Self.celsius(try device.readRegisters(0x00, count: 2))]
    }
}

/// LM75 family (TI LM75B SNIS153, 7.5.1 "Temperature Register"; NXP LM75A 7.4.3): register 0x00,
/// two bytes MSB first, left-justified two's complement. TI's LM75B/C and Maxim's LM75 have 9 bits
/// (0.5 °C) and leave D6–D0 undefined, so they are masked away unless the part is known to have
/// 11 (NXP LM75A/LM75B, 0.125 °C: `lm75a`); value / 256 is then exact.
struct LM75: I2CSensor {
    /// 9 or 11.
    var bits = 9

    static func celsius(_ bytes: [UInt8], bits: Int = 9) -> Double {
        let mask = UInt16(0xFFFF) << (16 - bits)
        return Double(Int16(bitPattern: (UInt16(bytes[0]) << 8 | UInt16(bytes[1])) & mask)) / 256
    }

    mutating func measure(_ wanted: Set<String>, on device: I2CDevice) throws(I2CError) -> [String: Double] {
        ["temperature": Self.celsius(try device.readRegisters(0x00, count: 2), bits: bits)]
    }
}

// MARK: SHT3x

/// Sensirion SHT3x-DIS (datasheet v6, 4.3 "Measurement Commands for Single Shot Data Acquisition
/// Mode", 4.12 "Checksum Calculation", 4.13 "Conversion of Signal Output"). One single shot, high
/// repeatability, no clock stretching (0x24 0x00), at most 15.5 ms (Table 4), then six bytes:
/// temperature MSB, LSB, CRC, humidity MSB, LSB, CRC.
struct SHT3x: I2CSensor {
    static let measureHighRepeatability: [UInt8] = [0x24, 0x00]
    static let conversionTime = Duration.milliseconds(16)

    /// CRC-8, polynomial 0x31 (x^8 + x^5 + x^4 + 1), initial 0xFF, no reflection, no final XOR
    /// (4.12, Table 19: 0xBEEF gives 0x92).
    static func crc8(_ bytes: some Sequence<UInt8>) -> UInt8 {
        var crc: UInt8 = 0xFF
        for byte in bytes {
            crc ^= byte
            for _ in 0..<8 { crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x31 : crc << 1 }
        }
        return crc
    }

    /// 4.13: T = -45 + 175 * S_T / (2^16 - 1); RH = 100 * S_RH / (2^16 - 1).
    static func decode(_ bytes: [UInt8], address: UInt8) throws(I2CError) -> [String: Double] {
        guard bytes.count == 6 else { throw I2CError(.badData, "SHT3x at \(hex(address)) sent \(bytes.count) bytes, not 6") }
        for (offset, what) in [(0, "temperature"), (3, "humidity")] {
            let expected = crc8(bytes[offset..<offset + 2])
            guard bytes[offset + 2] == expected else {
                throw I2CError(.crcMismatch, "SHT3x at \(hex(address)): \(what) CRC mismatch (got \(hex(bytes[offset + 2])), expected \(hex(expected)))")
            }
        }
        let temperature = Double(UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
        let humidity = Double(UInt16(bytes[3]) << 8 | UInt16(bytes[4]))
        return ["temperature": -45 + 175 * temperature / 65_535, "humidity": 100 * humidity / 65_535]
    }

    mutating func measure(_ wanted: Set<String>, on device: I2CDevice) throws(I2CError) -> [String: Double] {
        // A six-byte read with no command byte first has no SMBus equivalent: plain I2C only.
        try device.write(Self.measureHighRepeatability)
        device.bus.pause(Self.conversionTime)
        return try Self.decode(try device.read(6), address: device.address)
    }
}

// MARK: BH1750

/// ROHM BH1750FVI (datasheet 2011.11 rev. D, "Instruction Set Architecture" p.5 and "Measurement
/// sequence example" p.7): Power On (0x01), One Time H-Resolution Mode (0x20), wait at most 180 ms,
/// read two bytes MSB first; lux = count / 1.2 at the default measurement time (MTreg 69), which is
/// written once at start ("Change Measurement time", p.11), as the kernel's driver does, so a chip
/// left at another MTreg by another program still reads right.
struct BH1750: I2CSensor {
    static let powerOn: UInt8 = 0x01
    static let oneTimeHighResolution: UInt8 = 0x20
    static let conversionTime = Duration.milliseconds(180)
    static let defaultMeasurementTime: UInt8 = 69
    /// 01000_MT[7:5] and 011_MT[4:0].
    static let measurementTimeCommands: [UInt8] = [0x40 | defaultMeasurementTime >> 5, 0x60 | defaultMeasurementTime & 0x1F]
    private var measurementTimeSet = false

    static func lux(_ bytes: [UInt8]) -> Double {
        Double(UInt16(bytes[0]) << 8 | UInt16(bytes[1])) / 1.2
    }

    mutating func measure(_ wanted: Set<String>, on device: I2CDevice) throws(I2CError) -> [String: Double] {
        try device.write([Self.powerOn])
        if !measurementTimeSet {
            for command in Self.measurementTimeCommands { try device.write([command]) }
            measurementTimeSet = true
        }
        try device.write([Self.oneTimeHighResolution])
        device.bus.pause(Self.conversionTime)
        // Two bytes with no register pointer: plain I2C only (an SMBus word read would send a command).
        return ["illuminance": Self.lux(try device.read(2))]
    }
}

// MARK: ADS1115

/// TI ADS1115 (SBAS444D, 9.6.3 "Config Register", 9.6.1 "Conversion Register", 9.4.2.1 "Single-Shot
/// Mode"): per channel, write the config register (0x01) with OS=1 (start), MUX=1xx (AINx vs GND),
/// PGA, MODE=1 (single shot), DR=100 (128 SPS), comparator off (COMP_QUE=11); poll OS until it reads 1
/// (done), then read the conversion register (0x00), two's complement, full scale = ±FSR.
struct ADS1115: I2CSensor {
    /// Full-scale ranges in volts, by PGA code (9.3.3, Table 3); codes 110 and 111 are ±0.256 V too.
    static let fullScaleRanges: [Double] = [6.144, 4.096, 2.048, 1.024, 0.512, 0.256]
    /// 1/128 s, plus the oscillator's ±10 % (7.5 "Electrical Characteristics").
    static let conversionTime = Duration.microseconds(8_600)

    let gain: Double

    static func config(channel: Int, gain: Double) -> UInt16 {
        let pga = UInt16(fullScaleRanges.firstIndex(of: gain) ?? 2)
        return 0x8000 | UInt16(0b100 | channel) << 12 | pga << 9 | 0x0100 | 0b100 << 5 | 0b11
    }

    static func volts(_ bytes: [UInt8], gain: Double) -> Double {
        Double(Int16(bitPattern: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))) * gain / 32_768
    }

    mutating func measure(_ wanted: Set<String>, on device: I2CDevice) throws(I2CError) -> [String: Double] {
        var values: [String: Double] = [:]
        for channel in 0...3 where wanted.contains("ain\(channel)") {
            let config = Self.config(channel: channel, gain: gain)
            try device.writeRegister(0x01, [UInt8(config >> 8), UInt8(config & 0xFF)])
            var done = false
            for _ in 0..<5 {
                device.bus.pause(Self.conversionTime)
                if try device.readRegisters(0x01, count: 2)[0] & 0x80 != 0 {
                    done = true
                    break
                }
            }
            guard done else { throw I2CError(.badData, "ADS1115 at \(hex(device.address)): conversion of AIN\(channel) did not finish") }
            values["ain\(channel)"] = Self.volts(try device.readRegisters(0x00, count: 2), gain: gain)
        }
        return values
    }
}

// MARK: BME280

/// Bosch BME280 (BST-BME280-DS002, 5.4 "Register description", 4.2.2 "Trimming parameter readout",
/// 4.2.3 "Compensation formulas", 3.3.1 "Forced mode"). The chip id (0xD0) must read 0x60; the
/// trimming parameters are read once and kept; each poll starts one forced-mode measurement
/// (oversampling ×1 for all three), waits for it (9.3 ms at most, 9.1 "Measurement time"), and
/// burst-reads 0xF7...0xFE so the three values come from the same measurement (4 "Data readout").
struct BME280: I2CSensor {
    static let chipID: UInt8 = 0x60
    static let measurementTime = Duration.milliseconds(10)

    /// Trimming parameters, 4.2.2 Table 16.
    struct Calibration: Sendable, Equatable {
        var t1: UInt16, t2: Int16, t3: Int16
        var p1: UInt16, p2: Int16, p3: Int16, p4: Int16, p5: Int16, p6: Int16, p7: Int16, p8: Int16, p9: Int16
        var h1: UInt8, h2: Int16, h3: UInt8, h4: Int16, h5: Int16, h6: Int8

        /// From registers 0x88...0xA1 (26 bytes) and 0xE1...0xE7 (7 bytes).
        init(low: [UInt8], high: [UInt8]) {
            func u16(_ i: Int) -> UInt16 { UInt16(low[i]) | UInt16(low[i + 1]) << 8 }
            func s16(_ i: Int) -> Int16 { Int16(bitPattern: u16(i)) }
            t1 = u16(0); t2 = s16(2); t3 = s16(4)
            p1 = u16(6); p2 = s16(8); p3 = s16(10); p4 = s16(12); p5 = s16(14); p6 = s16(16); p7 = s16(18); p8 = s16(20); p9 = s16(22)
            h1 = low[25]
            h2 = Int16(bitPattern: UInt16(high[0]) | UInt16(high[1]) << 8)
            h3 = high[2]
            // dig_H4 = 0xE4[7:0] << 4 | 0xE5[3:0]; dig_H5 = 0xE6[7:0] << 4 | 0xE5[7:4] (signed 12-bit).
            h4 = Int16(Int8(bitPattern: high[3])) << 4 | Int16(high[4] & 0x0F)
            h5 = Int16(Int8(bitPattern: high[5])) << 4 | Int16(high[4] >> 4)
            h6 = Int8(bitPattern: high[6])
        }

        init(t1: UInt16, t2: Int16, t3: Int16, p1: UInt16, p2: Int16, p3: Int16, p4: Int16, p5: Int16, p6: Int16, p7: Int16,
             p8: Int16, p9: Int16, h1: UInt8, h2: Int16, h3: UInt8, h4: Int16, h5: Int16, h6: Int8) {
            (self.t1, self.t2, self.t3) = (t1, t2, t3)
            (self.p1, self.p2, self.p3, self.p4, self.p5, self.p6, self.p7, self.p8, self.p9) = (p1, p2, p3, p4, p5, p6, p7, p8, p9)
            (self.h1, self.h2, self.h3, self.h4, self.h5, self.h6) = (h1, h2, h3, h4, h5, h6)
        }
    }

    private var calibration: Calibration?

    /// 4.2.3, `BME280_compensate_T_int32`: temperature in 0.01 °C and t_fine for the other two.
    ///
    /// The datasheet's C code wraps on overflow; so does this (`&*`, `&+`), so a chip answering
    /// garbage (a wrong chip at the address, a marginal bus) gives an implausible value, never a trap.
    static func temperature(_ adc: Int32, _ c: Calibration) -> (centidegrees: Int32, fine: Int32) {
        let var1 = (((adc >> 3) &- (Int32(c.t1) << 1)) &* Int32(c.t2)) >> 11
        let delta = (adc >> 4) &- Int32(c.t1)
        let var2 = (((delta &* delta) >> 12) &* Int32(c.t3)) >> 14
        let fine = var1 &+ var2
        return ((fine &* 5 &+ 128) >> 8, fine)
    }

    /// 4.2.3, `BME280_compensate_P_int64`: pressure in Pa as Q24.8 (value / 256); nil where the
    /// datasheet returns 0 to avoid a division by zero.
    static func pressure(_ adc: Int32, fine: Int32, _ c: Calibration) -> UInt32? {
        var var1 = Int64(fine) &- 128_000
        var var2 = var1 &* var1 &* Int64(c.p6)
        var2 = var2 &+ ((var1 &* Int64(c.p5)) &<< 17)
        var2 = var2 &+ (Int64(c.p4) &<< 35)
        var1 = ((var1 &* var1 &* Int64(c.p3)) >> 8) &+ ((var1 &* Int64(c.p2)) &<< 12)
        var1 = (((Int64(1) << 47) &+ var1) &* Int64(c.p1)) >> 33
        guard var1 != 0 else { return nil }
        var p = 1_048_576 &- Int64(adc)
        p = (((p &<< 31) &- var2) &* 3_125).dividedReportingOverflow(by: var1).partialValue
        var1 = (Int64(c.p9) &* (p >> 13) &* (p >> 13)) >> 25
        var2 = (Int64(c.p8) &* p) >> 19
        p = ((p &+ var1 &+ var2) >> 8) &+ (Int64(c.p7) &<< 4)
        return UInt32(truncatingIfNeeded: p)
    }

    /// 4.2.3, `bme280_compensate_H_int32`: relative humidity in Q22.10 (value / 1024).
    static func humidity(_ adc: Int32, fine: Int32, _ c: Calibration) -> UInt32 {
        var v = fine &- 76_800
        let a = ((adc &<< 14) &- (Int32(c.h4) &<< 20) &- (Int32(c.h5) &* v)) &+ 16_384
        let b = ((((v &* Int32(c.h6)) >> 10) &* (((v &* Int32(c.h3)) >> 11) &+ 32_768)) >> 10) &+ 2_097_152
        v = (a >> 15) &* ((b &* Int32(c.h2) &+ 8_192) >> 14)
        v = v &- (((((v >> 15) &* (v >> 15)) >> 7) &* Int32(c.h1)) >> 4)
        v = min(max(v, 0), 419_430_400)
        return UInt32(v >> 12)
    }

    /// Decodes the burst 0xF7...0xFE (press msb, lsb, xlsb, temp msb, lsb, xlsb, hum msb, lsb).
    static func compensate(_ data: [UInt8], _ c: Calibration) -> [String: Double] {
        let adcP = Int32(data[0]) << 12 | Int32(data[1]) << 4 | Int32(data[2]) >> 4
        let adcT = Int32(data[3]) << 12 | Int32(data[4]) << 4 | Int32(data[5]) >> 4
        let adcH = Int32(data[6]) << 8 | Int32(data[7])
        let (centidegrees, fine) = temperature(adcT, c)
        var values: [String: Double] = ["temperature": Double(centidegrees) / 100, "humidity": Double(humidity(adcH, fine: fine, c)) / 1_024]
        if let pressure = pressure(adcP, fine: fine, c) { values["pressure"] = Double(pressure) / 256 }
        return values
    }

    /// The chip's operating range (1.1 "Operating range"): a compensated value outside it comes from
    /// garbage (a wrong chip, a marginal bus, broken trimming values), not from the air.
    static let plausibleTemperature = -40.0...85.0
    static let plausiblePressure = 30_000.0...110_000.0

    /// The compensated values, or why they cannot be believed. Temperature feeds the other two
    /// (t_fine), so an implausible temperature fails all three; an implausible pressure fails alone.
    static func plausibleValues(_ data: [UInt8], _ c: Calibration, address: UInt8) throws(I2CError) -> [String: Double] {
        var values = compensate(data, c)
        if let temperature = values["temperature"], !plausibleTemperature.contains(temperature) {
            throw I2CError(.badData, "BME280 at \(hex(address)): implausible temperature \(temperature) °C (outside -40…85 °C; wrong chip or garbage on the bus?)")
        }
        if let pressure = values["pressure"], !plausiblePressure.contains(pressure) { values["pressure"] = nil }
        return values
    }

    mutating func measure(_ wanted: Set<String>, on device: I2CDevice) throws(I2CError) -> [String: Double] {
        let calibration: Calibration
        if let known = self.calibration {
            calibration = known
        } else {
            calibration = try readCalibration(device)
            self.calibration = calibration
        }
        // ctrl_hum (0xF2) takes effect with the next write of ctrl_meas (0xF4), 5.4.3: humidity ×1,
        // then temperature ×1, pressure ×1, forced mode (0b001_001_01).
        try device.writeRegister(0xF2, [0x01])
        try device.writeRegister(0xF4, [0x25])
        device.bus.pause(Self.measurementTime)
        let data = try device.readRegisters(0xF7, count: 8)
        // 0x80000 (temperature, pressure) and 0x8000 (humidity) mean "skipped" (5.4.7-5.4.9).
        if data[3] == 0x80, data[4] == 0, data[5] == 0 {
            throw I2CError(.badData, "BME280 at \(hex(device.address)) returned no measurement (0x80000)")
        }
        return try Self.plausibleValues(data, calibration, address: device.address)
    }

    private func readCalibration(_ device: I2CDevice) throws(I2CError) -> Calibration {
        let id = try device.readRegisters(0xD0, count: 1)[0]
        guard id == Self.chipID else {
            throw I2CError(.wrongChip, "chip id \(hex(id)) at \(hex(device.address)) is not a BME280 (expected \(hex(Self.chipID)))")
        }
        // The trimming values are constant, so reading them byte by byte is as good as a burst.
        let low = try device.readRegisters(0x88, count: 26, perByteFallback: true)
        let high = try device.readRegisters(0xE1, count: 7, perByteFallback: true)
        return Calibration(low: low, high: high)
    }
}
