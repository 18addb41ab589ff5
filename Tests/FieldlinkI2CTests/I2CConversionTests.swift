import BusTestSupport
import FieldlinkCore
@testable import FieldlinkI2C
import Logging
import Testing

/// The shared conversion table through the I2C family: a `registers` device whose registers hold
/// each case's raw value, polled through the fake adapter and converted by the bus owner.
@Suite struct I2CConversionTests {
    @Test func theConversionTableHoldsOnAnI2CPoint() throws {
        let chip = RegisterFileChip()
        var points: [String] = []
        for (index, conversion) in ConversionTable.cases.enumerated() {
            let register = UInt8(index * 4)
            switch conversion.raw {
            case .integer(let raw):
                chip.set(register, [UInt8(truncatingIfNeeded: UInt16(bitPattern: raw) >> 8), UInt8(truncatingIfNeeded: raw)])
                points.append("{name: \(conversion.point), register: \(register), type: int16\(conversion.yamlKeys)}")
            case .float(let raw):
                let bits = raw.bitPattern
                chip.set(register, [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: bits >> $0) })
                points.append("{name: \(conversion.point), register: \(register), type: float32\(conversion.yamlKeys)}")
            }
        }
        let config = try I2CFamilyTests.load("""
              - {name: table, bus: header, driver: registers, address: 0x20, interval: 1s, points: [\(points.joined(separator: ", "))]}

            """)
        let bus = FakeI2CBus(chips: [0x20: chip])
        let sink = RecordingSink()
        BusOwner(driver: I2CDriver(device: "/dev/i2c-1", devices: config.devices, openBus: { _ in bus }), devices: config.devices, sink: sink,
                 clock: ManualClock(), logger: Logger(label: "test")).scheduledPoll(0)
        let reading = try #require(sink.readings.first)
        #expect(ConversionTable.mismatches(in: reading) == [])
    }
}
