@testable import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// The broken configs `check` used to accept, and the error messages that were unclear (issue 19 §3):
/// each is refused now, at its line and column with its key path.
@Suite struct ConfigInputTests {
    static let refused: [ProblemCase] = [
        ProblemCase("  client_id: gw-1-client\n", "  client_id: !!binary Z3ctMQ==\n", path: "mqtt.client_id",
                    message: "YAML tag !!binary is not read by fieldlink: remove it and write the value plainly", at: "client_id: |!!binary"),
        ProblemCase("    qos: 2\n", "    qos: !meter 2\n", path: "devices[0].qos",
                    message: "YAML tag !meter is not read by fieldlink: remove it and write the value plainly", at: "qos: |!meter"),
        ProblemCase("buffer:\n  memory_messages: 500\n", "buffer: !!set {a, b}\n", path: "buffer",
                    message: "YAML tag !!set is not read by fieldlink: remove it and write the value plainly", at: "buffer: |!!set"),
        ProblemCase("    interval: 2s\n", "    interval: \"1d1d\"\n", path: "devices[1].interval",
                    message: #""1d1d" is not a duration (write e.g. 500ms, 5s, 2m, 1h)"#, at: "interval: |\"1d1d\""),
        ProblemCase("  password: s3cret\n", "  password: \"${MQTT_PASSWORD\"\n", path: "mqtt.password",
                    message: #""${" starts an environment variable but has no closing "}" (write ${NAME})"#, at: "password: |\"${"),
        // The same line written two ways: refused at the second bus's port.
        ProblemCase("    port: /dev/ttyUSB9\n", "    port: /dev/../dev/ttyUSB0\n", path: "buses[2].port",
                    message: #"/dev/../dev/ttyUSB0 is already bus "rs485"'s (/dev/ttyUSB0): one bus per line, so put these devices on that bus"#,
                    at: "port: |/dev/../dev/ttyUSB0"),
        ProblemCase("{name: relay, table: coil, address: 16}", "{name: relay, table: coil, address: 16, topic: \"site/{gateway}/{bus}/{device}\"}",
                    path: "devices[0].points[2].topic",
                    message: "site/gw-1/rs485/meter1 is the device's own topic: a point with its own message needs a topic of its own (e.g. {device}/{point})",
                    at: "address: 16, topic: |\"site"),
        ProblemCase("    topic: site/{gateway}/{bus}/{device}\n", "    topic: site/\(String(repeating: "x", count: 65_531))\n", path: "devices[0].topic",
                    message: "the topic is 65536 bytes long; MQTT allows at most 65535", at: "    topic: |site/"),
        ProblemCase("  state_dir: /var/lib/fieldlink-test\n", "  state_dir: /etc/hostname\n", path: "gateway.state_dir",
                    message: "/etc/hostname is a file, not a directory: state_dir names the directory fieldlink keeps its ring and sequence numbers in",
                    at: "state_dir: |/etc/hostname"),
        ProblemCase("  username: fieldlink\n", "  username: \(String(repeating: "u", count: 70_000))\n", path: "mqtt.username",
                    message: "a value of 70000 bytes is longer than any setting (at most 65536)", at: "username: |uuu"),
        // A sparkplugb device without the sparkplug: section is reported at its own format key.
        ProblemCase("    retain: true\n", "    retain: true\n    format: sparkplugb\n", path: "devices[0].format",
                    message: "sparkplugb needs a top-level sparkplug: section with at least group_id", at: "format: |sparkplugb"),
    ]

    @Test(arguments: refused)
    func brokenConfigsAreRefusedWhereTheyAre(_ problem: ProblemCase) { problem.check() }

    @Test func theTopicLimitIsMQTTsAndLongerIsRefused() {
        let exactly = String(repeating: "t", count: 65_535)
        #expect(TopicTemplate.validate(exactly) == nil)
        #expect(TopicTemplate.validate(exactly + "t") == "the topic is 65536 bytes long; MQTT allows at most 65535")
    }

    @Test func aDocumentWithNoDevicesHasNothingToRun() throws {
        let yaml = ConfigFixture.minimal.replacingOccurrences(of: "devices:\n", with: "devices: []\nx-old:\n")
        let config = try ConfigFixture.parse(yaml)
        let problem = try #require(config.nothingToRun)
        #expect(problem.path == "devices" && problem.location == ConfigFixture.location(of: "devices: |[]", in: yaml))
        #expect(problem.message.hasPrefix("no device is configured"))
        // Turned off on purpose is not nothing: the run starts and polls nothing.
        let off = try ConfigFixture.parse(ConfigFixture.minimal.replacingOccurrences(of: "    bus: bus0\n", with: "    bus: bus0\n    enabled: false\n"))
        #expect(off.nothingToRun == nil && off.devices.isEmpty)
    }

    @Test func aSparkplugPointRouteIsReportedAtItsKey() {
        let yaml = ConfigFixture.edited([Edit("buffer:\n", "sparkplug: {group_id: plant}\nbuffer:\n"),
                                         Edit("    retain: true\n", "    retain: true\n    format: sparkplugb\n"),
                                         Edit("{name: relay, table: coil, address: 16}", "{name: relay, table: coil, address: 16, qos: 1}")])
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.map(\.path) == ["devices[0].points[2].qos"])
        #expect(problems.first?.location == ConfigFixture.location(of: "address: 16, qos: |1", in: yaml))
    }

    @Test func anEnvironmentValueIsNotExpandedAgain() throws {
        let yaml = ConfigFixture.edited([Edit("  password: s3cret\n", "  password: \"${LOOP}\"\n")])
        let config = try ConfigFixture.loader.parse(yaml: yaml, file: ConfigFixture.file, environment: ["LOOP": "${LOOP}"])
        #expect(config.mqtt.brokers[0].password?.value == "${LOOP}")
    }

    @Test func controlCharactersAreEscapedWhenAProblemIsPrinted() {
        let yaml = ConfigFixture.edited([Edit("    parity: none\n", "    parity: \"\\e[2Jodd\\u0085\"\n")])
        let problems = ConfigFixture.problems(yaml)
        let at = ConfigFixture.location(of: "parity: |\"", in: yaml)
        #expect(problems.map(\.description) == ["\(at): buses[0].parity: unknown value \"\\u{1B}[2Jodd\\u{85}\" (expected one of none, even, odd)"])
    }

    @Test func twoNamesOfOneSymlinkedPortAreOneLine() throws {
        let directory = try TemporaryDirectory()
        let link = "\(directory.path)/by-id-adapter"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/null")
        let yaml = ConfigFixture.edited([Edit("    port: /dev/ttyUSB1\n", "    port: /dev/null\n"), Edit("    port: /dev/ttyUSB9\n", "    port: \(link)\n")])
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.map(\.path) == ["buses[2].port"])
        #expect(problems.first?.message.hasPrefix("\(link) is already bus \"line2\"'s (/dev/null)") == true)
    }
}

/// The file itself: what it is, how large, and in which encoding (`ConfigLoader.load(file:)`).
@Suite struct ConfigFileTests {
    func problems(_ file: String) -> [ConfigProblem] {
        do {
            _ = try ConfigFixture.loader.load(file: file)
            Issue.record("\(file) loaded")
            return []
        } catch {
            return error.problems
        }
    }

    @Test(.timeLimit(.minutes(1))) func specialFilesAreRefusedInOurWordsWithoutBlocking() throws {
        let directory = try TemporaryDirectory()
        let fifo = "\(directory.path)/fifo.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        let expected = [
            (directory.path, "a directory"), (fifo, "a named pipe (FIFO)"), ("/dev/zero", "a character device"), ("/dev/null", "a character device"),
        ]
        for (file, kind) in expected {
            #expect(problems(file) == [ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "",
                                                     message: "cannot read config file: it is \(kind), not a regular file: give the path of the YAML file itself")])
        }
        #expect(problems("\(directory.path)/missing.yaml").map(\.message) == ["cannot read config file: No such file or directory"])
    }

    @Test func aFileOverTheLimitIsNotRead() throws {
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/big.yaml"
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        #expect(truncate(file, off_t(ConfigLimits.fileBytes + 1)) == 0)
        #expect(problems(file).map(\.message) == ["cannot read config file: it is \(ConfigLimits.fileBytes + 1) bytes, more than the "
            + "\(ConfigLimits.fileBytes) a file here may have (is it the right file?)"])
    }

    @Test func bytesThatAreNotUTF8AreNamedByOffsetLineAndColumn() throws {
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/latin1.yaml"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("gateway:\n  id: gw\n  # caf".utf8) + Data([0xE9, 0x0A])))
        #expect(problems(file) == [ConfigProblem(location: ConfigLocation(file: file, line: 3, column: 8), path: "",
                                                 message: "the config file is not UTF-8 text: byte 0xE9 at offset 25 is no character; save the file as UTF-8")])
        let utf16 = "\(directory.path)/utf16.yaml"
        #expect(FileManager.default.createFile(atPath: utf16, contents: Data([0xFF, 0xFE]) + "gateway:".data(using: .utf16LittleEndian)!))
        #expect(problems(utf16).map(\.message) == ["the config file is UTF-16 (it starts with a byte order mark): save it as UTF-8"])
    }
}
