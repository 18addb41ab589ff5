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
        #expect(mqtt.version == .auto)
        #expect(mqtt.qos2Unsupported == .downgrade)
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
        #expect(problems.first?.path == "buses[2].port")
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
