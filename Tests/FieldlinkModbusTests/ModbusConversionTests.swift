import BusTestSupport
import FieldlinkCore
@testable import FieldlinkModbus
import Logging
import Testing

/// The shared conversion table through the Modbus family: holding registers with each case's raw
/// value, polled through the fake transport and converted by the bus owner.
@Suite struct ModbusConversionTests {
    @Test func theConversionTableHoldsOnAModbusPoint() throws {
        var image = RegisterImage()
        var points: [String] = []
        for (index, conversion) in ConversionTable.cases.enumerated() {
            let address = index * 2
            switch conversion.raw {
            case .integer(let raw):
                image.set(.holding, address, [UInt16(bitPattern: raw)])
                points.append("{name: \(conversion.point), address: \(address), type: int16\(conversion.yamlKeys)}")
            case .float(let raw):
                image.set(.holding, address, Wire.float32(raw))
                points.append("{name: \(conversion.point), address: \(address), type: float32\(conversion.yamlKeys)}")
            }
        }
        let harness = try ModbusHarness(devices: "- {name: table, bus: rs485, unit: 1, interval: 1s, points: [\(points.joined(separator: ", "))]}",
                                        images: [1: image])
        harness.owner.scheduledPoll(0)
        let reading = try #require(harness.sink.readings.first)
        #expect(ConversionTable.mismatches(in: reading) == [])
    }
}
