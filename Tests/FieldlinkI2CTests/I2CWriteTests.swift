import BusTestSupport
import FieldlinkCore
@testable import FieldlinkI2C
import Logging
import Testing

/// Write-back on I2C: the `registers` driver's registers, through the fake adapter.
@Suite(.timeLimit(.minutes(1)))
struct I2CWriteTests {
    static func owner(_ chip: RegisterFileChip) throws -> (BusOwner<I2CDriver>, RecordingSink, FakeI2CBus) {
        let config = try ConfigLoader(families: [I2CFamily()]).parse(yaml: """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: header, type: i2c, device: /dev/i2c-1}]
            devices:
              - name: dac
                bus: header
                driver: registers
                address: 0x20
                interval: 1s
                points:
                  - {name: level, register: 0x10, type: uint16, order: little, scale: 0.5, writable: true, max: 1000}
                  - {name: trim, register: 0x12, type: int8, writable: true}
                  - {name: id, register: 0x00, type: uint8}
            """, file: "/nonexistent/i2c.yaml")
        let bus = FakeI2CBus(chips: [0x20: chip])
        let sink = RecordingSink()
        let owner = BusOwner(driver: I2CDriver(device: "/dev/i2c-1", devices: config.devices, openBus: { _ in bus }), devices: config.devices,
                             sink: sink, clock: ManualClock(), logger: Logger(label: "test"))
        return (owner, sink, bus)
    }

    @Test func aWritableRegisterIsWrittenInItsByteOrderAndReadBack() throws {
        let chip = RegisterFileChip([0x00: [0x5A]])
        let (owner, sink, _) = try Self.owner(chip)
        let results = owner.write(WriteRequest(device: "dac", values: [("level", .double(300.5)), ("trim", .int(-3))], source: "test"))
        #expect(results.map(\.ok) == [true, true], "\(results)")
        #expect(chip.registers[0x10] == 0x59 && chip.registers[0x11] == 0x02, "601 = 0x0259, low byte first")
        #expect(chip.registers[0x12] == 0xFD)
        #expect(chip.writes.contains([0x10, 0x59, 0x02]))
        #expect(sink.readings.last?.values.first { $0.name == "level" }?.value == .double(300.5))
    }

    @Test func refusalsNeverReachTheChip() throws {
        let chip = RegisterFileChip()
        let (owner, _, bus) = try Self.owner(chip)
        for (point, value) in [("level", Value.double(1001)), ("trim", .int(200)), ("id", .int(1)), ("level", .double(0.25))] {
            let results = owner.write(WriteRequest(device: "dac", values: [(point, value)], source: "test"))
            #expect(results.allSatisfy { if case .refused = $0.outcome { true } else { false } }, "\(point) = \(value): \(results)")
        }
        #expect(bus.log.isEmpty)
    }

    @Test func aSensorsMeasurementCannotBeWritable() {
        let yaml = """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: header, type: i2c, device: /dev/i2c-1}]
            devices:
              - {name: t, bus: header, driver: tmp102, interval: 1s, points: [{name: temperature, writable: true}]}
            """
        do {
            _ = try ConfigLoader(families: [I2CFamily()]).parse(yaml: yaml, file: "/nonexistent/i2c.yaml")
            Issue.record("accepted a writable sensor measurement")
        } catch {
            #expect(error.problems.contains { $0.description.contains("writable: this point cannot be writable: a sensor's measurements are read-only") }, "\(error)")
        }
    }
}
