@testable import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

typealias Edit = ConfigFixture.Edit

@Suite struct ConfigLoaderTests {
    // MARK: - Valid configs

    @Test func readsEveryKeyOfAFullConfig() throws {
        let config = try ConfigFixture.parse(ConfigFixture.full)
        let yaml = ConfigFixture.full

        #expect(config.file == ConfigFixture.file)
        #expect(config.gateway.id == "gw-1")
        #expect(config.gateway.stateDirectory == "/var/lib/fieldlink-test")

        let mqtt = config.mqtt
        #expect(mqtt.brokers[0].host == "broker.example")
        #expect(mqtt.brokers[0].port == 1884)
        #expect(mqtt.url == "mqtt://broker.example:1884")
        #expect(mqtt.clientID == "gw-1-client")
        #expect(mqtt.brokers[0].username == "fieldlink")
        #expect(mqtt.brokers[0].password?.value == "s3cret")
        #expect(mqtt.version == .v311)
        #expect(mqtt.keepalive == .seconds(45))
        #expect(mqtt.maxInflight == 20)
        #expect(mqtt.reconnectDelay == .milliseconds(500))
        #expect(mqtt.reconnectDelayMax == .seconds(30))
        #expect(mqtt.drainTimeout == .seconds(2))
        #expect(config.buffer.memoryMessages == 500)

        #expect(config.buses.map(\.name) == ["rs485", "line2", "spare"])
        let bus = config.buses[0]
        #expect(bus.type == "modbus-rtu")
        #expect(bus.location == ConfigFixture.location(of: "  - |name: rs485", in: yaml))
        let busOptions = try #require(bus.options as? ModbusRTUBusOptions)
        #expect(busOptions.port == "/dev/ttyUSB0")
        #expect(busOptions.baud == 9_600)
        #expect(busOptions.parity == Parity.none)
        #expect(busOptions.dataBits == 7)
        #expect(busOptions.stopBits == 2)
        #expect(busOptions.timeout == .milliseconds(250))

        #expect(config.devices.map(\.name) == ["meter1", "climate"])
        let meter = config.devices[0]
        #expect(meter.bus == "rs485")
        #expect(meter.interval == .seconds(1))
        #expect(meter.topic == "site/gw-1/rs485/meter1")
        #expect(meter.qos == 2)
        #expect(meter.retain)
        #expect(meter.location == ConfigFixture.location(of: "  - |name: meter1", in: yaml))
        let meterOptions = try #require(meter.options as? ModbusDeviceOptions)
        #expect(meterOptions.unit == 1)
        #expect(meterOptions.timeout == .seconds(1))
        #expect(config.devices(on: bus).map(\.name) == ["meter1"])
        #expect(config.devices(on: config.buses[2]).isEmpty)

        let climate = config.devices[1]
        #expect(climate.bus == "line2")
        #expect(climate.interval == .seconds(2))
        #expect(climate.topic == "fieldlink/gw-1/climate")
        #expect(climate.qos == 1)
        #expect(!climate.retain)
        #expect((climate.options as? ModbusDeviceOptions)?.unit == 247)
        #expect((climate.options as? ModbusDeviceOptions)?.timeout == nil)
    }

    struct ExpectedPoint: Sendable, CustomTestStringConvertible {
        var device: Int
        var index: Int
        var name: String
        var unit: String?
        var transform: LinearTransform
        var table: ModbusTable
        var address: Int
        var type: ModbusDataType
        var order: WordOrder
        var testDescription: String { name }
    }

    @Test(arguments: [
        ExpectedPoint(device: 0, index: 0, name: "voltage", unit: "V", transform: .identity,
                      table: .holding, address: 0, type: .float32, order: .abcd),
        ExpectedPoint(device: 0, index: 1, name: "energy", unit: "kWh", transform: .init(scale: 0.01, offset: 0),
                      table: .holding, address: 2, type: .uint32, order: .cdab),
        ExpectedPoint(device: 0, index: 2, name: "relay", unit: nil, transform: .identity,
                      table: .coil, address: 16, type: .bool, order: .abcd),
        ExpectedPoint(device: 1, index: 0, name: "temperature", unit: "°C", transform: .init(scale: 0.1, offset: -40),
                      table: .input, address: 0, type: .int16, order: .abcd),
        ExpectedPoint(device: 1, index: 1, name: "humidity", unit: "%", transform: .init(scale: 0.1, offset: 0),
                      table: .input, address: 1, type: .uint16, order: .abcd),
        ExpectedPoint(device: 1, index: 2, name: "alarm", unit: nil, transform: .identity,
                      table: .discrete, address: 3, type: .bool, order: .abcd),
        ExpectedPoint(device: 1, index: 3, name: "counter", unit: nil, transform: .identity,
                      table: .holding, address: 16, type: .uint64, order: .dcba),
    ])
    func readsEveryPoint(_ expected: ExpectedPoint) throws {
        let config = try ConfigFixture.parse(ConfigFixture.full)
        let point = config.devices[expected.device].points[expected.index]
        #expect(point.name == expected.name)
        #expect(point.unit == expected.unit)
        #expect(point.transform == expected.transform)
        let options = try #require(point.options as? ModbusPointOptions)
        #expect(options.table == expected.table)
        #expect(options.address == expected.address)
        #expect(options.type == expected.type)
        #expect(options.order == expected.order)
    }

    @Test func pointLocationsPointAtTheirEntries() throws {
        let yaml = ConfigFixture.full
        let config = try ConfigFixture.parse(yaml)
        #expect(config.devices[0].points[0].location == ConfigFixture.location(of: "      - |{name: voltage", in: yaml))
        #expect(config.devices[1].points[0].location == ConfigFixture.location(of: "      - |name: temperature", in: yaml))
    }

    @Test func appliesDefaultsToAMinimalConfig() throws {
        let config = try ConfigFixture.parse(ConfigFixture.minimal)
        #expect(config.gateway.stateDirectory == "/var/lib/fieldlink")
        let mqtt = config.mqtt
        #expect(mqtt.brokers[0].host == "localhost")
        #expect(mqtt.brokers[0].port == 1883)
        #expect(mqtt.clientID == "gw-min")
        #expect(mqtt.brokers[0].username == nil)
        #expect(mqtt.brokers[0].password == nil)
        #expect(mqtt.version == .v5)
        #expect(mqtt.keepalive == .seconds(30))
        #expect(mqtt.maxInflight == 100)
        #expect(mqtt.reconnectDelay == .seconds(1))
        #expect(mqtt.reconnectDelayMax == .seconds(60))
        #expect(mqtt.drainTimeout == .seconds(5))
        #expect(config.buffer.memoryMessages == nil)  // the MQTT in-flight window

        let bus = try #require(config.buses.first?.options as? ModbusRTUBusOptions)
        #expect(bus.port == "/dev/ttyS0")
        #expect(bus.baud == 19_200)
        #expect(bus.parity == .even)
        #expect(bus.dataBits == 8)
        #expect(bus.stopBits == 1)
        #expect(bus.timeout == .milliseconds(500))

        let device = try #require(config.devices.first)
        #expect(device.topic == "fieldlink/gw-min/dev0")
        #expect(device.qos == 1)
        #expect(device.retain == false)
        #expect(device.interval == .milliseconds(500))
        let register = try #require(device.points[0].options as? ModbusPointOptions)
        #expect(register.table == .holding)
        #expect(register.type == .uint16)
        #expect(register.order == .abcd)
        #expect(device.points[0].transform.isIdentity)
        #expect(device.points[0].unit == nil)
        let coil = try #require(device.points[1].options as? ModbusPointOptions)
        #expect(coil.table == .coil)
        #expect(coil.type == .bool)
    }

    @Test func reconnectDelayMaxIsNeverBelowTheFirstDelay() throws {
        let config = try ConfigFixture.parse(ConfigFixture.edited([Edit("  reconnect_delay: 500ms\n", "  reconnect_delay: 90s\n"),
                                                                   Edit("  reconnect_delay_max: 30s\n", "")]))
        #expect(config.mqtt.reconnectDelay == .seconds(90))
        #expect(config.mqtt.reconnectDelayMax == .seconds(90))
    }

    @Test func readsAnIPv6BrokerAddress() throws {
        let config = try ConfigFixture.parse(ConfigFixture.edited([Edit("mqtt://broker.example:1884", "mqtt://[::1]:1884")]))
        #expect(config.mqtt.brokers[0].host == "::1")
        #expect(config.mqtt.brokers[0].port == 1884)
        #expect(config.mqtt.url == "mqtt://[::1]:1884")
    }

    @Test(arguments: [
        ("state", "/etc/fieldlink/state"),
        ("./run/state", "/etc/fieldlink/run/state"),
        ("../lib/fieldlink", "/etc/lib/fieldlink"),
        ("/srv/fieldlink", "/srv/fieldlink"),
    ])
    func relativePathsResolveAgainstTheConfigDirectory(written: String, resolved: String) throws {
        let config = try ConfigFixture.parse(ConfigFixture.edited([
            Edit("state_dir: /var/lib/fieldlink-test", "state_dir: \(written)"),
            Edit("port: /dev/ttyUSB9", "port: \(written)"),
        ]))
        #expect(config.gateway.stateDirectory == resolved)
        #expect((config.buses[2].options as? ModbusRTUBusOptions)?.port == resolved)
    }

    @Test func loadsAFileAndResolvesRelativePathsAgainstItsDirectory() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path + "/secrets", withIntermediateDirectories: true)
        try "hunter2\n".write(toFile: directory.path + "/secrets/mqtt.pw", atomically: true, encoding: .utf8)
        let yaml = ConfigFixture.edited([
            Edit("  password: s3cret\n", "  password_file: secrets/mqtt.pw\n"),
            Edit("state_dir: /var/lib/fieldlink-test", "state_dir: state"),
        ])
        let file = directory.path + "/fieldlink.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)

        let config = try ConfigFixture.loader.load(file: file)
        #expect(config.file == file)
        #expect(config.mqtt.brokers[0].password?.value == "hunter2")
        #expect(config.gateway.stateDirectory == directory.path + "/state")
    }

    /// The unit's credential fallback for a missing /etc/fieldlink/mqtt-password is an empty
    /// credential: a config that asks for a password must say so, not log in with "".
    @Test func anEmptyPasswordFileIsRefusedWithWhatToDo() throws {
        let directory = try TemporaryDirectory()
        try "\n".write(toFile: directory.path + "/mqtt-password", atomically: true, encoding: .utf8)
        let yaml = ConfigFixture.edited([Edit("  password: s3cret\n", "  password_file: mqtt-password\n")])
        let file = directory.path + "/fieldlink.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigFixture.loader.load(file: file)
            Issue.record("loaded a config whose password file is empty")
        } catch {
            #expect(error.problems.map(\.path) == ["mqtt.password_file"])
            #expect(error.problems.first?.message.contains("is empty: put the broker's password in it, or remove password_file") == true)
        }
    }

    @Test func loadReportsAMissingFileAtItsFirstLine() {
        let file = "/nonexistent/fieldlink-\(UUID().uuidString).yaml"
        do {
            _ = try ConfigFixture.loader.load(file: file)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.problems.count == 1)
            let problem = error.problems.first
            #expect(problem?.location == ConfigLocation(file: file, line: 1, column: 1))
            #expect(problem?.path == "")
            #expect(problem?.message.hasPrefix("cannot read config file: ") == true)
        }
    }

    @Test func secretsPrintRedacted() throws {
        let config = try ConfigFixture.parse(ConfigFixture.full)
        let password = try #require(config.mqtt.brokers[0].password)
        #expect("\(password)" == "<redacted>")
        #expect(!String(describing: config.mqtt).contains("s3cret"))
    }

    // MARK: - Documents that are not a config

    @Test(arguments: ["", "\n\n", "# only a comment\n"])
    func anEmptyDocumentIsOneProblem(yaml: String) {
        #expect(ConfigFixture.problems(yaml) == [
            ConfigProblem(location: ConfigLocation(file: ConfigFixture.file, line: 1, column: 1), path: "", message: "config is empty")
        ])
    }

    @Test func aScalarDocumentIsNotAMapping() {
        #expect(ConfigFixture.problems("just text\n") == [
            ConfigProblem(location: ConfigLocation(file: ConfigFixture.file, line: 1, column: 1), path: "",
                          message: "expected a mapping, found a scalar")
        ])
    }

    @Test func yamlSyntaxErrorGivesLineAndColumn() throws {
        // The second ": " on line 3 starts a mapping where a plain scalar is still going on.
        let yaml = "gateway:\n  id: gw-1\n  state_dir: a: b\n"
        let problems = ConfigFixture.problems(yaml)
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.location == ConfigLocation(file: ConfigFixture.file, line: 3, column: 15))
        #expect(problem.path == "")
        #expect(problem.message == "YAML syntax: mapping values are not allowed in this context")
        #expect(problem.description == "\(ConfigFixture.file):3:15: YAML syntax: mapping values are not allowed in this context")
    }

    @Test func unclosedFlowSequenceIsASyntaxError() throws {
        let yaml = ConfigFixture.edited([Edit("      - {name: alarm, table: discrete, address: 3}\n",
                                              "      - {name: alarm, table: discrete, address: [3}\n")])
        let problems = ConfigFixture.problems(yaml)
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.message.hasPrefix("YAML syntax: "))
        #expect(problem.location.line == ConfigFixture.location(of: "|      - {name: alarm", in: yaml).line)
    }

    @Test func twoBusesCannotOwnOnePort() {
        let yaml = ConfigFixture.edited([Edit("    port: /dev/ttyUSB9\n", "    port: /dev/ttyUSB0\n")])
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.count == 1)
        #expect(problems.first?.path == "buses[2].type")
        #expect(problems.first?.message == #"/dev/ttyUSB0 is already bus "rs485"'s: one bus per line, so put these devices on that bus"#)
    }

    @Test func sparkplugDevicesNeedTheSparkplugSection() {
        let yaml = ConfigFixture.edited([Edit("    retain: true\n", "    retain: true\n    format: sparkplugb\n")])
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.count == 1)
        #expect(problems.first?.path.hasSuffix(".format") == true)
        #expect(problems.first?.message == "sparkplugb needs a top-level sparkplug: section with at least group_id")
    }

    @Test func sparkplugIdsAreSingleTopicLevels() throws {
        let yaml = ConfigFixture.edited([Edit("buffer:\n", "sparkplug: {group_id: plant/1, edge_node_id: \"gw+\"}\nbuffer:\n")])
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.map(\.path) == ["sparkplug.group_id", "sparkplug.edge_node_id"])
        #expect(problems.first?.message == #""plant/1" must not contain "/" (it is one level of a Sparkplug topic)"#)
        let config = try ConfigFixture.loader.parse(yaml: ConfigFixture.edited([Edit("buffer:\n", "sparkplug: {group_id: plant1}\nbuffer:\n")]),
                                                    file: ConfigFixture.file)
        #expect(config.sparkplug == SparkplugConfig(groupID: "plant1", edgeNodeID: config.gateway.id, dataQoS: 0))
    }

    @Test func duplicateKeyIsReportedAtItsFirstOccurrence() {
        let yaml = ConfigFixture.edited([Edit("  keepalive: 45s\n", "  keepalive: 45s\n  keepalive: 50s\n")])
        #expect(ConfigFixture.problems(yaml) == [
            ConfigProblem(location: ConfigFixture.location(of: "  |keepalive: 45s", in: yaml), path: "",
                          message: "duplicate key \"keepalive\" in this mapping")
        ])
    }

    // MARK: - One problem each

    static let unknownKeys: [ProblemCase] = [
        ProblemCase("buffer:\n", "extra: 1\nbuffer:\n", path: "extra",
                    message: #"unknown key "extra" (expected one of gateway, mqtt, buffer, payload, buses, devices, sparkplug)"#, at: "|extra: 1"),
        ProblemCase("  id: gw-1\n", "  id: gw-1\n  site: north\n", path: "gateway.site",
                    message: #"unknown key "site" (expected one of id, state_dir)"#, at: "  |site: north"),
        ProblemCase("  drain_timeout: 2s\n", "  drain_timeout: 2s\n  host: broker\n", path: "mqtt.host",
                    message: #"unknown key "host" (expected one of url, urls, tls, username, password, password_file, status_topic, "#
                        + "client_id, version, keepalive, max_inflight, reconnect_delay, reconnect_delay_max, drain_timeout, "
                        + "failover_after, failback_after, failback, message_expiry)",
                    at: "  |host: broker"),
        ProblemCase("  memory_messages: 500\n", "  memory_messages: 500\n  disk_messages: 5\n", path: "buffer.disk_messages",
                    message: #"unknown key "disk_messages" (expected one of max_bytes, max_age, durability, sync_interval, "#
                        + "replay_rate, memory_messages)",
                    at: "  |disk_messages"),
        ProblemCase("    timeout: 250ms\n", "    timeout: 250ms\n    flow_control: rts\n", path: "buses[0].flow_control",
                    message: #"unknown key "flow_control" (expected one of name, type, port, baud, parity, data_bits, stop_bits, timeout, retries, delay_before_request, backoff_after, backoff_max, rs485, rts, rts_delay)"#,
                    at: "    |flow_control"),
        ProblemCase("    retain: true\n", "    retain: true\n    poll: 5s\n", path: "devices[0].poll",
                    message: #"unknown key "poll" (expected one of name, bus, interval, topic, qos, retain, format, report, deadband, heartbeat, batch, unit, timeout, retries, delay_before_request, max_gap, merge, profile, profile_points, points)"#,
                    at: "    |poll: 5s"),
        ProblemCase("{name: voltage, address: 0,", "{name: voltage, scal: 2, address: 0,", path: "devices[0].points[0].scal",
                    message: #"unknown key "scal" (expected one of name, unit, scale, offset, precision, map, topic, qos, retain, deadband, table, address, bit, type, order, length)"#,
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
                    message: #"unknown value "4" (expected one of 5, 3.1.1)"#, at: "version: |4"),
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
                    message: "cannot read password file /etc/fieldlink/missing.pw", at: "password_file: |missing.pw"),
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

    // MARK: - Several problems

    @Test func reportsEveryProblemInOnePassInFileOrder() {
        let yaml = ConfigFixture.edited([
            Edit("  id: gw-1\n", "  id: gw-1\n  site: north\n"),
            Edit("  url: mqtt://broker.example:1884\n", "  url: ws://broker.example:8883\n"),
            Edit("    data_bits: 7\n", "    data_bits: 9\n"),
            Edit("    qos: 2\n", "    qos: 3\n"),
            Edit("{name: relay, table: coil, address: 16}", "{name: relay, table: coil, address: 16, type: float32}"),
            Edit("    bus: line2\n", "    bus: line3\n"),
        ])
        func problem(_ path: String, _ message: String, at marker: String) -> ConfigProblem {
            ConfigProblem(location: ConfigFixture.location(of: marker, in: yaml), path: path, message: message)
        }
        #expect(ConfigFixture.problems(yaml) == [
            problem("gateway.site", #"unknown key "site" (expected one of id, state_dir)"#, at: "  |site: north"),
            problem("mqtt.url", #"unsupported scheme "ws" (expected mqtt or mqtts)"#, at: "url: |ws"),
            problem("buses[0].data_bits", "9 is out of range (5...8)", at: "data_bits: |9"),
            problem("devices[0].qos", "3 is out of range (0...2)", at: "qos: |3"),
            problem("devices[0].points[2].type", "a coil point is a single bit: its type must be bool, not float32",
                    at: "16, type: |float32"),
            problem("devices[1].bus", #"no bus named "line3" (buses: rs485, line2, spare)"#, at: "bus: |line3"),
        ])
    }

    @Test func reportsProblemsInEveryDeviceAndPoint() {
        let yaml = ConfigFixture.edited([
            Edit("{name: voltage, address: 0,", "{name: voltage, address: 65536,"),
            Edit("{name: energy, address: 2, type: uint32,", "{name: energy, address: 2, type: uint33,"),
            Edit("    unit: 247\n", "    unit: 0\n"),
            Edit("type: uint64", "type: flaot32"),
        ])
        let problems = ConfigFixture.problems(yaml)
        #expect(problems.map(\.path) == [
            "devices[0].points[0].address", "devices[0].points[1].type", "devices[1].unit", "devices[1].points[3].type",
        ])
        #expect(problems.map(\.location.line) == problems.map(\.location.line).sorted())
        #expect(problems.allSatisfy { $0.location.file == ConfigFixture.file })
    }

    @Test func errorsDescribeEveryProblemOnItsOwnLine() {
        let one = ConfigProblem(location: ConfigLocation(file: "/c.yaml", line: 3, column: 7), path: "mqtt.url", message: "bad")
        let two = ConfigProblem(location: ConfigLocation(file: "/c.yaml", line: 1, column: 1), path: "", message: "worse")
        #expect(ConfigErrors(problems: [one]).description == "config has 1 problem:\n  /c.yaml:3:7: mqtt.url: bad")
        #expect(ConfigErrors(problems: [one, two]).description
            == "config has 2 problems:\n  /c.yaml:3:7: mqtt.url: bad\n  /c.yaml:1:1: worse")
    }
}
