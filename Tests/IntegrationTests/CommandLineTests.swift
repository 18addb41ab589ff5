import Foundation
import Testing
import TestSupport

@Suite("Command line")
struct CommandLineTests {
    /// An invalid config with one known mistake per line; `token` is the text the location must point at.
    private static let problems: [(path: String, token: String, message: String)] = [
        ("gateway.id", "\"bad gw\"", "may contain only letters"),
        ("mqtt.url", "http://127.0.0.1:1883", "unsupported scheme \"http\""),
        ("mqtt.keepalive", "1s", "too short"),
        ("mqtt.reconnect_delay", "soon", "is not a duration"),
        ("buses[0].parity", "weird", "unknown value \"weird\""),
        ("buses[0].baud", "12345", "unsupported baud rate 12345"),
        ("devices[0].bus", "nope", "no bus named \"nope\""),
        ("devices[1].unit", "300", "out of range (1...247)"),
        ("devices[1].interval", "fast", "is not a duration"),
        ("devices[1].colour", "colour", "unknown key \"colour\""),
        ("devices[1].points[0].order", "XYZW", "unknown order \"XYZW\""),
        ("devices[1].points[1].type", "int16", "a coil point is a single bit"),
        ("devices[1].qos", "3", "out of range (0...2)"),
    ]

    private static let invalidConfig = """
        gateway:
          id: "bad gw"
          state_dir: STATE
        mqtt:
          url: http://127.0.0.1:1883
          keepalive: 1s
          reconnect_delay: soon
        buses:
          - {name: b1, type: modbus-rtu, port: /dev/null, parity: weird, baud: 12345}
        devices:
          - name: d1
            bus: nope
            interval: 1s
            points: [{name: x, address: 0}]
          - name: d2
            bus: b1
            unit: 300
            interval: fast
            qos: 3
            colour: red
            points:
              - {name: x, address: 0, type: float32, order: XYZW}
              - {name: y, table: coil, address: 1, type: int16}

        """

    @Test("check lists every problem as file:line:col: key.path: message and exits 78; run exits 78 without starting",
          .timeLimit(.minutes(2)))
    func invalidConfig() throws {
        let workspace = try Workspace("cli-invalid")
        defer { workspace.remove() }
        let state = "\(workspace.path)/state"
        let text = Self.invalidConfig.replacingOccurrences(of: "STATE", with: state)
        let file = try workspace.write(text, to: "bad.yaml")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)

        let check = try runFieldlink(["check", "--config", file], in: workspace.path, name: "check")
        #expect(check.status == 78)
        #expect(check.stdout.isEmpty)
        let reported = check.stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix(file + ":") }
        #expect(reported.count == Self.problems.count, "expected \(Self.problems.count) problems, got:\n\(check.stderr)")
        for problem in Self.problems {
            // Where the offending text stands (1-based line and column), found in the file itself.
            let lineIndex = try #require(lines.firstIndex { line in
                line.contains(problem.token) && line.contains(problem.path.split(separator: ".").last!.split(separator: "[").first!)
            }, "test bug: \(problem.token) not in the file")
            let line = lines[lineIndex]
            let column = line.distance(from: line.startIndex, to: line.range(of: problem.token)!.lowerBound) + 1
            let prefix = "\(file):\(lineIndex + 1):\(column): \(problem.path): "
            let match = reported.first { $0.hasPrefix(prefix) }
            #expect(match?.contains(problem.message) == true, "no \"\(prefix)... \(problem.message)\" in:\n\(check.stderr)")
        }

        let run = try runFieldlink(["run", "--config", file], in: workspace.path, name: "run", timeout: .seconds(10))
        #expect(run.status == 78)
        #expect(run.stderr.contains("\(file):5:8: mqtt.url: "), "\(run.stderr)")
        #expect(!run.stderr.contains("starting"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: state), "run created its state directory before giving up")

        let missing = try runFieldlink(["check", "--config", "\(workspace.path)/nope.yaml"], in: workspace.path, name: "check-missing")
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("\(workspace.path)/nope.yaml:1:1: cannot read config file"), "\(missing.stderr)")

        let syntax = try workspace.write("gateway:\n  id: gw\n mqtt: [\n", to: "syntax.yaml")
        let broken = try runFieldlink(["check", "--config", syntax], in: workspace.path, name: "check-syntax")
        #expect(broken.status == 78)
        #expect(broken.stderr.contains("\(syntax):"), "\(broken.stderr)")
    }

    @Test("check on a valid config exits 0 and prints the summary", .timeLimit(.minutes(2)))
    func validConfig() throws {
        let workspace = try Workspace("cli-valid")
        defer { workspace.remove() }
        let file = try workspace.write("""
            gateway:
              id: gw-check
              state_dir: \(workspace.path)/state
            mqtt:
              url: mqtt://127.0.0.1:1883
              username: field
              password: hunter2
            buses:
              - {name: line1, type: modbus-rtu, port: /dev/ttyUSB0, baud: 9600, parity: even, timeout: 300ms}
              - {name: line2, type: modbus-rtu, port: /dev/ttyUSB1, parity: none}
            devices:
              - name: meter
                bus: line1
                unit: 1
                interval: 1s
                points:
                  - {name: voltage, address: 0, type: float32, unit: V}
                  - {name: energy, address: 6, type: uint32, order: CDAB, scale: 0.01, unit: kWh}
              - name: climate
                bus: line2
                unit: 2
                interval: 2s
                topic: site/{gateway}/{bus}/{device}
                qos: 2
                points:
                  - {name: temperature, table: input, address: 0, type: int16, scale: 0.1}
                  - {name: relay, table: coil, address: 4}

            """, to: "good.yaml")
        let check = try runFieldlink(["check", "--config", file], in: workspace.path, name: "check")
        #expect(check.status == 0, "\(check.stderr)")
        let expected = [
            "\(file): valid",
            "gateway gw-check, state in \(workspace.path)/state",
            "broker mqtt://127.0.0.1:1883 as gw-check (MQTT 5, else 3.1.1 (auto), keepalive 30s, user field, password set)",
            "status on fieldlink/gw-check/status (retained online/offline, offline as last will)",
            "2 buses, 2 devices, 4 points",
            "bus line1 (modbus-rtu): /dev/ttyUSB0 9600 8E1, timeout 300ms",
            "  device meter (unit 1) every 1s -> fieldlink/gw-check/meter qos 1",
            "    voltage: holding 0 float32 ABCD [V]",
            "    energy: holding 6 uint32 CDAB * 0.01 + 0.0 [kWh]",
            "bus line2 (modbus-rtu): /dev/ttyUSB1 19200 8N1, timeout 500ms",
            "  device climate (unit 2) every 2s -> site/gw-check/line2/climate qos 2",
            "    temperature: input 0 int16 * 0.1 + 0.0",
            "    relay: coil 4 bool",
        ]
        #expect(check.stdout == expected.joined(separator: "\n") + "\n", "summary:\n\(check.stdout)")
        #expect(!check.stdout.contains("hunter2"), "the password leaked into the summary")
    }

    @Test("--version and --help work on every command", .timeLimit(.minutes(2)), arguments: [[], ["run"], ["check"]])
    func versionAndHelp(command: [String]) throws {
        let workspace = try Workspace("cli-help")
        defer { workspace.remove() }
        let version = try runFieldlink(command + ["--version"], in: workspace.path, name: "version")
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression) != nil,
                "\(version.stdout)")

        let help = try runFieldlink(command + ["--help"], in: workspace.path, name: "help")
        #expect(help.status == 0, "\(help.stderr)")
        #expect(help.stdout.contains("USAGE: fieldlink" + command.map { " \($0)" }.joined()), "\(help.stdout)")
        if command.isEmpty {
            #expect(help.stdout.contains("run") && help.stdout.contains("check"), "subcommands not listed:\n\(help.stdout)")
        } else {
            #expect(help.stdout.contains("--config"), "\(help.stdout)")
        }
        // A config-less `run`/`check` is a usage error, not a crash.
        if !command.isEmpty {
            let bare = try runFieldlink(command, in: workspace.path, name: "bare")
            #expect(bare.status == 64, "\(bare.stderr)")
            #expect(bare.stderr.contains("--config"), "\(bare.stderr)")
        }
    }
}
