import FieldlinkCore
import Foundation
import Testing
@testable import FieldlinkSerial

private let loader = ConfigLoader(families: [SerialFamily()])

private func config(buses: String, devices: String) -> String {
    """
    gateway: {id: gw, state_dir: /tmp/serial-config-test}
    mqtt: {url: "mqtt://127.0.0.1:1883"}
    buses:
    \(buses)
    devices:
    \(devices)
    """
}

private func problems(_ yaml: String) -> [ConfigProblem] {
    do {
        _ = try loader.parse(yaml: yaml, file: "/etc/fieldlink/f.yaml")
        return []
    } catch {
        return error.problems
    }
}

/// The line (1-based) of the first line of `yaml` containing `marker`.
private func line(of marker: String, in yaml: String) -> Int {
    (yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(marker) } ?? -1) + 1
}

@Suite struct SerialFamilyTests {
    @Test(.timeLimit(.minutes(1))) func fullSettingsAreRead() throws {
        let yaml = config(buses: """
              - {name: gps, type: serial, port: /dev/ttyAMA0, baud: 460800, parity: even, data_bits: 7, stop_bits: 2, flow: rtscts,
                 framing: line, delimiter: "\\r\\n", max_frame: 256, rs485: {delay_after_send: 2ms}, exclusive: false}
              - {name: pm, type: serial, port: ttyUSB0, mode: poll, framing: start-end, start: "\\x02", end: "\\x03"}
            """, devices: """
              - name: receiver
                bus: gps
                interval: 1s
                parser: nmea
                aggregate: avg
                points: [{name: lat, field: latitude}, {name: longitude}]
              - name: dust
                bus: pm
                interval: 5s
                parser: csv
                separator: ";"
                request: "R\\r"
                timeout: 300ms
                points: [{name: pm25, column: 1, scale: 0.1, unit: µg/m³}]
            """)
        let parsed = try loader.parse(yaml: yaml, file: "/etc/fieldlink/f.yaml")
        let gps = try #require(parsed.buses[0].options as? SerialBusOptions)
        #expect(gps.settings.baud == 460_800 && gps.settings.parity == .even && gps.settings.dataBits == 7 && gps.settings.stopBits == 2)
        #expect(gps.settings.flow == .rtscts && !gps.settings.exclusive && gps.settings.rs485?.delayAfterSend == .milliseconds(2))
        #expect(gps.framing == .line(delimiter: [0x0D, 0x0A]) && gps.maxFrame == 256 && gps.mode == .stream)
        let pm = try #require(parsed.buses[1].options as? SerialBusOptions)
        #expect(pm.port == "/etc/fieldlink/ttyUSB0" && pm.mode == .poll && pm.framing == .delimited(start: [0x02], end: [0x03]))
        #expect(pm.settings.rs485 == nil && pm.settings.exclusive && pm.settings.baud == 9_600)
        let receiver = try #require(parsed.devices[0].options as? SerialDeviceOptions)
        #expect(receiver.parser == .nmea && receiver.aggregate == .avg && receiver.request == nil)
        #expect((parsed.devices[0].points[0].options as? SerialPointOptions)?.field == "latitude")
        let dust = try #require(parsed.devices[1].options as? SerialDeviceOptions)
        #expect(dust.parser == .csv(separator: [0x3B]) && dust.request == Array("R\r".utf8) && dust.timeout == .milliseconds(300))
    }

    @Test(.timeLimit(.minutes(1))) func mistakesAreReportedWhereTheyAre() {
        let yaml = config(buses: """
              - {name: a, type: serial, port: /dev/ttyS0, baud: 12345, flow: dtr, framing: fixed, delimiter: ";", max_frame: 2MiB}
              - {name: b, type: serial, port: /dev/ttyS1, mode: poll}
              - {name: c, type: serial, port: /dev/ttyS2}
            """, devices: """
              - name: gnss
                bus: c
                interval: 1s
                parser: nmea
                request: "x"
                points: [{name: lattitude}, {name: t, field: time, type: int}]
              - name: re
                bus: c
                interval: 1s
                parser: regex
                pattern: "T=(?<temp>[0-9.]+"
                points: [{name: temp}]
              - name: re2
                bus: c
                interval: 1s
                parser: regex
                pattern: "T=(?<temp>[0-9.]+)"
                points: [{name: humidity}]
              - name: table
                bus: b
                interval: 1s
                parser: csv
                points: [{name: first, field: x}]
            """)
        let found = problems(yaml).map { "\($0.location.line) \($0.path): \($0.message)" }
        let expected: [(String, String)] = [
            ("baud: 12345", "unsupported baud rate 12345"),
            ("baud: 12345", "flow: unknown value \"dtr\" (expected one of none, rtscts, xonxoff)"),
            ("baud: 12345", "missing required key \"length\""),
            ("baud: 12345", "delimiter belongs to framing: line, not fixed"),
            ("baud: 12345", "max_frame: 2097152 bytes is more than a serial frame needs (at most 1024KiB)"),
            ("request: \"x\"", "request is for mode: poll buses"),
            ("{name: lattitude}", "no NMEA field \"lattitude\""),
            ("{name: lattitude}", "type is not used by parser nmea"),
            ("pattern: \"T=(?<temp>[0-9.]+\"", "not a valid regular expression"),
            ("points: [{name: humidity}]", "the pattern has no group named \"humidity\" (groups: temp)"),
            ("- name: table", "missing required key \"request\""),
            ("points: [{name: first, field: x}]", "parser csv needs column:"),
            ("points: [{name: first, field: x}]", "field is for parsers nmea, regex and keyvalue"),
        ]
        for (marker, message) in expected {
            let at = line(of: marker, in: yaml)
            #expect(found.contains { $0.hasPrefix("\(at) ") && $0.contains(message) }, "\(message) at line \(at) in \(found)")
        }
        #expect(found.count == expected.count, "\(found)")
    }

    /// The point reader sees its device's parser, so a profile's points are checked against it too,
    /// and the problem is located in the profile file.
    @Test(.timeLimit(.minutes(1))) func aProfilePointIsCheckedAgainstTheDevicesParser() throws {
        let folder = "/tmp/fieldlink-serial-profile-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let profile = "\(folder)/thermo.yaml"
        try "model: Thermo T1\npoints:\n  - {name: temp}\n  - {name: humidity, column: 2}\n".write(toFile: profile, atomically: true, encoding: .utf8)
        let yaml = config(buses: "  - {name: a, type: serial, port: /dev/ttyS0}",
                          devices: "  - {name: d, bus: a, interval: 1s, parser: regex, pattern: 'T=(?<temp>[0-9.]+)', profile: \(profile)}")
        let found = problems(yaml).map(\.description)
        #expect(found == [
            "\(profile):4:12: points[1].name: the pattern has no group named \"humidity\" (groups: temp)",
            "\(profile):4:30: points[1].column: column is for parser csv, not regex",
        ])
    }

    @Test(.timeLimit(.minutes(1))) func aDelimiterMustBeBytes() {
        let yaml = config(buses: "  - {name: a, type: serial, port: /dev/ttyS0, delimiter: \"→\"}",
                          devices: "  - {name: d, bus: a, interval: 1s, parser: keyvalue, points: [{name: T}]}")
        #expect(problems(yaml).map(\.message) == ["character U+2192 is not a byte; write bytes as \"\\xHH\" in double quotes"])
    }

    /// `delimiter: 13` is YAML's number 13: refused with the two spellings that say what is meant,
    /// never read as the text "13" (issue 19). Quoted, it is the text.
    @Test(.timeLimit(.minutes(1)), arguments: ["delimiter: 13", "delimiter: 0x0D", "start: 2", "end: 3.0"])
    func aNumberWhereBytesGoIsRefused(_ setting: String) {
        let framing = setting.hasPrefix("delimiter") ? "" : ", framing: start-end, \(setting.hasPrefix("start") ? "end: \"\\x03\"" : "start: \"\\x02\"")"
        let yaml = config(buses: "  - {name: a, type: serial, port: /dev/ttyS0, \(setting)\(framing)}",
                          devices: "  - {name: d, bus: a, interval: 1s, parser: keyvalue, points: [{name: T}]}")
        let key = String(setting.prefix { $0 != ":" }), number = String(setting.dropFirst(key.count + 2))
        let found = problems(yaml)
        #expect(found.map(\.path) == ["buses[0].\(key)"])
        #expect(found.first?.message == "\(number) is a number, not bytes: write a byte in double quotes (\"\\r\", \"\\x0D\"), or quote the text (\"\(number)\")")
        #expect(found.first?.location.line == 4)
        let quoted = config(buses: "  - {name: a, type: serial, port: /dev/ttyS0, delimiter: \"13\"}",
                            devices: "  - {name: d, bus: a, interval: 1s, parser: keyvalue, points: [{name: T}]}")
        #expect(problems(quoted).isEmpty)
    }
}
