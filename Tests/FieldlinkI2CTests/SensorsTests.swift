@testable import FieldlinkI2C
import Testing

/// Each driver against its chip's register model, with the datasheets' own examples as golden values.
@Suite struct SensorsTests {
    static func measure(_ sensor: some I2CSensor, _ wanted: Set<String>, chip: any ChipModel, at address: UInt8 = 0x48,
                        capabilities: I2CCapabilities = .fullI2C) throws(I2CError) -> (values: [String: Double], bus: FakeI2CBus) {
        var sensor = sensor
        let bus = FakeI2CBus(capabilities: capabilities, chips: [address: chip])
        let values = try sensor.measure(wanted, on: I2CDevice(bus: bus, address: address))
        return (values, bus)
    }

    // TMP102 datasheet Table 5 (12-bit) and Table 6 (13-bit extended mode, D0 = 1).
    @Test(arguments: [
        ([UInt8(0x7F), 0xF0], 127.9375), ([0x64, 0x00], 100), ([0x19, 0x00], 25), ([0x00, 0x40], 0.25), ([0x00, 0x00], 0),
        ([0xFF, 0xC0], -0.25), ([0xE7, 0x00], -25), ([0xC9, 0x00], -55), ([0xF3, 0xC0], -12.25), ([0x55, 0x20], 85.125),
        ([0x4B, 0x01], 150), ([0x40, 0x01], 128), ([0xFF, 0xE1], -0.25), ([0xE4, 0x81], -55),
    ] as [([UInt8], Double)])
    func tmp102DatasheetTable(bytes: [UInt8], celsius: Double) throws {
        let (values, bus) = try Self.measure(TMP102(), ["temperature"], chip: RegisterFileChip([0x00: bytes]))
        #expect(values["temperature"] == celsius)
        #expect(bus.transfers == [.writeRead(write: [0x00], readCount: 2)])
    }

    @Test func tmp102FallsBackToAnSMBusWordReadOnAnSMBusOnlyAdapter() throws {
        let (values, bus) = try Self.measure(TMP102(), ["temperature"], chip: RegisterFileChip([0x00: [0xF3, 0xC0]]),
                                             capabilities: .smbusController)
        #expect(values["temperature"] == -12.25)
        #expect(bus.transfers == [.smbusReadWordData(command: 0x00)])
    }

    // 9-bit parts (TI LM75B/C, Maxim LM75; D6-D0 undefined) and 11-bit NXP LM75A/LM75B readings.
    @Test(arguments: [([UInt8(0x19), 0x80], 25.5, 25.5), ([0xE7, 0x00], -25, -25), ([0xFF, 0x80], -0.5, -0.5), ([0x7D, 0x00], 125, 125),
                      ([0x19, 0x60], 25.0, 25.375), ([0x19, 0x7F], 25.0, 25.375), ([0xC9, 0x00], -55, -55),
                      ([0x55, 0x20], 85.0, 85.125)] as [([UInt8], Double, Double)])
    func lm75Readings(bytes: [UInt8], nineBit: Double, elevenBit: Double) throws {
        let chip = RegisterFileChip([0x00: bytes])
        #expect(try Self.measure(LM75(bits: 9), ["temperature"], chip: chip).values["temperature"] == nineBit)
        #expect(try Self.measure(LM75(bits: 11), ["temperature"], chip: chip).values["temperature"] == elevenBit)
    }

    // SHT3x datasheet 4.12 Table 19: CRC-8 of 0xBEEF is 0x92.
    @Test func sht3xCRCExample() {
        #expect(SHT3x.crc8([0xBE, 0xEF]) == 0x92)
        #expect(SHT3x.crc8([0x00, 0x00]) == 0x81)
    }

    // 4.13: S_T = 0x6666 -> -45 + 175 * 26214 / 65535 = 25.0 °C; S_RH = 0x8000 -> 50.0008 %RH.
    @Test func sht3xDecodesAMeasurement() throws {
        let chip = SHT3xChip(temperature: 0x6666, humidity: 0x8000)
        let (values, bus) = try Self.measure(SHT3x(), ["temperature", "humidity"], chip: chip, at: 0x44)
        #expect(abs(values["temperature"]! - 25.0) < 0.001)
        #expect(abs(values["humidity"]! - 50.0008) < 0.0001)
        #expect(bus.transfers == [.writeRead(write: [0x24, 0x00], readCount: 0), .writeRead(write: [], readCount: 6)])
        #expect(bus.paused == [SHT3x.conversionTime])
    }

    @Test func sht3xRejectsACRCMismatch() {
        let chip = SHT3xChip(temperature: 0x6666, humidity: 0x8000)
        chip.corruptHumidityCRC = true
        #expect {
            try Self.measure(SHT3x(), ["humidity"], chip: chip, at: 0x44)
        } throws: { error in
            let error = error as! I2CError
            return error.code == .crcMismatch && error.detail.contains("SHT3x at 0x44: humidity CRC mismatch")
        }
    }

    @Test func sht3xNeedsPlainI2C() {
        #expect(throws: I2CError.self) {
            try Self.measure(SHT3x(), ["temperature"], chip: SHT3xChip(temperature: 0, humidity: 0), at: 0x44, capabilities: .smbusController)
        }
    }

    // BH1750 datasheet p.7: a count of 0x83 0x90 (33680) is 28067 lx (33680 / 1.2).
    @Test func bh1750Lux() throws {
        let (values, bus) = try Self.measure(BH1750(), ["illuminance"], chip: BH1750Chip(count: 0x8390), at: 0x23)
        #expect(abs(values["illuminance"]! - 28_066.67) < 0.01)
        #expect(bus.transfers.first == .writeRead(write: [0x01], readCount: 0))
        #expect(bus.paused == [BH1750.conversionTime])
    }

    /// A chip another program left at MTreg 138 counts twice as much per lux: the driver sets 69
    /// (0x42, 0x65) before its first measurement, and only then.
    @Test func bh1750SetsItsMeasurementTimeOnce() throws {
        let chip = BH1750Chip(count: 0x8390)
        chip.measurementTime = 138
        var sensor = BH1750()
        let bus = FakeI2CBus(chips: [0x23: chip])
        let device = I2CDevice(bus: bus, address: 0x23)
        #expect(abs(try sensor.measure(["illuminance"], on: device)["illuminance"]! - 28_066.67) < 0.01)
        #expect(chip.measurementTime == 69)
        let writes = bus.transfers.count
        _ = try sensor.measure(["illuminance"], on: device)
        #expect(bus.transfers.count - writes == writes - 2, "MTreg is written once")
    }

    // ADS1115 9.3.3 Table 3: at ±4.096 V one LSB is 125 µV; 0x7FFF is +FS, 0x8000 is -FS.
    @Test func ads1115SingleShotPerChannelWithGain() throws {
        let chip = ADS1115Chip(codes: [8_000, 0x7FFF, -32_768, 0])
        let (values, _) = try Self.measure(ADS1115(gain: 4.096), ["ain0", "ain1", "ain2"], chip: chip)
        #expect(values == ["ain0": 1.0, "ain1": 4.096 * 32_767 / 32_768, "ain2": -4.096])
        // OS=1, MUX=100/101/110 (AINx vs GND), PGA=001, MODE=1, DR=100, COMP_QUE=11.
        #expect(chip.configs == [0xC383, 0xD383, 0xE383])
    }

    @Test func ads1115ConfigDefaultGain() {
        // 9.6.3: AIN3 vs GND at ±2.048 V: 1 111 010 1 100 0 0 0 11.
        #expect(ADS1115.config(channel: 3, gain: 2.048) == 0xF583)
    }

    @Test func ads1115WorksOverSMBusWords() throws {
        let chip = ADS1115Chip(codes: [16_000, 0, 0, 0])
        let (values, bus) = try Self.measure(ADS1115(gain: 2.048), ["ain0"], chip: chip, capabilities: .smbusController)
        #expect(values["ain0"] == 1.0)
        #expect(bus.transfers.first == .smbusWriteWordData(command: 0x01, value: [0xC5, 0x83]))
    }

    /// The BMP280 datasheet's worked example (3.12, Table "Compensation computation example"; the
    /// BME280 uses the same temperature and pressure formulas): 25.08 °C and 100653.27 Pa. Humidity
    /// trimming values are a real part's; the datasheet's floating-point formula gives 55.0007 %RH.
    static let bmeImage: [UInt8: [UInt8]] = {
        func le(_ values: [Int]) -> [UInt8] { values.flatMap { [UInt8($0 & 0xFF), UInt8(($0 >> 8) & 0xFF)] } }
        let adcP = 415_148, adcT = 519_888, adcH = 30_000
        func twenty(_ value: Int) -> [UInt8] { [UInt8(value >> 12), UInt8((value >> 4) & 0xFF), UInt8((value & 0xF) << 4)] }
        return [
            0xD0: [0x60],
            0x88: le([27_504, 26_435, -1_000, 36_477, -10_685, 3_024, 2_855, 140, -7, 15_500, -14_600, 6_000]) + [0x00, 75],
            0xE1: le([362]) + [0, UInt8(313 >> 4), UInt8((313 & 0xF) | (50 & 0xF) << 4), UInt8(50 >> 4), 30],
            0xF7: twenty(adcP) + twenty(adcT) + [UInt8(adcH >> 8), UInt8(adcH & 0xFF)],
        ]
    }()

    @Test func bme280DatasheetCompensationExample() throws {
        let chip = RegisterFileChip(Self.bmeImage)
        let (values, bus) = try Self.measure(BME280(), ["temperature", "pressure", "humidity"], chip: chip, at: 0x76)
        #expect(values["temperature"] == 25.08)
        #expect(abs(values["pressure"]! - 100_653.27) < 0.05)
        #expect(abs(values["humidity"]! - 55.0007) < 0.01)
        // Forced mode with ×1 oversampling; the data is one burst read.
        #expect(chip.writes.contains([0xF2, 0x01]) && chip.writes.contains([0xF4, 0x25]))
        #expect(bus.transfers.last == .writeRead(write: [0xF7], readCount: 8))
    }

    @Test func bme280TrimmingIsReadOnce() throws {
        var sensor = BME280()
        let bus = FakeI2CBus(chips: [0x76: RegisterFileChip(Self.bmeImage)])
        let device = I2CDevice(bus: bus, address: 0x76)
        _ = try sensor.measure(["temperature"], on: device)
        let first = bus.transfers.count
        _ = try sensor.measure(["temperature"], on: device)
        #expect(bus.transfers.count - first == first - 3)  // no chip id, no two trimming reads
    }

    @Test func bme280ChecksTheChipID() {
        var image = Self.bmeImage
        image[0xD0] = [0x58]  // a BMP280
        #expect {
            try Self.measure(BME280(), ["temperature"], chip: RegisterFileChip(image), at: 0x76)
        } throws: { error in
            (error as? I2CError) == I2CError(.wrongChip, "chip id 0x58 at 0x76 is not a BME280 (expected 0x60)")
        }
    }

    @Test func bme280CompensationFormulas() {
        let c = BME280.Calibration(low: [UInt8](repeating: 0, count: 26), high: [UInt8](repeating: 0, count: 7))
        #expect(BME280.pressure(415_148, fine: 128_422, c) == nil)  // dig_P1 = 0: the datasheet's division guard
        let example = BME280.Calibration(low: Self.bmeImage[0x88]!, high: Self.bmeImage[0xE1]!)
        #expect(BME280.temperature(519_888, example) == (2_508, 128_422))
        #expect(example.h4 == 313 && example.h5 == 50 && example.h6 == 30 && example.h1 == 75)
    }

    /// A raw temperature of 0xFFFFF with dig_T1 = 26000, dig_T2 = 27500 overflowed Int32 in the
    /// datasheet's formula and trapped (the daemon died). It wraps now, as the C code does, and the
    /// implausible result is the device's error.
    @Test func bme280GarbageIsAnErrorNotACrash() {
        var image = Self.bmeImage
        var low = image[0x88]!
        low[0] = UInt8(26_000 & 0xFF); low[1] = UInt8(26_000 >> 8)
        low[2] = UInt8(27_500 & 0xFF); low[3] = UInt8(27_500 >> 8)
        image[0x88] = low
        image[0xF7] = [0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF]
        #expect {
            try Self.measure(BME280(), ["temperature", "humidity", "pressure"], chip: RegisterFileChip(image), at: 0x76)
        } throws: { error in
            (error as? I2CError)?.code == .badData && "\(error)".contains("implausible temperature")
        }
    }

    /// Every raw burst, against the worked example's trimming and against all-ones trimming: the
    /// compensation never traps (a trap kills the whole gateway).
    @Test(arguments: [UInt8(0x00), 0x7F, 0x80, 0xFF])
    func bme280CompensationNeverTraps(fill: UInt8) {
        let ones = BME280.Calibration(low: [UInt8](repeating: 0xFF, count: 26), high: [UInt8](repeating: 0xFF, count: 7))
        let example = BME280.Calibration(low: Self.bmeImage[0x88]!, high: Self.bmeImage[0xE1]!)
        for calibration in [ones, example] {
            for byte in [fill, fill ^ 0x55] {
                _ = BME280.compensate([UInt8](repeating: byte, count: 8), calibration)
            }
        }
    }
}
