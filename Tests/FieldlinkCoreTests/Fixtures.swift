import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// The configs the loader tests start from, and the helpers that edit them and locate problems in them.
enum ConfigFixture {
    /// Where the fixture pretends to live; relative paths resolve against its directory.
    static let file = "/etc/fieldlink/fieldlink.yaml"
    static let loader = ConfigLoader(families: [ModbusFamily()])

    /// The last device's points, kept apart so a test can remove them whole.
    static let climatePoints = """
            points:
              - name: temperature
                table: input
                address: 0
                type: int16
                scale: 0.1
                offset: -40
                unit: °C
              - {name: humidity, table: input, address: 1, scale: 0.1, unit: "%"}
              - {name: alarm, table: discrete, address: 3}
              - {name: counter, address: 0x10, type: uint64, order: DCBA}

        """

    /// A valid config that sets every key at least once. Bus `spare` has no devices, so editing it
    /// causes no follow-on problems.
    static let full = """
        # fieldlink test config: every key at least once
        gateway:
          id: gw-1
          state_dir: /var/lib/fieldlink-test
        mqtt:
          url: mqtt://broker.example:1884
          client_id: gw-1-client
          username: fieldlink
          password: s3cret
          version: "3.1.1"
          keepalive: 45s
          max_inflight: 20
          reconnect_delay: 500ms
          reconnect_delay_max: 30s
          drain_timeout: 2s
        buffer:
          memory_messages: 500
        buses:
          - name: rs485
            type: modbus-rtu
            port: /dev/ttyUSB0
            baud: 9600
            parity: none
            data_bits: 7
            stop_bits: 2
            timeout: 250ms
          - name: line2
            type: modbus-rtu
            port: /dev/ttyUSB1
          - name: spare
            type: modbus-rtu
            port: /dev/ttyUSB9
        devices:
          - name: meter1
            bus: rs485
            unit: 1
            timeout: 1s
            interval: 1s
            topic: site/{gateway}/{bus}/{device}
            qos: 2
            retain: true
            points:
              - {name: voltage, address: 0, type: float32, unit: V}
              - {name: energy, address: 2, type: uint32, order: cdab, scale: 0.01, unit: kWh}
              - {name: relay, table: coil, address: 16}
          - name: climate
            bus: line2
            unit: 247
            interval: 2s

        """ + climatePoints

    /// Only the required keys: everything else takes its default.
    static let minimal = """
        gateway:
          id: gw-min
        mqtt:
          url: mqtt://localhost
        buses:
          - {name: bus0, type: modbus-rtu, port: /dev/ttyS0}
        devices:
          - name: dev0
            bus: bus0
            unit: 5
            interval: 500ms
            points:
              - {name: reg, address: 7}
              - {name: flag, table: coil, address: 7}

        """

    /// One text substitution; `old` must occur exactly once in the text it is applied to.
    struct Edit: Sendable {
        var old: String
        var new: String
        init(_ old: String, _ new: String) {
            self.old = old
            self.new = new
        }
    }

    /// `base` with every edit applied; an edit that does not match exactly once is a bug in the test.
    static func edited(_ edits: [Edit], base: String = full, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        var text = base
        for edit in edits {
            let count = text.components(separatedBy: edit.old).count - 1
            if count != 1 {
                Issue.record("edit target \(edit.old.debugDescription) occurs \(count) times", sourceLocation: sourceLocation)
            }
            text = text.replacingOccurrences(of: edit.old, with: edit.new)
        }
        return text
    }

    static func parse(_ yaml: String) throws(ConfigErrors) -> Config {
        try loader.parse(yaml: yaml, file: file)
    }

    /// The problems `yaml` produces; a config that loads is recorded as an issue.
    static func problems(_ yaml: String, file: String = file, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigProblem] {
        do {
            _ = try loader.parse(yaml: yaml, file: file)
            Issue.record("config loaded although it should not", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.problems
        }
    }

    /// The location of the `|` in `marker`, where `marker` without its `|` occurs exactly once in `yaml`.
    /// Columns count Unicode scalars, as libyaml does.
    static func location(of marker: String, in yaml: String, file: String = file,
                         sourceLocation: SourceLocation = #_sourceLocation) -> ConfigLocation {
        guard let bar = marker.firstIndex(of: "|") else {
            Issue.record("marker \(marker.debugDescription) has no |", sourceLocation: sourceLocation)
            return ConfigLocation(file: file, line: 0, column: 0)
        }
        let before = marker[..<bar]
        let needle = before + marker[marker.index(after: bar)...]
        let matches = yaml.components(separatedBy: needle).count - 1
        guard matches == 1, let range = yaml.range(of: needle) else {
            Issue.record("marker \(marker.debugDescription) occurs \(matches) times", sourceLocation: sourceLocation)
            return ConfigLocation(file: file, line: 0, column: 0)
        }
        let prefix = yaml[..<range.lowerBound] + before
        let lines = prefix.split(separator: "\n", omittingEmptySubsequences: false)
        return ConfigLocation(file: file, line: lines.count, column: lines.last!.unicodeScalars.count + 1)
    }
}

/// A config that must fail with exactly one problem: what to change, and the problem expected.
struct ProblemCase: Sendable, CustomTestStringConvertible {
    var edits: [ConfigFixture.Edit]
    var path: String
    var message: String
    /// A marker with `|` at the problem's location, see `ConfigFixture.location(of:in:)`.
    var at: String

    init(_ old: String, _ new: String, path: String, message: String, at: String) {
        self.init(edits: [.init(old, new)], path: path, message: message, at: at)
    }

    init(edits: [ConfigFixture.Edit], path: String, message: String, at: String) {
        self.edits = edits
        self.path = path
        self.message = message
        self.at = at
    }

    var testDescription: String { path.isEmpty ? message : "\(path): \(message)" }

    /// Applies the edits to the full fixture and checks that exactly this problem, and nothing else, is reported.
    func check(sourceLocation: SourceLocation = #_sourceLocation) {
        let yaml = ConfigFixture.edited(edits, sourceLocation: sourceLocation)
        let expected = ConfigProblem(location: ConfigFixture.location(of: at, in: yaml, sourceLocation: sourceLocation),
                                     path: path, message: message)
        #expect(ConfigFixture.problems(yaml, sourceLocation: sourceLocation) == [expected], sourceLocation: sourceLocation)
    }
}

/// A fresh directory under the system temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlink-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
