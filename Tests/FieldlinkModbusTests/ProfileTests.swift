import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// The registers a device sends for a value, worked out from the datasheet's encoding with
/// `Sample` (the big-endian bytes, then the order's swaps), never through the decoder.
enum Wire {
    static func float32(_ value: Float, _ order: WordOrder = .abcd) -> [UInt16] { Sample(float32: value, .double(0)).registers(order) }
    static func uint16(_ value: UInt16) -> [UInt16] { [value] }
    static func int16(_ value: Int16) -> [UInt16] { [UInt16(bitPattern: value)] }
    static func uint32(_ value: UInt32, _ order: WordOrder = .abcd) -> [UInt16] { Sample(.uint32, integer: value, .uint(0)).registers(order) }
    static func int32(_ value: Int32, _ order: WordOrder = .abcd) -> [UInt16] { Sample(.int32, integer: value, .int(0)).registers(order) }
    static func uint64(_ value: UInt64) -> [UInt16] { Sample(.uint64, integer: value, .uint(0)).registers(.abcd) }
    static func int64(_ value: Int64) -> [UInt16] { Sample(.int64, integer: value, .int(0)).registers(.abcd) }

    /// Two ASCII characters per register, the first in the high byte, NUL-padded to `length` registers.
    static func ascii(_ text: String, length: Int) -> [UInt16] {
        var bytes = Array(text.utf8)
        bytes += Array(repeating: 0, count: length * 2 - bytes.count)
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
    }
}

/// One profile's golden case: a register image of a device showing known readings, and what each
/// point must publish.
struct GoldenCase: Sendable, CustomTestStringConvertible {
    var profile: String
    var registers: [(table: ModbusTable, address: Int, words: [UInt16])]
    var expected: [String: Value]
    var testDescription: String { profile }
}

@Suite(.timeLimit(.minutes(1)))
struct ProfileTests {
    /// The repository's devices/ folder, found from this file so the tests run from any directory.
    static let devicesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("devices").path

    static let loader = ConfigLoader(families: [ModbusFamily()], profileDirectories: [devicesDirectory])

    /// A config with one device using `profile` (the config file's own devices/ folder does not exist).
    static func device(profile: String) throws -> DeviceConfig {
        let yaml = """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0}]
            devices: [{name: dev, bus: rs485, unit: 1, interval: 1s, profile: \(profile)}]
            """
        return try loader.parse(yaml: yaml, file: "/nonexistent-fieldlink-test/fieldlink.yaml").devices[0]
    }

    static let cases: [GoldenCase] = [
        GoldenCase(profile: "eastron-sdm120", registers: [
            (.input, 0x0000, Wire.float32(230.1)), (.input, 0x0006, Wire.float32(4.35)),
            (.input, 0x000C, Wire.float32(998.5)), (.input, 0x0012, Wire.float32(1000.9)),
            (.input, 0x0018, Wire.float32(-70.25)), (.input, 0x001E, Wire.float32(0.998)),
            (.input, 0x0024, Wire.float32(3.6)), (.input, 0x0046, Wire.float32(49.98)),
            (.input, 0x0048, Wire.float32(1234.5)), (.input, 0x004A, Wire.float32(0.25)),
            (.input, 0x004C, Wire.float32(12.5)), (.input, 0x004E, Wire.float32(3.75)),
            (.input, 0x0156, Wire.float32(1234.75)), (.input, 0x0158, Wire.float32(16.25)),
        ], expected: [
            "voltage": .double(230.1), "current": .double(4.35), "active_power": .double(998.5),
            "apparent_power": .double(1000.9), "reactive_power": .double(-70.25), "power_factor": .double(0.998),
            "phase_angle": .double(3.6), "frequency": .double(49.98), "import_active_energy": .double(1234.5),
            "export_active_energy": .double(0.25), "import_reactive_energy": .double(12.5),
            "export_reactive_energy": .double(3.75), "total_active_energy": .double(1234.75),
            "total_reactive_energy": .double(16.25),
        ]),
        GoldenCase(profile: "eastron-sdm630", registers: [
            (.input, 0x0000, Wire.float32(230.1) + Wire.float32(231.2) + Wire.float32(229.8)),
            (.input, 0x0006, Wire.float32(5.5) + Wire.float32(0.75) + Wire.float32(12.125)),
            (.input, 0x000C, Wire.float32(1250) + Wire.float32(-150.5) + Wire.float32(2790)),
            (.input, 0x001E, Wire.float32(0.99) + Wire.float32(-0.87) + Wire.float32(1)),
            (.input, 0x0034, Wire.float32(3889.5)), (.input, 0x0038, Wire.float32(4012.25)),
            (.input, 0x003C, Wire.float32(-412.5)), (.input, 0x003E, Wire.float32(0.97)),
            (.input, 0x0046, Wire.float32(50.02)), (.input, 0x0048, Wire.float32(45678.9)),
            (.input, 0x004A, Wire.float32(321.5)), (.input, 0x0054, Wire.float32(3500)),
            (.input, 0x00EA, Wire.float32(2.1) + Wire.float32(1.9) + Wire.float32(2.4)),
            (.input, 0x0156, Wire.float32(46000.4)),
            (.input, 0x015A, Wire.float32(15000.5) + Wire.float32(14000.25) + Wire.float32(16678.125)),
            (.input, 0x0160, Wire.float32(100.5) + Wire.float32(200.5) + Wire.float32(20.5)),
        ], expected: [
            "voltage_l1": .double(230.1), "voltage_l2": .double(231.2), "voltage_l3": .double(229.8),
            "current_l1": .double(5.5), "current_l2": .double(0.75), "current_l3": .double(12.125),
            "power_l1": .double(1250), "power_l2": .double(-150.5), "power_l3": .double(2790),
            "power_factor_l1": .double(0.99), "power_factor_l2": .double(-0.87), "power_factor_l3": .double(1),
            "total_power": .double(3889.5), "total_apparent_power": .double(4012.25),
            "total_reactive_power": .double(-412.5), "total_power_factor": .double(0.97), "frequency": .double(50.02),
            "import_energy": .double(45678.9), "export_energy": .double(321.5), "power_demand": .double(3500),
            "voltage_thd_l1": .double(2.1), "voltage_thd_l2": .double(1.9), "voltage_thd_l3": .double(2.4),
            "total_energy": .double(46000.4), "import_energy_l1": .double(15000.5), "import_energy_l2": .double(14000.25),
            "import_energy_l3": .double(16678.125), "export_energy_l1": .double(100.5), "export_energy_l2": .double(200.5),
            "export_energy_l3": .double(20.5),
        ]),
        GoldenCase(profile: "eastron-sdm72d-m", registers: [
            (.input, 0x0034, Wire.float32(-1520.5)), (.input, 0x0048, Wire.float32(9876.5)),
            (.input, 0x004A, Wire.float32(1234.25)), (.input, 0x0156, Wire.float32(11110.75)),
            (.input, 0x0180, Wire.float32(500.5)), (.input, 0x0184, Wire.float32(400.25)), (.input, 0x0186, Wire.float32(100.25)),
            (.input, 0x0500, Wire.float32(0)), (.input, 0x0502, Wire.float32(1520.5)),
        ], expected: [
            "total_power": .double(-1520.5), "import_energy": .double(9876.5), "export_energy": .double(1234.25),
            "total_energy": .double(11110.75), "resettable_total_energy": .double(500.5),
            "resettable_import_energy": .double(400.25), "resettable_export_energy": .double(100.25),
            "import_power": .double(0), "export_power": .double(1520.5),
        ]),
        GoldenCase(profile: "abb-b23", registers: [
            // Instantaneous values: 0x5B00 onward, one block as the meter holds them.
            (.holding, 0x5B00, Wire.uint32(2301) + Wire.uint32(2312) + Wire.uint32(2298)
                + Wire.uint32(3995) + Wire.uint32(4001) + Wire.uint32(3987)
                + Wire.uint32(550) + Wire.uint32(75) + Wire.uint32(1213) + Wire.uint32(42)
                + Wire.int32(388_950) + Wire.int32(125_000) + Wire.int32(-15_050) + Wire.int32(279_000)
                + Wire.int32(-41_250) + [0, 0, 0, 0, 0, 0] + Wire.int32(401_225) + [0, 0, 0, 0, 0, 0]),
            (.holding, 0x5B2C, Wire.uint16(5002)),
            (.holding, 0x5B3A, Wire.int16(970) + Wire.int16(990) + Wire.int16(-870) + Wire.int16(1000)),
            (.holding, 0x5000, Wire.uint64(4_567_890) + Wire.uint64(32_150) + Wire.int64(-1_234_567)),
        ], expected: [
            "voltage_l1": .double(230.1), "voltage_l2": .double(231.2), "voltage_l3": .double(229.8),
            "voltage_l1_l2": .double(399.5), "voltage_l2_l3": .double(400.1), "voltage_l3_l1": .double(398.7),
            "current_l1": .double(5.5), "current_l2": .double(0.75), "current_l3": .double(12.13), "current_n": .double(0.42),
            "total_power": .double(3889.5), "power_l1": .double(1250), "power_l2": .double(-150.5), "power_l3": .double(2790),
            "total_reactive_power": .double(-412.5), "total_apparent_power": .double(4012.25), "frequency": .double(50.02),
            "total_power_factor": .double(0.97), "power_factor_l1": .double(0.99), "power_factor_l2": .double(-0.87),
            "power_factor_l3": .double(1), "import_energy": .double(45678.9), "export_energy": .double(321.5),
            "net_energy": .double(-12345.67),
        ]),
        GoldenCase(profile: "carlo-gavazzi-em340", registers: [
            (.input, 0x0000, Wire.int32(2301, .cdab) + Wire.int32(2312, .cdab) + Wire.int32(2298, .cdab)),
            (.input, 0x000C, Wire.int32(5500, .cdab) + Wire.int32(750, .cdab) + Wire.int32(12_125, .cdab)
                + Wire.int32(12_500, .cdab) + Wire.int32(-1505, .cdab) + Wire.int32(27_900, .cdab)),
            (.input, 0x0028, Wire.int32(38_895, .cdab)),
            (.input, 0x002E, Wire.int16(990) + Wire.int16(-870) + Wire.int16(1000) + Wire.int16(970)),
            (.input, 0x0033, Wire.int16(500) + Wire.int32(456_789, .cdab)),
            (.input, 0x0040, Wire.int32(150_005, .cdab) + Wire.int32(140_002, .cdab) + Wire.int32(166_781, .cdab)),
            (.input, 0x004E, Wire.int32(3215, .cdab)),
        ], expected: [
            "voltage_l1": .double(230.1), "voltage_l2": .double(231.2), "voltage_l3": .double(229.8),
            "current_l1": .double(5.5), "current_l2": .double(0.75), "current_l3": .double(12.125),
            "power_l1": .double(1250), "power_l2": .double(-150.5), "power_l3": .double(2790), "total_power": .double(3889.5),
            "power_factor_l1": .double(0.99), "power_factor_l2": .double(-0.87), "power_factor_l3": .double(1),
            "total_power_factor": .double(0.97), "frequency": .double(50), "import_energy": .double(45678.9),
            "import_energy_l1": .double(15000.5), "import_energy_l2": .double(14000.2), "import_energy_l3": .double(16678.1),
            "export_energy": .double(321.5),
        ]),
        GoldenCase(profile: "growatt-tl-x", registers: [
            (.input, 0, Wire.uint16(1) + Wire.uint32(31_505) + Wire.uint16(3654) + Wire.uint16(86) + Wire.uint32(31_424)
                + Wire.uint16(0) + Wire.uint16(0) + Wire.uint32(0)),
            (.input, 35, Wire.uint32(30_012) + Wire.uint16(4998) + Wire.uint16(2331) + Wire.uint16(129)),
            (.input, 53, Wire.uint32(187) + Wire.uint32(123_456) + Wire.uint32(7_200_000)),
            (.input, 91, Wire.uint32(130_001) + Wire.int16(-52)),
            (.input, 105, Wire.uint16(0)),
            (.holding, 23, Wire.ascii("QWE1234567", length: 5)),
        ], expected: [
            "status": .string("normal"), "pv_power": .double(3150.5), "pv1_voltage": .double(365.4), "pv1_current": .double(8.6),
            "pv1_power": .double(3142.4), "pv2_voltage": .double(0), "pv2_current": .double(0), "pv2_power": .double(0),
            "output_power": .double(3001.2), "grid_frequency": .double(49.98), "grid_voltage": .double(233.1),
            "grid_current": .double(12.9), "energy_today": .double(18.7), "energy_total": .double(12345.6),
            "operating_time": .double(3_600_000), "pv_energy_total": .double(13000.1), "inverter_temperature": .double(-5.2),
            "fault_code": .uint(0), "serial_number": .string("QWE1234567"),
        ]),
        GoldenCase(profile: "xy-md02", registers: [
            (.input, 0x0001, Wire.int16(-123) + Wire.uint16(456)),
            (.holding, 0x0101, Wire.uint16(1) + Wire.uint16(9600) + Wire.int16(-5) + Wire.int16(12)),
        ], expected: [
            "temperature": .double(-12.3), "humidity": .double(45.6), "unit_address": .uint(1), "baud_rate": .uint(9600),
            "temperature_correction": .double(-0.5), "humidity_correction": .double(1.2),
        ]),
        GoldenCase(profile: "epever-tracer", registers: [
            (.input, 0x3100, Wire.uint16(6543) + Wire.uint16(512) + Wire.uint32(335_001, .cdab)
                + Wire.uint16(1352) + Wire.uint16(2450) + Wire.uint32(331_240, .cdab)),
            (.input, 0x310C, Wire.uint16(1350) + Wire.uint16(125) + Wire.uint32(16_875, .cdab) + Wire.int16(-250) + Wire.int16(3125)),
            (.input, 0x3300, Wire.uint16(7021) + Wire.uint16(0) + Wire.uint16(1441) + Wire.uint16(1198)
                + Wire.uint32(45, .cdab)),
            (.input, 0x330A, Wire.uint32(12_345, .cdab) + Wire.uint32(123, .cdab)),
            (.input, 0x3312, Wire.uint32(98_765, .cdab)),
        ], expected: [
            "pv_voltage": .double(65.43), "pv_current": .double(5.12), "pv_power": .double(3350.01),
            "battery_voltage": .double(13.52), "battery_charging_current": .double(24.5), "battery_charging_power": .double(3312.4),
            "load_voltage": .double(13.5), "load_current": .double(1.25), "load_power": .double(168.75),
            "battery_temperature": .double(-2.5), "controller_temperature": .double(31.25),
            "pv_voltage_max_today": .double(70.21), "pv_voltage_min_today": .double(0),
            "battery_voltage_max_today": .double(14.41), "battery_voltage_min_today": .double(11.98),
            "consumed_energy_today": .double(0.45), "consumed_energy_total": .double(123.45),
            "generated_energy_today": .double(1.23), "generated_energy_total": .double(987.65),
        ]),
    ]

    @Test(arguments: cases)
    func decodesTheDatasheetImage(_ golden: GoldenCase) throws {
        let device = try Self.device(profile: golden.profile)
        #expect(Set(device.points.map(\.name)) == Set(golden.expected.keys), "every point of the profile has an expected reading")
        var image = RegisterImage()
        for (table, address, words) in golden.registers { image.set(table, address, words) }
        let reading = image.reading(of: device)
        #expect(reading.errors.map { "\($0.name): \($0.reason)" } == [])
        for (name, value) in reading.values {
            #expect(value == golden.expected[name], "\(golden.profile).\(name)")
        }
        #expect(reading.values.count == golden.expected.count)
    }

    @Test func everyShippedProfileHasAGoldenCase() throws {
        let shipped = try FileManager.default.contentsOfDirectory(atPath: Self.devicesDirectory)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        #expect(Set(shipped) == Set(Self.cases.map(\.profile)))
        #expect(shipped.count >= 8)
    }

    /// Each profile names its source: the datasheet it was transcribed from, in the header comment.
    @Test func everyProfileNamesItsSource() throws {
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.devicesDirectory) where file.hasSuffix(".yaml") {
            let text = try String(contentsOfFile: "\(Self.devicesDirectory)/\(file)", encoding: .utf8)
            let header = text.split(separator: "\n").prefix { $0.hasPrefix("#") }
            #expect(header.contains { $0.hasPrefix("# Source: ") }, "\(file) has no '# Source:' line in its header comment")
        }
    }
}
