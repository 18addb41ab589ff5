import BusTestSupport
import FieldlinkCore
@testable import FieldlinkI2C
import Logging
import Testing

/// `type: i2c` config, located errors, and a bus poll where one device fails and the rest do not.
@Suite struct I2CFamilyTests {
    static let head = """
        gateway: {id: gw, state_dir: /tmp/fieldlink-i2c-test}
        mqtt: {url: "mqtt://127.0.0.1:1883"}
        buses:
          - {name: header, type: i2c, device: /dev/i2c-1}
        devices:

        """

    static func load(_ devices: String) throws(ConfigErrors) -> Config {
        try ConfigLoader(families: [I2CFamily()]).parse(yaml: head + devices, file: "/etc/fieldlink/i2c.yaml", environment: [:])
    }

    static func problems(_ devices: String) -> [String] {
        do {
            _ = try load(devices)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func readsDriversAddressesAndPoints() throws {
        let config = try Self.load("""
              - {name: room, bus: header, driver: bme280, interval: 5s, points: [{name: temperature}, {name: hpa, measure: pressure, scale: 0.01}]}
              - {name: adc, bus: header, driver: ads1115, address: 0x49, gain: 4.096, interval: 1s, points: [{name: ain2}]}
              - {name: eeprom, bus: header, driver: registers, address: 0x50, interval: 1s,
                 points: [{name: level, register: 0x10, type: int16, order: little}, {name: raw, register: 0x20}]}

            """)
        #expect((config.buses[0].options as! I2CBusOptions).device == "/dev/i2c-1")
        let room = config.devices[0].options as! I2CDeviceOptions
        #expect(room.driver == .bme280 && room.address == 0x76 && room.gain == nil)
        #expect(config.devices[0].points.map { ($0.options as! I2CPointOptions).source } == [.quantity("temperature"), .quantity("pressure")])
        #expect((config.devices[1].options as! I2CDeviceOptions).description == "ads1115 at 0x49, ±4.096 V")
        #expect(config.devices[2].points.map { "\($0.options)" } == ["register 0x10 int16 little", "register 0x20 uint16 big"])
    }

    @Test func pointsTakeTheirDriversUnitUnlessScaledOrGivenOne() throws {
        let config = try Self.load("""
              - {name: room, bus: header, driver: bme280, interval: 5s,
                 points: [{name: temperature}, {name: hpa, measure: pressure, scale: 0.01}, {name: rh, measure: humidity, unit: "%"}]}
              - {name: adc, bus: header, driver: ads1115, address: 0x49, interval: 1s, points: [{name: ain2}]}
              - {name: eeprom, bus: header, driver: registers, address: 0x50, interval: 1s, points: [{name: raw, register: 0x20}]}

            """)
        #expect(config.devices[0].points.map(\.unit) == ["°C", nil, "%"])
        #expect(config.devices[1].points.map(\.unit) == ["V"])
        #expect(config.devices[2].points.map(\.unit) == [nil])
    }

    @Test func configErrorsAreLocated() {
        let problems = Self.problems("""
              - {name: a, bus: header, driver: tmp103, interval: 1s, points: [{name: temperature}]}
              - {name: b, bus: header, driver: tmp102, interval: 1s, points: [{name: humidity}]}
              - {name: c, bus: header, driver: sht3x, interval: 1s, points: [{name: t, measure: temp}, {name: x, register: 3}]}
              - {name: d, bus: header, driver: registers, interval: 1s, points: [{name: r, type: int16}]}
              - {name: e, bus: header, driver: tmp102, address: 0x90, gain: 2.048, interval: 1s, points: [{name: temperature}]}
              - {name: f, bus: header, driver: ads1115, gain: 3, interval: 1s, points: [{name: ain0}]}
              - {name: g, bus: header, driver: registers, address: 0x50, interval: 1s, points: [{name: r, register: 0xFE, type: uint32}]}

            """)
        let expected = [
            "i2c.yaml:6:36: devices[0].driver: unknown value \"tmp103\" (expected one of tmp102, lm75, lm75a, sht3x, bme280, ads1115, bh1750, registers)",
            "i2c.yaml:7:74: devices[1].points[0].name: tmp102 measures temperature, not \"humidity\" (name the quantity with measure: to give the point another name)",
            "i2c.yaml:8:85: devices[2].points[0].measure: sht3x measures temperature, humidity, not \"temp\"",
            "i2c.yaml:8:112: devices[2].points[1].register: register is a registers-driver key; a sht3x point takes measure",
            "i2c.yaml:9:36: devices[3].driver: the registers driver needs an address",
            "i2c.yaml:9:70: devices[3].points[0]: missing required key \"register\" (a registers point names its register)",
            "i2c.yaml:10:53: devices[4].address: 144 is out of range (8...119)",
            "i2c.yaml:10:65: devices[4].gain: gain is an ads1115 setting",
            "i2c.yaml:11:51: devices[5].gain: unsupported gain 3.0 (expected one of 6.144, 4.096, 2.048, 1.024, 0.512, 0.256 volts full scale)",
            "i2c.yaml:12:105: devices[6].points[0].register: uint32 at 0xfe runs past the last register 0xff",
        ]
        #expect(problems.count == expected.count, "\(problems.joined(separator: "\n"))")
        for line in expected {
            #expect(problems.contains { $0.hasSuffix(line) }, "missing: \(line)\nall:\n\(problems.joined(separator: "\n"))")
        }
    }

    @Test func aDeviceThatDoesNotAnswerFailsAloneAndIsNamed() throws {
        let config = try Self.load("""
              - {name: gone, bus: header, driver: sht3x, interval: 1s, points: [{name: temperature}, {name: humidity}]}
              - {name: here, bus: header, driver: tmp102, interval: 1s, points: [{name: t, measure: temperature, scale: 1.8, offset: 32}]}
              - {name: crc, bus: header, driver: sht3x, address: 0x45, interval: 1s, points: [{name: humidity}]}

            """)
        let broken = SHT3xChip(temperature: 0x6666, humidity: 0x8000)
        broken.corruptHumidityCRC = true
        let bus = FakeI2CBus(chips: [0x48: RegisterFileChip([0x00: [0x19, 0x00]]), 0x45: broken])
        let sink = RecordingSink()
        let owner = BusOwner(driver: I2CDriver(device: "/dev/i2c-1", devices: config.devices, openBus: { _ in bus }), devices: config.devices,
                             sink: sink, clock: ManualClock(), logger: Logger(label: "test"))
        owner.scheduledPoll(0)
        #expect(sink.readings.isEmpty, "a poll where every point failed publishes nothing")
        let health = try #require(sink.health.last)
        #expect(!health.ok && health.error == "all 2 point(s) failed: no device at 0x44 (no acknowledge)")
        owner.scheduledPoll(0)
        #expect(sink.health.count == 1)  // logged once per change

        owner.scheduledPoll(1)
        let here = try #require(sink.readings.last)
        #expect(here.errors.isEmpty)
        #expect(here.values.map(\.name) == ["t"] && here.values.first?.value == .double(77))
        owner.scheduledPoll(2)
        #expect(sink.health.last?.error?.contains("SHT3x at 0x45: humidity CRC mismatch") == true)
    }

    @Test func aMissingAdapterIsNamedAndRetried() throws {
        let config = try Self.load("""
              - {name: t, bus: header, driver: tmp102, interval: 1s, points: [{name: temperature}]}

            """)
        var opens = 0
        let driver = I2CDriver(device: "/dev/i2c-9", devices: config.devices, openBus: { path throws(I2CError) in
            opens += 1
            throw I2CError(.adapter, "cannot open \(path): No such file or directory")
        })
        let reading = driver.commissioningReading(of: config.devices[0], logger: Logger(label: "test"))
        #expect(reading.errors.first?.reason == "cannot open /dev/i2c-9: No such file or directory")
        _ = driver.poll(0)
        #expect(opens == 2)
    }

    @Test func theRealAdapterNamesAMissingDevice() {
        #expect(throws: I2CError(.adapter, "cannot open /nonexistent/i2c-7: No such file or directory; \(DeviceNodes.enableI2C)")) {
            try I2CAdapter(path: "/nonexistent/i2c-7")
        }
        // /dev/null opens but is no adapter: I2C_FUNCS fails.
        #expect { try I2CAdapter(path: "/dev/null") } throws: { ($0 as? I2CError)?.code == .adapter }
    }
}
