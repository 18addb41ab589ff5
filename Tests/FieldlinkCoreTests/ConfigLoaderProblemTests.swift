@testable import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// One broken key each: the loader reports it with its text, key path and location.
extension ConfigLoaderTests {
    static let unknownKeys: [ProblemCase] = [
        ProblemCase("buffer:\n", "extra: 1\nbuffer:\n", path: "extra",
                    message: #"unknown key "extra" (expected one of gateway, mqtt, buffer, payload, profiles, buses, devices, sparkplug, homeassistant, metrics, time)"#, at: "|extra: 1"),
        ProblemCase("  id: gw-1\n", "  id: gw-1\n  site: north\n", path: "gateway.site",
                    message: #"unknown key "site" (expected one of id, state_dir)"#, at: "  |site: north"),
        ProblemCase("  drain_timeout: 2s\n", "  drain_timeout: 2s\n  host: broker\n", path: "mqtt.host",
                    message: #"unknown key "host" (expected one of url, urls, tls, username, password, password_file, status_topic, "#
                        + "client_id, version, keepalive, max_inflight, reconnect_delay, reconnect_delay_max, drain_timeout, "
                        + "failover_after, ack_timeout, connect_timeout, failback_after, failback, message_expiry, qos2_unsupported)",
                    at: "  |host: broker"),
        ProblemCase("  memory_messages: 500\n", "  memory_messages: 500\n  disk_messages: 5\n", path: "buffer.disk_messages",
                    message: #"unknown key "disk_messages" (expected one of max_bytes, max_age, durability, sync_interval, "#
                        + "replay_rate, memory_messages)",
                    at: "  |disk_messages"),
        ProblemCase("    timeout: 250ms\n", "    timeout: 250ms\n    flow_control: rts\n", path: "buses[0].flow_control",
                    message: #"unknown key "flow_control" (expected one of name, enabled, type, port, baud, parity, data_bits, stop_bits, timeout, retries, delay_before_request, backoff_after, backoff_max, rs485, rts, rts_delay)"#,
                    at: "    |flow_control"),
        ProblemCase("    retain: true\n", "    retain: true\n    poll: 5s\n", path: "devices[0].poll",
                    message: #"unknown key "poll" (expected one of name, enabled, bus, interval, topic, qos, retain, format, report, deadband, heartbeat, batch, accept_retained, command_max_age, command_results, unit, timeout, retries, delay_before_request, max_gap, merge, profile, profile_points, points)"#,
                    at: "    |poll: 5s"),
        ProblemCase("{name: voltage, address: 0,", "{name: voltage, scal: 2, address: 0,", path: "devices[0].points[0].scal",
                    message: #"unknown key "scal" (expected one of name, unit, scale, offset, precision, map, topic, qos, retain, deadband, writable, min, max, min_write_interval, table, address, bit, type, order, length, write_function)"#,
                    at: "voltage, |scal: 2"),
    ]

    @Test(arguments: unknownKeys)
    func reportsUnknownKeysWithTheExpectedOnes(_ problem: ProblemCase) { problem.check() }

    static let missingKeys: [ProblemCase] = [
        ProblemCase("gateway:\n  id: gw-1\n  state_dir: /var/lib/fieldlink-test\n", "", path: "",
                    message: #"missing required key "gateway""#, at: "|mqtt:\n"),
        ProblemCase("  id: gw-1\n", "", path: "gateway", message: #"missing required key "id""#, at: "gateway:\n  |state_dir"),
        ProblemCase("  url: mqtt://broker.example:1884\n", "", path: "mqtt", message: #"missing required key "url" (or "urls" for several brokers)"#,
                    at: "mqtt:\n  |client_id"),
        ProblemCase("  - name: spare\n    type", "  - type", path: "buses[2]", message: #"missing required key "name""#,
                    at: "  - |type: modbus-rtu\n    port: /dev/ttyUSB9"),
        ProblemCase("    type: modbus-rtu\n    port: /dev/ttyUSB9\n", "    port: /dev/ttyUSB9\n", path: "buses[2]",
                    message: #"missing required key "type""#, at: "  - |name: spare"),
        ProblemCase("    port: /dev/ttyUSB9\n", "", path: "buses[2]", message: #"missing required key "port""#, at: "  - |name: spare"),
        ProblemCase("  - name: climate\n    bus", "  - bus", path: "devices[1]", message: #"missing required key "name""#,
                    at: "  - |bus: line2"),
        ProblemCase("    bus: line2\n", "", path: "devices[1]", message: #"missing required key "bus""#, at: "  - |name: climate"),
        ProblemCase("    bus: line2\n", "    bus:\n", path: "devices[1]", message: #"missing required key "bus""#, at: "  - |name: climate"),
        ProblemCase("    interval: 2s\n", "", path: "devices[1]", message: #"missing required key "interval""#, at: "  - |name: climate"),
        ProblemCase("    unit: 247\n", "", path: "devices[1]", message: #"missing required key "unit""#, at: "  - |name: climate"),
        ProblemCase(ConfigFixture.climatePoints, "", path: "devices[1]", message: #"missing required key "points""#,
                    at: "  - |name: climate"),
        ProblemCase("{name: humidity, table", "{table", path: "devices[1].points[1]", message: #"missing required key "name""#,
                    at: "      - |{table: input, address: 1"),
        ProblemCase("{name: alarm, table: discrete, address: 3}", "{name: alarm, table: discrete}", path: "devices[1].points[2]",
                    message: #"missing required key "address""#, at: "      - |{name: alarm"),
    ]

    @Test(arguments: missingKeys)
    func reportsMissingRequiredKeysAtTheirMapping(_ problem: ProblemCase) { problem.check() }

    static let wrongKinds: [ProblemCase] = [
        ProblemCase("gateway:\n  id: gw-1\n  state_dir: /var/lib/fieldlink-test\n", "gateway: [gw-1]\n", path: "gateway",
                    message: "expected a mapping, found a list", at: "gateway: |[gw-1]"),
        ProblemCase("buffer:\n  memory_messages: 500\n", "buffer: [500]\n", path: "buffer",
                    message: "expected a mapping, found a list", at: "buffer: |[500]"),
        ProblemCase("  client_id: gw-1-client\n", "  client_id: {a: 1}\n", path: "mqtt.client_id",
                    message: "expected a string, found a mapping", at: "client_id: |{a: 1}"),
        ProblemCase("  - name: spare\n    type: modbus-rtu\n    port: /dev/ttyUSB9\n", "  - spare\n", path: "buses[2]",
                    message: "expected a mapping, found a scalar", at: "  - |spare"),
        ProblemCase(ConfigFixture.climatePoints, "    points: {temperature: 1}\n", path: "devices[1].points",
                    message: "expected a list, found a mapping", at: "points: |{temperature"),
        ProblemCase(ConfigFixture.climatePoints, "    points: []\n", path: "devices[1].points",
                    message: "a device needs at least one point", at: "points: |[]"),
        ProblemCase("      - {name: alarm, table: discrete, address: 3}\n", "      - alarm\n", path: "devices[1].points[2]",
                    message: "expected a mapping, found a scalar", at: "      - |alarm"),
        ProblemCase("    retain: true\n", "    retain: maybe\n", path: "devices[0].retain",
                    message: #"expected true or false, found "maybe""#, at: "retain: |maybe"),
        ProblemCase("    retain: true\n", "    retain: [true]\n", path: "devices[0].retain",
                    message: "expected true or false, found a list", at: "retain: |[true]"),
        ProblemCase("    qos: 2\n", "    qos: [2]\n", path: "devices[0].qos",
                    message: "expected an integer, found a list", at: "qos: |[2]"),
        ProblemCase("    qos: 2\n", "    qos: two\n", path: "devices[0].qos",
                    message: #"expected an integer, found "two""#, at: "qos: |two"),
        ProblemCase("    qos: 2\n", "    qos: 1.5\n", path: "devices[0].qos",
                    message: #"expected an integer, found "1.5""#, at: "qos: |1.5"),
        ProblemCase("scale: 0.01,", "scale: lots,", path: "devices[0].points[1].scale",
                    message: #"expected a number, found "lots""#, at: "scale: |lots"),
        ProblemCase("scale: 0.01,", "scale: [1],", path: "devices[0].points[1].scale",
                    message: "expected a number, found a list", at: "scale: |[1]"),
        ProblemCase("scale: 0.01,", "scale: 0,", path: "devices[0].points[1].scale",
                    message: "scale must not be 0", at: "scale: |0,"),
        ProblemCase("offset: -40", "offset: .nan", path: "devices[1].points[0].offset",
                    message: #"expected a number, found ".nan""#, at: "offset: |.nan"),
        ProblemCase("    bus: line2\n", "    bus: {name: line2}\n", path: "devices[1].bus",
                    message: "expected a string, found a mapping", at: "bus: |{name: line2}"),
        ProblemCase("  version: \"3.1.1\"\n", "  version: 4\n", path: "mqtt.version",
                    message: #"unknown value "4" (expected one of auto, 5, 3.1.1)"#, at: "version: |4"),
        ProblemCase("  version: \"3.1.1\"\n", "  version: \"3.1.1\"\n  qos2_unsupported: drop\n", path: "mqtt.qos2_unsupported",
                    message: #"unknown value "drop" (expected one of downgrade, refuse)"#, at: "qos2_unsupported: |drop"),
        ProblemCase("    parity: none\n", "    parity: mark\n", path: "buses[0].parity",
                    message: #"unknown value "mark" (expected one of none, even, odd)"#, at: "parity: |mark"),
        ProblemCase("  - name: climate\n", "  - name: \"\"\n", path: "devices[1].name",
                    message: "must not be empty", at: "  - name: |\"\""),
    ]

    @Test(arguments: wrongKinds)
    func reportsValuesOfTheWrongKind(_ problem: ProblemCase) { problem.check() }

    @Test func topLevelListsMustBeLists() {
        let yaml = "gateway: {id: g}\nmqtt: {url: mqtt://h}\nbuses: {a: 1}\ndevices: nope\n"
        #expect(ConfigFixture.problems(yaml) == [
            ConfigProblem(location: ConfigFixture.location(of: "buses: |{a: 1}", in: yaml), path: "buses",
                          message: "expected a list, found a mapping"),
            ConfigProblem(location: ConfigFixture.location(of: "devices: |nope", in: yaml), path: "devices",
                          message: "expected a list, found a scalar"),
        ])
    }

    static let badDurations: [ProblemCase] = [
        ProblemCase("    interval: 2s\n", "    interval: fast\n", path: "devices[1].interval",
                    message: #""fast" is not a duration (write e.g. 500ms, 5s, 2m, 1h)"#, at: "interval: |fast"),
        ProblemCase("    interval: 2s\n", "    interval: 2\n", path: "devices[1].interval",
                    message: #""2" is not a duration (write e.g. 500ms, 5s, 2m, 1h)"#, at: "interval: |2\n"),
        ProblemCase("    interval: 2s\n", "    interval: 9999999999999h\n", path: "devices[1].interval",
                    message: #""9999999999999h" is not a duration (write e.g. 500ms, 5s, 2m, 1h)"#, at: "interval: |9999"),
        ProblemCase("    interval: 2s\n", "    interval: 5ms\n", path: "devices[1].interval",
                    message: #""5ms" is too short (minimum 10ms)"#, at: "interval: |5ms"),
        ProblemCase("    interval: 2s\n", "    interval: {every: 2s}\n", path: "devices[1].interval",
                    message: "expected a duration such as 500ms, 5s, 2m or 1h, found a mapping", at: "interval: |{every"),
        ProblemCase("  keepalive: 45s\n", "  keepalive: 1s\n", path: "mqtt.keepalive",
                    message: #""1s" is too short (minimum 5s)"#, at: "keepalive: |1s"),
        ProblemCase("  reconnect_delay: 500ms\n", "  reconnect_delay: 50ms\n", path: "mqtt.reconnect_delay",
                    message: #""50ms" is too short (minimum 100ms)"#, at: "reconnect_delay: |50ms"),
        ProblemCase("  drain_timeout: 2s\n", "  drain_timeout: -1s\n", path: "mqtt.drain_timeout",
                    message: #""-1s" is not a duration (write e.g. 500ms, 5s, 2m, 1h)"#, at: "drain_timeout: |-1s"),
        ProblemCase("    timeout: 250ms\n", "    timeout: 0ms\n", path: "buses[0].timeout",
                    message: #""0ms" is too short (minimum 1ms)"#, at: "timeout: |0ms"),
        ProblemCase("    timeout: 1s\n", "    timeout: 1 s\n", path: "devices[0].timeout",
                    message: #""1 s" is not a duration (write e.g. 500ms, 5s, 2m, 1h)"#, at: "timeout: |1 s"),
    ]

    @Test(arguments: badDurations)
    func reportsBadDurations(_ problem: ProblemCase) { problem.check() }

    static let outOfRange: [ProblemCase] = [
        ProblemCase("    qos: 2\n", "    qos: 3\n", path: "devices[0].qos", message: "3 is out of range (0...2)", at: "qos: |3"),
        ProblemCase("    qos: 2\n", "    qos: -1\n", path: "devices[0].qos", message: "-1 is out of range (0...2)", at: "qos: |-1"),
        ProblemCase("    unit: 1\n", "    unit: 0\n", path: "devices[0].unit", message: "0 is out of range (1...247)", at: "unit: |0"),
        ProblemCase("    unit: 247\n", "    unit: 248\n", path: "devices[1].unit", message: "248 is out of range (1...247)",
                    at: "unit: |248"),
        ProblemCase("{name: voltage, address: 0,", "{name: voltage, address: 65536,", path: "devices[0].points[0].address",
                    message: "65536 is out of range (0...65535)", at: "address: |65536"),
        ProblemCase("{name: voltage, address: 0,", "{name: voltage, address: 0x10000,", path: "devices[0].points[0].address",
                    message: "65536 is out of range (0...65535)", at: "address: |0x10000"),
        ProblemCase("    data_bits: 7\n", "    data_bits: 9\n", path: "buses[0].data_bits",
                    message: "9 is out of range (5...8)", at: "data_bits: |9"),
        ProblemCase("    stop_bits: 2\n", "    stop_bits: 3\n", path: "buses[0].stop_bits",
                    message: "3 is out of range (1...2)", at: "stop_bits: |3"),
        ProblemCase("    baud: 9600\n", "    baud: 10\n", path: "buses[0].baud",
                    message: "10 is out of range (50...4000000)", at: "baud: |10"),
        ProblemCase("    baud: 9600\n", "    baud: 12345\n", path: "buses[0].baud",
                    message: "unsupported baud rate 12345 (expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, "
                        + "115200, 230400, 460800, 921600)",
                    at: "baud: |12345"),
        ProblemCase("  max_inflight: 20\n", "  max_inflight: 0\n", path: "mqtt.max_inflight",
                    message: "0 is out of range (1...65535)", at: "max_inflight: |0"),
        ProblemCase("  memory_messages: 500\n", "  memory_messages: 0\n", path: "buffer.memory_messages",
                    message: "0 is out of range (1...10000000)", at: "memory_messages: |0"),
    ]

    @Test(arguments: outOfRange)
    func reportsIntegersOutOfRange(_ problem: ProblemCase) { problem.check() }

    static let badNames: [ProblemCase] = [
        ProblemCase("  id: gw-1\n", "  id: gw 1\n", path: "gateway.id",
                    message: #""gw 1" may contain only letters, digits, "-", "_" and ".""#, at: "  id: |gw 1"),
        ProblemCase("  - name: spare\n", "  - name: spare bus\n", path: "buses[2].name",
                    message: #""spare bus" may contain only letters, digits, "-", "_" and ".""#, at: "name: |spare bus"),
        ProblemCase("  - name: climate\n", "  - name: climate/room\n", path: "devices[1].name",
                    message: #""climate/room" may contain only letters, digits, "-", "_" and ".""#, at: "name: |climate/room"),
        ProblemCase("{name: humidity,", "{name: \"hum idity\",", path: "devices[1].points[1].name",
                    message: #""hum idity" may contain only letters, digits, "-", "_" and ".""#, at: "{name: |\"hum idity\""),
        ProblemCase("{name: humidity,", "{name: \"rh+\",", path: "devices[1].points[1].name",
                    message: #""rh+" may contain only letters, digits, "-", "_" and ".""#, at: "{name: |\"rh+\""),
    ]

    @Test(arguments: badNames)
    func reportsBadNames(_ problem: ProblemCase) { problem.check() }

    static let duplicateNames: [ProblemCase] = [
        ProblemCase("  - name: spare\n", "  - name: line2\n", path: "buses[2].name",
                    message: #"duplicate bus name "line2""#, at: "  - name: |line2\n    type: modbus-rtu\n    port: /dev/ttyUSB9"),
        ProblemCase("  - name: climate\n", "  - name: meter1\n", path: "devices[1].name",
                    message: #"duplicate device name "meter1""#, at: "  - name: |meter1\n    bus: line2"),
        ProblemCase("{name: humidity,", "{name: temperature,", path: "devices[1].points[1].name",
                    message: #"duplicate point name "temperature""#, at: "{name: |temperature,"),
    ]

    @Test(arguments: duplicateNames)
    func reportsDuplicateNames(_ problem: ProblemCase) { problem.check() }

    static let references: [ProblemCase] = [
        ProblemCase("    bus: line2\n", "    bus: line3\n", path: "devices[1].bus",
                    message: #"no bus named "line3" (buses: rs485, line2, spare)"#, at: "bus: |line3"),
        ProblemCase("    type: modbus-rtu\n    port: /dev/ttyUSB9\n", "    type: modbus-ascii\n    port: /dev/ttyUSB9\n",
                    path: "buses[2].type", message: #"unknown bus type "modbus-ascii" (expected one of modbus-rtu, modbus-tcp)"#,
                    at: "type: |modbus-ascii"),
    ]

    @Test(arguments: references)
    func reportsUnknownReferences(_ problem: ProblemCase) { problem.check() }

    /// A broken bus is reported once, at the bus: its devices must not add "no bus named" or
    /// "unknown key" problems for keys that only the bus's family would know.
    @Test(arguments: [
        ProblemCase("    type: modbus-rtu\n    port: /dev/ttyUSB1\n", "    type: modbus-ascii\n    port: /dev/ttyUSB1\n",
                    path: "buses[1].type", message: #"unknown bus type "modbus-ascii" (expected one of modbus-rtu, modbus-tcp)"#,
                    at: "type: |modbus-ascii"),
        ProblemCase("    port: /dev/ttyUSB1\n", "", path: "buses[1]", message: #"missing required key "port""#,
                    at: "  - |name: line2"),
        ProblemCase("    type: modbus-rtu\n    port: /dev/ttyUSB1\n", "    port: /dev/ttyUSB1\n", path: "buses[1]",
                    message: #"missing required key "type""#, at: "  - |name: line2"),
    ])
    func aBrokenBusIsReportedOnlyAtTheBus(_ problem: ProblemCase) { problem.check() }

    static let topics: [ProblemCase] = [
        ProblemCase("topic: site/{gateway}/{bus}/{device}", "topic: site/{site}/{device}", path: "devices[0].topic",
                    message: "unknown placeholder {site} (expected one of {gateway}, {device}, {bus})", at: "topic: |site/"),
        ProblemCase("topic: site/{gateway}/{bus}/{device}", "topic: site/+/{device}", path: "devices[0].topic",
                    message: "a publish topic cannot contain the wildcards + or #", at: "topic: |site/"),
        ProblemCase("topic: site/{gateway}/{bus}/{device}", "topic: \"site/{device}/#\"", path: "devices[0].topic",
                    message: "a publish topic cannot contain the wildcards + or #", at: "topic: |\"site/"),
        ProblemCase("topic: site/{gateway}/{bus}/{device}", "topic: site/{device", path: "devices[0].topic",
                    message: #"unclosed "{" in topic"#, at: "topic: |site/"),
        ProblemCase("topic: site/{gateway}/{bus}/{device}", "topic: \"\"", path: "devices[0].topic",
                    message: "topic must not be empty", at: "topic: |\"\""),
    ]

    @Test(arguments: topics)
    func reportsBadTopicTemplates(_ problem: ProblemCase) { problem.check() }

    static let brokerURLs: [ProblemCase] = [
        ("ws://broker.example:8883", #"unsupported scheme "ws" (expected mqtt or mqtts)"#),
        ("http://broker.example", #"unsupported scheme "http" (expected mqtt or mqtts)"#),
        ("broker example", #""broker example" is not a URL (write mqtt://HOST:PORT)"#),
        ("broker.example", #""broker.example" is not a URL (write mqtt://HOST:PORT)"#),
        ("mqtt://", #""mqtt://" has no host"#),
        ("mqtt://user:pw@broker.example",
         #""mqtt://user:pw@broker.example": give only scheme, host and port (credentials go in username/password)"#),
        ("mqtt://broker.example/fieldlink",
         #""mqtt://broker.example/fieldlink": give only scheme, host and port (credentials go in username/password)"#),
        ("mqtt://broker.example:0", "port 0 is out of range"),
    ].map { url, message in
        ProblemCase("  url: mqtt://broker.example:1884\n", "  url: \(url)\n", path: "mqtt.url", message: message, at: "  url: |\(url)\n")
    }

    @Test(arguments: brokerURLs)
    func reportsBadBrokerURLs(_ problem: ProblemCase) { problem.check() }

    static let credentials: [ProblemCase] = [
        ProblemCase("  username: fieldlink\n", "", path: "mqtt", message: "a password needs a username", at: "mqtt:\n  |url"),
        ProblemCase("  password: s3cret\n", "  password: s3cret\n  password_file: /run/secrets/mqtt\n", path: "mqtt.password_file",
                    message: "give either password or password_file, not both", at: "password_file: |/run"),
        ProblemCase("  password: s3cret\n", "  password_file: missing.pw\n", path: "mqtt.password_file",
                    message: "cannot read password file /etc/fieldlink/missing.pw: No such file or directory", at: "password_file: |missing.pw"),
    ]

    @Test(arguments: credentials)
    func reportsCredentialMistakes(_ problem: ProblemCase) { problem.check() }

    static let pointTypes: [ProblemCase] = [
        ProblemCase("{name: relay, table: coil, address: 16}", "{name: relay, table: coil, address: 16, type: float32}",
                    path: "devices[0].points[2].type", message: "a coil point is a single bit: its type must be bool, not float32",
                    at: "16, type: |float32"),
        ProblemCase("{name: alarm, table: discrete, address: 3}", "{name: alarm, table: discrete, address: 3, type: int16}",
                    path: "devices[1].points[2].type", message: "a discrete point is a single bit: its type must be bool, not int16",
                    at: "3, type: |int16"),
        ProblemCase("{name: voltage, address: 0,", "{name: voltage, address: 65535,", path: "devices[0].points[0].address",
                    message: "float32 at 65535 runs past the last register address 65535", at: "address: |65535"),
        ProblemCase("address: 0x10, type: uint64", "address: 65533, type: uint64", path: "devices[1].points[3].address",
                    message: "uint64 at 65533 runs past the last register address 65535", at: "address: |65533"),
        ProblemCase("type: uint64", "type: flaot32", path: "devices[1].points[3].type",
                    message: #"unknown value "flaot32" (expected one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, raw)"#,
                    at: "type: |flaot32"),
        ProblemCase("table: discrete", "table: discrete_input", path: "devices[1].points[2].table",
                    message: #"unknown value "discrete_input" (expected one of holding, input, coil, discrete)"#,
                    at: "table: |discrete_input"),
        ProblemCase("order: DCBA", "order: ABDC", path: "devices[1].points[3].order",
                    message: #"unknown order "ABDC" (expected one of ABCD, CDAB, BADC, DCBA, or an alias: big, big_endian, be, msw, msw_first, none, swap_words, word_swap, word, lsw, lsw_first, little_endian_word_swap, mixed_endian, swap_bytes, byte_swap, byte, little, little_endian, le, swap_all, word_byte)"#, at: "order: |ABDC"),
    ]

    @Test(arguments: pointTypes)
    func reportsPointTypeMistakes(_ problem: ProblemCase) { problem.check() }

    @Test func lastRegistersOfTheAddressSpaceAreUsable() throws {
        let config = try ConfigFixture.parse(ConfigFixture.edited([
            Edit("{name: voltage, address: 0,", "{name: voltage, address: 65534,"),
            Edit("address: 0x10, type: uint64", "address: 65532, type: uint64"),
            Edit("{name: relay, table: coil, address: 16}", "{name: relay, table: coil, address: 65535}"),
        ]))
        #expect((config.devices[0].points[0].options as? ModbusPointOptions)?.address == 65_534)
        #expect((config.devices[1].points[3].options as? ModbusPointOptions)?.address == 65_532)
        #expect((config.devices[0].points[2].options as? ModbusPointOptions)?.address == 65_535)
    }

    @Test func unknownTypeReadsAsPathThenMessage() throws {
        let yaml = ConfigFixture.edited([Edit("type: uint64", "type: flaot32")])
        let problem = try #require(ConfigFixture.problems(yaml).first)
        let at = ConfigFixture.location(of: "type: |flaot32", in: yaml)
        let expected = #"devices[1].points[3].type: unknown value "flaot32" (expected one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, raw)"#
        #expect(problem.description == "\(ConfigFixture.file):\(at.line):\(at.column): \(expected)")
    }
}
