@testable import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// Many alike devices written once: YAML merge keys, top-level `x-` anchor holders, `enabled: false`.
@Suite struct ConfigMergeKeyTests {
    static let head = """
        x-meter: &meter
          bus: rs485
          interval: 5s
          points:
            - {name: voltage, address: 0, type: float32, unit: V}
        x-fast: &fast
          interval: 1s
          qos: 2
        gateway:
          id: gw-1
        mqtt:
          url: mqtt://localhost
        buses:
          - &line {name: rs485, type: modbus-rtu, port: /dev/ttyUSB0}
          - {<<: *line, name: line2, port: /dev/ttyUSB1, baud: 19200}
        devices:

        """

    static func parse(_ devices: String) throws(ConfigErrors) -> Config {
        try ConfigFixture.parse(head + devices)
    }

    @Test func aMergedAnchorGivesEveryKeyAndExplicitKeysWin() throws {
        let config = try Self.parse("""
              - {<<: *meter, name: m1, unit: 1}
              - {<<: *meter, name: m2, unit: 2, interval: 10s}

            """)
        #expect(config.devices.map(\.name) == ["m1", "m2"])
        #expect(config.devices.map(\.bus) == ["rs485", "rs485"])
        #expect(config.devices.map(\.interval) == [.seconds(5), .seconds(10)])
        #expect(config.devices.map { ($0.options as? ModbusDeviceOptions)?.unit } == [1, 2])
        #expect(config.devices.allSatisfy { $0.points.map(\.name) == ["voltage"] })
    }

    @Test func aListOfAnchorsMergesEarlierFirst() throws {
        // yaml.org/type/merge: in a list, an earlier mapping's key wins over a later one's.
        let config = try Self.parse("""
              - {<<: [*fast, *meter], name: m1, unit: 1}
              - name: m2
                <<: [*meter, *fast]
                unit: 2

            """)
        #expect(config.devices.map(\.interval) == [.seconds(1), .seconds(5)])
        #expect(config.devices.map(\.qos) == [2, 2])
    }

    @Test func mergeKeysWorkOnBusesToo() throws {
        let config = try Self.parse("  - {<<: *meter, name: m1, unit: 1, bus: line2}\n")
        let line2 = try #require(config.buses.last?.options as? ModbusRTUBusOptions)
        #expect(line2.port == "/dev/ttyUSB1")
        #expect(line2.baud == 19_200)
        #expect(config.buses.map(\.type) == ["modbus-rtu", "modbus-rtu"])
    }

    @Test func aProblemInAnAnchorIsReportedOnceAtTheAnchorsLine() {
        let yaml = Self.head.replacingOccurrences(of: "  interval: 5s\n", with: "  interval: 5s\n  unitt: 3\n")
            + "  - {<<: *meter, name: m1, unit: 1}\n  - {<<: *meter, name: m2, unit: 2}\n"
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.count == 1)
        #expect(problems.first?.location == ConfigFixture.location(of: "  |unitt: 3", in: yaml))
        #expect(problems.first?.message.hasPrefix(#"unknown key "unitt""#) == true)
        #expect(problems.first?.path == "devices[0].unitt")
    }

    @Test func aMissingKeyIsReportedAtTheEntryThatMerges() {
        let yaml = Self.head + "  - {<<: *fast, name: m1, unit: 1}\n"
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.map(\.message) == [#"missing required key "bus""#])
        #expect(problems.first?.location == ConfigFixture.location(of: "  - |{<<: *fast, name: m1", in: yaml))
    }

    @Test func mergingAScalarIsAProblemThatSaysHow() {
        let yaml = Self.head + "  - {<<: 5, name: m1, unit: 1, bus: rs485, interval: 1s, points: [{name: a, address: 0}]}\n"
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("<<: *anchor") == true)
        #expect(problems.first?.path == "devices[0].<<")
    }

    @Test func topLevelXKeysAreIgnoredButOtherUnknownKeysAreNot() {
        #expect(throws: Never.self) { try Self.parse("  - {<<: *meter, name: m1, unit: 1}\n") }
        let yaml = Self.head.replacingOccurrences(of: "gateway:\n", with: "y-meter: 1\ngateway:\n") + "  - {<<: *meter, name: m1, unit: 1}\n"
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.map(\.path) == ["y-meter"])
        #expect(problems.first?.message.contains("x-") == false)
    }

    @Test func xKeysAreOnlyIgnoredAtTheTop() {
        let yaml = Self.head.replacingOccurrences(of: "  id: gw-1\n", with: "  id: gw-1\n  x-note: 1\n") + "  - {<<: *meter, name: m1, unit: 1}\n"
        #expect(ConfigFixture.problems(yaml).map(\.path) == ["gateway.x-note"])
    }

    @Test func disabledDevicesAndBusesAreCheckedButNotRun() throws {
        let config = try Self.parse("""
              - {<<: *meter, name: m1, unit: 1}
              - {<<: *meter, name: m2, unit: 2, enabled: false}
              - {<<: *meter, name: m3, unit: 3, bus: line2}

            """)
        #expect(config.devices.map(\.name) == ["m1", "m3"])
        #expect(config.disabledDevices == ["m2"])

        let offLine = try ConfigFixture.parse((Self.head + """
              - {<<: *meter, name: m1, unit: 1}
              - {<<: *meter, name: m3, unit: 3, bus: line2}

            """).replacingOccurrences(of: "baud: 19200}", with: "baud: 19200, enabled: no}"))
        #expect(offLine.buses.map(\.name) == ["rs485"])
        #expect(offLine.disabledBuses == ["line2"])
        #expect(offLine.devices.map(\.name) == ["m1"])
        #expect(offLine.disabledDevices == ["m3"])
    }

    @Test func aDisabledDeviceIsStillChecked() {
        let yaml = Self.head + "  - {<<: *meter, name: m2, unit: 300, enabled: false}\n"
        #expect(ConfigFixture.problems(yaml).map(\.path) == ["devices[0].unit"])
        let notABool = Self.head + "  - {<<: *meter, name: m2, unit: 3, enabled: maybe}\n"
        #expect(ConfigFixture.problems(notABool).map(\.message) == [#"expected true or false, found "maybe""#])
    }
}
