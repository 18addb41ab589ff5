@testable import FieldlinkSerial
import Testing
import TestSupport

/// The README's serial tables document the defaults the family falls back to.
@Suite struct SerialReadmeDefaultsTests {
    @Test func busAndDeviceTables() throws {
        let readme = try Readme()
        let bus = readme.tableDefaults("Serial text sensors (`type: serial`)")
        let settings = SerialSettings()
        #expect(bus["baud"] == "\(settings.baud)")
        #expect(bus["parity"] == "\(settings.parity.rawValue), \(settings.dataBits), \(settings.stopBits)")
        #expect(bus["flow"] == settings.flow.rawValue)
        #expect(bus["exclusive"] == "\(settings.exclusive)")
        #expect(bus["mode"] == SerialBusOptions.defaultMode.rawValue)
        #expect(bus["max_frame"] == "\(SerialFamily.defaultMaxFrame >> 10)KiB")
        let device = readme.tableDefaults("Serial text sensors (`type: serial`)", table: 1)
        #expect(device["aggregate"] == SerialDeviceOptions.defaultAggregate.rawValue)
        #expect(device["request"] == "—, \(SerialDeviceOptions.defaultTimeout.configText)")
    }
}
