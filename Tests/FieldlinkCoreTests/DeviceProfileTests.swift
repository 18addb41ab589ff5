@testable import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// `profile:` on a device: loading, merging, overriding, picking, and problems located in the right file.
@Suite(.timeLimit(.minutes(1)))
struct DeviceProfileTests {
    /// A config folder with its own devices/ and a separate "installed" profile folder.
    final class Site {
        let directory: TemporaryDirectory
        var config: String { "\(directory.path)/fieldlink.yaml" }
        var own: String { "\(directory.path)/devices" }
        var installed: String { "\(directory.path)/installed" }

        init() throws {
            directory = try TemporaryDirectory()
            try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: installed, withIntermediateDirectories: true)
        }

        func write(_ text: String, to path: String) throws {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }

        /// The config with `devices` (YAML list entries, each indented by two spaces) under one bus.
        func yaml(_ devices: String) -> String {
            """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0}]
            devices:
            \(devices)
            """
        }

        var loader: ConfigLoader { ConfigLoader(families: [ModbusFamily()], profileDirectories: [installed]) }

        func parse(_ devices: String) throws(ConfigErrors) -> Config {
            try loader.parse(yaml: yaml(devices), file: config)
        }

        func problems(_ devices: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigProblem] {
            do {
                _ = try parse(devices)
                Issue.record("config loaded although it should not", sourceLocation: sourceLocation)
                return []
            } catch {
                return error.problems
            }
        }
    }

    static let meter = """
        # Test meter. Source: none, a fixture.
        model: Test Meter 1
        defaults: {table: input, type: float32}
        points:
          - {name: voltage, address: 0, unit: V}
          - {name: current, address: 6, unit: A}
          - {name: energy, address: 0x48, type: uint32, order: CDAB, scale: 0.01, unit: kWh}
          - {name: status, table: holding, address: 100, type: uint16, map: {0: ok, 1: alarm}}

        """

    @Test func aDeviceTakesItsProfilesPointsWithTheDefaultsApplied() throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.installed)/test-meter.yaml")
        let device = try site.parse("  - {name: m, bus: rs485, unit: 1, interval: 1s, profile: test-meter}").devices[0]
        #expect(device.points.map(\.name) == ["voltage", "current", "energy", "status"])
        #expect(device.points.allSatisfy { $0.origin == .profile })
        #expect(device.profile == ProfileReference(name: "test-meter", file: "\(site.installed)/test-meter.yaml", model: "Test Meter 1"))
        let voltage = try #require(device.points[0].options as? ModbusPointOptions)
        #expect(voltage.table == .input)
        #expect(voltage.type == .float32)
        let energy = try #require(device.points[2].options as? ModbusPointOptions)
        #expect(energy.type == .uint32)
        #expect(energy.order == .cdab)
        #expect(device.points[2].transform == LinearTransform(scale: 0.01, offset: 0))
        #expect(device.points[3].labels == [0: "ok", 1: "alarm"])
        #expect(device.points[0].location.file == "\(site.installed)/test-meter.yaml")
        #expect(device.points[0].location.line == 5)
    }

    @Test func aDevicesOwnEntryOverridesTheProfilePointOfTheSameNameKeyByKey() throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.installed)/test-meter.yaml")
        let device = try site.parse("""
              - name: m
                bus: rs485
                unit: 1
                interval: 1s
                profile: test-meter
                points:
                  - {name: humidity, table: input, address: 200, type: uint16, scale: 0.1}
                  - {name: energy, scale: 0.001, precision: 2, deadband: 0.5}
                  - {name: voltage, unit: null}
            """).devices[0]
        #expect(device.points.map(\.name) == ["voltage", "current", "energy", "status", "humidity"])
        #expect(device.points.map(\.origin) == [.profileOverridden, .profile, .profileOverridden, .profile, .config])
        let energy = device.points[2]
        #expect(energy.transform == LinearTransform(scale: 0.001, offset: 0, precision: 2))
        #expect(energy.unit == "kWh")
        #expect(energy.deadband == .absolute(0.5))
        let options = try #require(energy.options as? ModbusPointOptions)
        #expect(options.address == 0x48)
        #expect(options.order == .cdab)
        #expect(energy.location.file == site.config)
        #expect(device.points[0].unit == nil, "null removes the profile's unit")
        #expect((device.points[4].options as? ModbusPointOptions)?.address == 200)
    }

    @Test func profilePointsPicksASubsetInTheProfilesOrder() throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.installed)/test-meter.yaml")
        let device = try site.parse("""
              - {name: m, bus: rs485, unit: 1, interval: 1s, profile: test-meter, profile_points: [status, voltage],
                 points: [{name: current, scale: 1000, unit: mA}]}
            """).devices[0]
        #expect(device.points.map(\.name) == ["voltage", "current", "status"])
        #expect(device.points[1].unit == "mA")
    }

    @Test func theConfigFoldersOwnProfileWinsOverAnInstalledOne() throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.installed)/test-meter.yaml")
        try site.write(Self.meter.replacingOccurrences(of: "Test Meter 1", with: "Corrected copy"), to: "\(site.own)/test-meter.yaml")
        let device = try site.parse("  - {name: m, bus: rs485, unit: 1, interval: 1s, profile: test-meter}").devices[0]
        #expect(device.profile?.model == "Corrected copy")
        #expect(device.profile?.file == "\(site.own)/test-meter.yaml")
    }

    @Test func aProfileMayBeGivenAsAPathRelativeToTheConfig() throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.directory.path)/vendor/meter-v2.yaml")
        let device = try site.parse("  - {name: m, bus: rs485, unit: 1, interval: 1s, profile: vendor/meter-v2.yaml}").devices[0]
        #expect(device.profile?.name == "meter-v2")
        #expect(device.points.count == 4)
    }

    @Test func problemsInsideAProfileNameTheProfileFileOnceHoweverManyDevicesUseIt() throws {
        let site = try Site()
        let file = "\(site.installed)/broken.yaml"
        try site.write("""
            model: Broken
            points:
              - {name: a, address: 0, type: flaot32}
              - {name: b, adress: 2}

            """, to: file)
        let problems = site.problems("""
              - {name: m1, bus: rs485, unit: 1, interval: 1s, profile: broken}
              - {name: m2, bus: rs485, unit: 2, interval: 1s, profile: broken}
            """)
        #expect(problems.map(\.description) == [
            #"\#(file):3:33: points[0].type: unknown value "flaot32" (expected one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, raw)"#,
            #"\#(file):4:5: points[1]: missing required key "address""#,
            #"\#(file):4:15: points[1].adress: unknown key "adress" (expected one of name, unit, scale, offset, precision, map, topic, qos, retain, deadband, writable, min, max, min_write_interval, table, address, bit, type, order, length, write_function)"#,
        ])
    }

    @Test func aProfileThatIsNotYAMLIsLocatedInItsFile() throws {
        let site = try Site()
        try site.write("model: X\npoints: [{name: a, address: 0}\n", to: "\(site.installed)/torn.yaml")
        let problems = site.problems("  - {name: m, bus: rs485, unit: 1, interval: 1s, profile: torn}")
        #expect(problems.count == 1)
        #expect(problems.first?.location.file == "\(site.installed)/torn.yaml")
        #expect(problems.first?.message.hasPrefix("YAML") == true)
    }

    @Test func anUnknownProfileListsWhereItLookedAndWhatIsThere() throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.installed)/test-meter.yaml")
        let problems = site.problems("  - {name: m, bus: rs485, unit: 1, interval: 1s, profile: test-metre}")
        #expect(problems.map(\.description) == [
            "\(site.config):5:59: devices[0].profile: no profile \"test-metre\" in \(site.own), \(site.installed) (available: test-meter); "
                + "add its directory with a top-level profiles: [DIR, ...] (relative to the config file) or FIELDLINK_PROFILES=DIR:DIR, "
                + "or give profile: a path to the .yaml file"
        ])
    }

    @Test(arguments: [
        ("profile_points: [voltage, power]", "devices[0].profile_points[1]", #"no point "power" in profile test-meter (points: voltage, current, energy, status)"#),
        ("profile: \"../no-such-profile.yaml\"", "devices[0].profile", "cannot read /no-such-profile.yaml: No such file or directory"),
        ("profile: \"./devices/\"", "devices[0].profile", " is a folder, not a profile file"),
        ("profile: \"a b\"", "devices[0].profile", #""a b" is neither a profile name (letters, digits, "-", "_", ".") nor a path to a .yaml file"#),
    ])
    func deviceLevelProfileMistakes(key: String, path: String, message: String) throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.installed)/test-meter.yaml")
        let profile = key.hasPrefix("profile:") ? key : "profile: test-meter, \(key)"
        let problems = site.problems("  - {name: m, bus: rs485, unit: 1, interval: 1s, \(profile)}")
        #expect(problems.map(\.path) == [path])
        let parent = URL(fileURLWithPath: site.directory.path).deletingLastPathComponent().path
        let expected = message.hasPrefix(" is a folder") ? site.own + message
            : message.replacingOccurrences(of: "/no-such", with: parent + "/no-such")
        #expect(problems.map(\.message) == [expected])
    }

    @Test func aDeviceWithoutAProfileStillNeedsPointsAndProfilePointsNeedsAProfile() throws {
        let site = try Site()
        #expect(site.problems("  - {name: m, bus: rs485, unit: 1, interval: 1s}").map(\.message) == [#"missing required key "points""#])
        #expect(site.problems("  - {name: m, bus: rs485, unit: 1, interval: 1s, profile_points: [a], points: [{name: a, address: 0}]}")
            .map(\.message) == ["profile_points picks points of a profile; this device has no profile"])
    }

    @Test func checkShowsWhereEachPointCameFrom() throws {
        let site = try Site()
        try site.write(Self.meter, to: "\(site.installed)/test-meter.yaml")
        let config = try site.parse("""
              - {name: m, bus: rs485, unit: 1, interval: 1s, profile: test-meter, points: [{name: voltage, precision: 1}, {name: extra, address: 9}]}
            """)
        #expect(config.devices[0].points.map(\.origin.rawValue) == ["profile, overridden", "profile", "profile", "profile", "config"])
    }
}

/// The Modbus family's point keys that only make sense together.
@Suite(.timeLimit(.minutes(1)))
struct ModbusPointKeyTests {
    static func problems(_ point: String) -> [String] {
        let yaml = """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0}]
            devices: [{name: m, bus: rs485, unit: 1, interval: 1s, points: [\(point)]}]
            """
        do {
            _ = try ConfigLoader(families: [ModbusFamily()], profileDirectories: []).parse(yaml: yaml, file: "/nonexistent/f.yaml")
            return []
        } catch {
            return error.problems.map { "\($0.path): \($0.message)" }
        }
    }

    @Test(arguments: [
        ("{name: p, table: coil, address: 0, bit: 3}", "devices[0].points[0].bit: bit picks a bit of a register; a coil point is a single bit already"),
        ("{name: p, address: 0, type: uint16, bit: 3}", "devices[0].points[0].bit: bit makes a bool from one bit of the register; this point's type is uint16"),
        ("{name: p, address: 0, bit: 16}", "devices[0].points[0].bit: 16 is out of range (0...15)"),
        ("{name: p, address: 0, type: int16, length: 2}", "devices[0].points[0].length: length is for string and raw points; a int16 has a fixed size"),
        ("{name: p, address: 0, type: string}", "devices[0].points[0].type: a string needs its length in registers (length: N, two characters each)"),
        ("{name: p, address: 0, type: string, length: 4, order: swap_words}", "devices[0].points[0].order: a string's registers are read in order: use ABCD (high byte first) or BADC (low byte first)"),
        ("{name: p, address: 0, type: raw, order: CDAB}", "devices[0].points[0].order: raw shows the registers as they arrive; it takes no order"),
        ("{name: p, address: 0, type: float32, map: {0: off}}", "devices[0].points[0].map: map labels integer values; this point's type is float32"),
        ("{name: p, address: 0, type: string, length: 2, scale: 0.1}", "devices[0].points[0].scale: scale is for numbers; this point's type is string"),
        ("{name: p, address: 0, precision: 13}", "devices[0].points[0].precision: 13 is out of range (0...12)"),
        ("{name: p, address: 0, map: {}}", "devices[0].points[0].map: a map needs at least one raw value and its label"),
        ("{name: p, address: 0, map: {x: off}}", #"devices[0].points[0].map.x: expected an integer, found "x""#),
        ("{name: p, address: 65530, type: string, length: 8}", "devices[0].points[0].address: string at 65530 runs past the last register address 65535"),
        ("{name: p, address: 0, type: raw, length: 126}", "devices[0].points[0].length: 126 is out of range (1...125)"),
    ])
    func keysThatDoNotGoTogetherAreReported(point: String, problem: String) {
        #expect(Self.problems(point) == [problem])
    }

    @Test(arguments: [
        "{name: p, address: 0, bit: 15}", "{name: p, address: 0, type: bool, bit: 0, map: {0: off, 1: on}}",
        "{name: p, address: 0, type: string, length: 10, order: byte_swap}", "{name: p, address: 0, type: raw}",
        "{name: p, address: 0, type: int32, order: little-endian, precision: 0, map: {0x10: sixteen, -1: none}}",
    ])
    func sensibleCombinationsLoad(point: String) {
        #expect(Self.problems(point) == [])
    }
}
