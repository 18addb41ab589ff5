import Foundation
import Testing
import TestSupport

/// Write-back end to end: mosquitto_pub sends the commands, the gateway writes a pymodbus slave,
/// and every check reads the SIMULATOR's own memory (its state dump after each write), not only
/// the gateway's read-back.
@Suite("Write-back")
struct WriteBackTests {
    /// `mosquitto_pub` once (MQTT 5), bounded; `response`/`correlation` set the MQTT 5 properties.
    static func publish(_ broker: Broker, _ topic: String, _ payload: String, retained: Bool = false, response: String? = nil,
                        correlation: String? = nil, expiry: Int? = nil, in directory: String) throws {
        var arguments = ["-h", "127.0.0.1", "-p", "\(broker.port)", "-V", "5", "-q", "1", "-t", topic, "-m", payload]
        if retained { arguments.append("-r") }
        if let response { arguments += ["-D", "publish", "response-topic", response] }
        if let correlation { arguments += ["-D", "publish", "correlation-data", correlation] }
        if let expiry { arguments += ["-D", "publish", "message-expiry-interval", "\(expiry)"] }
        let process = try ChildProcess("mosquitto_pub", arguments, in: directory, name: "pub-\(UUID().uuidString.prefix(6))")
        defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
        #expect(process.waitForExit(timeout: .seconds(10)), "mosquitto_pub did not finish: \(process.stderr)")
    }

    /// Answers as `topic<TAB>correlation data<TAB>payload`, from an MQTT 5 subscriber.
    static func answerListener(_ broker: Broker, topic: String, in directory: String) throws -> ChildProcess {
        let process = try ChildProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-V", "5", "-q", "1", "-t", topic,
                                                         "-F", "%t\t%D\t%p"], in: directory, name: "answers")
        usleep(300_000)
        return process
    }

    static func lines(_ process: ChildProcess) -> [String] { process.stdout.split(separator: "\n").map(String.init) }

    /// The answers on `topic` so far.
    static func answers(_ subscriber: Subscriber, on topic: String) -> [String] {
        subscriber.messages.filter { $0.topic == topic }.map(\.payload)
    }

    @Test("write-back over MQTT on an RTU line: setpoint, float32 CDAB, coil, bit, a set object, MQTT 5 answers, refusals, a retained command, a Modbus exception",
          .timeLimit(.minutes(3)))
    func modbusRTU() throws {
        let peers = try Peers("writeback-rtu")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [
            ["table": "holding", "address": 0, "type": "uint16", "value": 215],
            ["table": "holding", "address": 2, "type": "float32", "order": "CDAB", "value": 1.5],
            ["table": "holding", "address": 4, "type": "uint16", "value": 8],
            ["table": "holding", "address": 10, "type": "uint16", "value": 7, "reject_writes": 3],
            ["table": "coil", "address": 0, "value": false],
            ["table": "coil", "address": 1, "value": false],
        ]], in: workspace.path)
        defer { simulator.process.stop() }
        let device = "fieldlink/gw-wb/hp"
        // A retained command left on the broker: it must not be executed when the gateway subscribes.
        try Self.publish(broker, "\(device)/set/relay", "true", retained: true, in: workspace.path)
        let config = try workspace.write(configHead(gateway: "gw-wb", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 2s}
            devices:
              - name: hp
                bus: rs485
                unit: 1
                interval: 2s
                command_results: true
                points:
                  - {name: setpoint, address: 0, scale: 0.1, writable: true, min: 5, max: 30}
                  - {name: flow, address: 2, type: float32, order: CDAB, writable: true}
                  - {name: eco, address: 4, bit: 0, writable: true}
                  - {name: locked, address: 10, writable: true}
                  - {name: relay, table: coil, address: 0, writable: true}
                  - {name: pump, table: coil, address: 1, writable: true}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        let answers = try Self.answerListener(broker, topic: "replies/#", in: workspace.path)
        defer { answers.stop() }
        try #require(subscriber.waitFor(device: "hp", count: 1, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")

        // The retained command was ignored, audited, and nothing was written.
        #expect(eventually(timeout: .seconds(5)) { gateway.stderr.contains("ignored: retained") }, "\(gateway.stderr)")
        #expect(simulator.writeRequests.isEmpty, "a retained command reached the line: \(simulator.writeRequests)")
        try Self.publish(broker, "\(device)/set/relay", "", retained: true, in: workspace.path)  // clears it

        // A setpoint, with an MQTT 5 response topic and correlation data.
        let sent = nowMilliseconds()
        try Self.publish(broker, "\(device)/set/setpoint", "22.5", response: "replies/1", correlation: "req-1", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { Self.lines(answers).contains("replies/1\treq-1\t{\"ok\":true,\"point\":\"setpoint\",\"value\":22.5}") },
                "answers: \(answers.stdout)\nlog:\n\(gateway.stderr)")
        #expect(simulator.state?.register(unit: 1, 0) == 225, "the slave's own register")
        // The read-back went out as telemetry at once, well before the next 2 s poll.
        let readBack = subscriber.messages.compactMap(Telemetry.init).first { $0.device == "hp" && $0.ts >= sent && $0.valueText("setpoint") == "22.5" }
        #expect(readBack.map { $0.ts - sent < 1_500 } == true, "read-back telemetry: \(String(describing: readBack))")

        // A float32 in CDAB order: the low word first in the slave's registers.
        try Self.publish(broker, "\(device)/set/flow", "12.25", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { Self.answers(subscriber, on: "\(device)/set/flow/result").count == 1 })
        #expect(simulator.state?.register(unit: 1, 2) == 0x0000 && simulator.state?.register(unit: 1, 3) == 0x4144,
                "\(String(describing: simulator.state?.holding[1]?.prefix(6)))")

        // A coil (plain text) and a bit inside a register (the register's other bits stay).
        try Self.publish(broker, "\(device)/set/relay", "true", in: workspace.path)
        try Self.publish(broker, "\(device)/set/eco", "true", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { Self.answers(subscriber, on: "\(device)/set/eco/result").count == 1 })
        #expect(simulator.state?.coil(unit: 1, 0) == true)
        #expect(simulator.state?.register(unit: 1, 4) == 9, "bit 0 set, bit 3 kept")

        // Several points in one set object.
        try Self.publish(broker, "\(device)/set", #"{"setpoint": 20, "pump": true}"#, response: "replies/2", correlation: "req-2", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { Self.lines(answers).contains { $0.hasPrefix("replies/2\treq-2\t{\"ok\":true,\"results\":[") } },
                "answers: \(answers.stdout)")
        #expect(simulator.state?.register(unit: 1, 0) == 200)
        #expect(simulator.state?.coil(unit: 1, 1) == true)

        // Refusals: nothing goes on the line.
        let writesBefore = simulator.writeRequests.count
        try Self.publish(broker, "\(device)/set/setpoint", "42", response: "replies/3", correlation: "req-3", in: workspace.path)
        try Self.publish(broker, "\(device)/set/setpoint", "22.55", in: workspace.path)
        try Self.publish(broker, "\(device)/set", #"{"setpoint": 21, "nosuch": 1}"#, in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { Self.answers(subscriber, on: "\(device)/set/setpoint/result").count >= 5 })
        #expect(Self.lines(answers).contains { $0.hasPrefix("replies/3\treq-3\t{\"ok\":false,\"point\":\"setpoint\",\"error\":\"42 is above the point's max 30") },
                "answers: \(answers.stdout)")
        let refusals = Self.answers(subscriber, on: "\(device)/set/setpoint/result").suffix(3)
        #expect(refusals.allSatisfy { $0.hasPrefix("{\"ok\":false") }, "\(refusals)")
        #expect(refusals.contains { $0.contains("cannot be written exactly") }, "\(refusals)")
        #expect(simulator.writeRequests.count == writesBefore, "a refused command reached the line")
        #expect(simulator.state?.register(unit: 1, 0) == 200)

        // A Modbus exception answered to a write.
        try Self.publish(broker, "\(device)/set/locked", "5", response: "replies/4", correlation: "req-4", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { Self.lines(answers).contains { $0.hasPrefix("replies/4\treq-4\t{\"ok\":false") && $0.contains("Modbus exception 3") } },
                "answers: \(answers.stdout)")

        // One audit line per command, with its journal fields; refused and failed ones counted in health.
        #expect(gateway.logLines(level: "NOTICE", containing: "command:").contains { $0.contains("device=hp") && $0.contains("point=setpoint") && $0.contains("result=written") && $0.contains("value=22.5") })
        #expect(gateway.logLines(level: "WARNING", containing: "point=setpoint").contains { $0.contains("result=\"refused: 42 is above") }, "\(gateway.stderr)")
        #expect(eventually(timeout: .seconds(5)) {
            (try? broker.retained("fieldlink/gw-wb/status/hp")).flatMap { $0 }.map { $0.contains("\"commands_refused\":3") && $0.contains("\"commands_failed\":1") } == true
        }, "health: \(String(describing: try? broker.retained("fieldlink/gw-wb/status/hp")))")
        #expect(gateway.stop() == 0)
    }

    @Test("write-back over Modbus-TCP and MQTT 3.1.1: each type and word order in one set object, checked in the slave's registers, answered on the result topics; fieldlink write from the command line",
          .timeLimit(.minutes(2)))
    func modbusTCPTypesAndCommandLine() throws {
        let peers = try Peers("writeback-tcp")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let image: [Int: [[String: Any]]] = [1: (0..<40).map { ["table": "holding", "address": $0, "type": "uint16", "value": 0] }]
        let simulator = try ModbusSimulator(tcpImage: image, in: workspace.path)
        defer { simulator.process.stop() }
        let port = try #require(simulator.tcpPort)
        // MQTT 3.1.1: no Response Topic, so the answers are on .../set/<point>/result.
        let head = configHead(gateway: "gw-wbt", stateDirectory: "\(workspace.path)/state", broker: broker).replacingOccurrences(of: "version: 5", with: "version: 3.1.1")
        let config = try workspace.write(head + """
            buses:
              - {name: plc, type: modbus-tcp, host: 127.0.0.1, port: \(port), timeout: 2s}
            devices:
              - name: plc1
                bus: plc
                interval: 5s
                command_results: true
                points:
                  - {name: i16, address: 0, type: int16, writable: true}
                  - {name: u32, address: 1, type: uint32, order: ABCD, writable: true}
                  - {name: i32, address: 3, type: int32, order: DCBA, writable: true}
                  - {name: f32, address: 5, type: float32, order: BADC, writable: true}
                  - {name: f64, address: 10, type: float64, order: CDAB, writable: true}
                  - {name: mode, address: 20, map: {0: off, 1: heat, 2: cool}, writable: true, write_function: 16}

            """, to: "fieldlink.yaml")
        // `check` lists the writable points with their limits and topics.
        let check = try runFieldlink(["check", "--config", config], in: workspace.path, name: "check")
        #expect(check.stdout.contains("i16: holding 0 int16; WRITABLE (no limits) <- fieldlink/gw-wbt/plc1/set/i16"), "\(check.stdout)")
        #expect(check.stdout.contains("commands: on fieldlink/gw-wbt/plc1/set[/<point>], dropped after 10s, retained ignored, results on .../set/<point>/result"))
        // The command line first, before the gateway owns the connection: same checks, then the read-back.
        let refused = try runFieldlink(["write", "--config", config, "--device", "plc1", "--point", "i16", "40000"], in: workspace.path, name: "write-refused")
        #expect(refused.status == 2 && refused.stdout.contains("out of range"), "\(refused)")
        #expect(simulator.writeRequests.isEmpty)
        let written = try runFieldlink(["write", "--config", config, "--device", "plc1", "--point", "mode", "cool"], in: workspace.path, name: "write-mode")
        #expect(written.status == 0 && written.stdout.contains("written; read back cool"), "\(written)")
        #expect(simulator.state?.register(unit: 1, 20) == 2)
        #expect(simulator.writeRequests.map(\.function) == [16], "write_function: 16 honoured")

        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "plc1", count: 1, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        try Self.publish(broker, "fieldlink/gw-wbt/plc1/set", #"{"i16": -1234, "u32": 305419896, "i32": -2, "f32": -21.75, "f64": 1234.5678}"#,
                         in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { Self.answers(subscriber, on: "fieldlink/gw-wbt/plc1/set/f64/result").count == 1 },
                "log:\n\(gateway.stderr)")
        let state = try #require(simulator.state)
        let words = (0..<14).map { state.register(unit: 1, $0) ?? -1 }
        #expect(words[0] == 0xFB2E, "int16 -1234")
        #expect(Array(words[1...2]) == [0x1234, 0x5678], "uint32 ABCD")
        #expect(Array(words[3...4]) == [0xFEFF, 0xFFFF], "int32 -2 DCBA")
        #expect(Array(words[5...6]) == [0xAEC1, 0x0000], "float32 -21.75 (0xC1AE0000) BADC")
        // 1234.5678 is 0x40934A456D5CFAAD: CDAB reverses the four words (as the read path does).
        #expect(Array(words[10...13]) == [0xFAAD, 0x6D5C, 0x4A45, 0x4093], "float64 CDAB")
        // Contiguous registers (0-6) went in one function 16 request where nothing pinned function 6.
        #expect(simulator.writeRequests.suffix(4).contains { $0.function == 16 && $0.address == 0 && $0.count == 7 }, "\(simulator.writeRequests)")
        let results = ["i16", "u32", "i32", "f32", "f64"].map { Self.answers(subscriber, on: "fieldlink/gw-wbt/plc1/set/\($0)/result").last ?? "" }
        #expect(results == [#"{"ok":true,"point":"i16","value":-1234}"#, #"{"ok":true,"point":"u32","value":305419896}"#,
                            #"{"ok":true,"point":"i32","value":-2}"#, #"{"ok":true,"point":"f32","value":-21.75}"#,
                            #"{"ok":true,"point":"f64","value":1234.5678}"#])
        #expect(gateway.stop() == 0)
    }

    @Test("a command that expires while its bus is busy is dropped unwritten (MQTT 5 message expiry)", .timeLimit(.minutes(2)))
    func expiredCommandDropped() throws {
        let peers = try Peers("writeback-expiry")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "coil", "address": 0, "value": false]]], in: workspace.path)
        defer { simulator.process.stop() }
        // Unit 7 never answers: a write to it holds the line for its whole 3 s timeout.
        let config = try workspace.write(configHead(gateway: "gw-exp", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none}
            devices:
              - {name: relays, bus: rs485, unit: 1, interval: 10s, command_results: true, points: [{name: r, table: coil, address: 0, writable: true}]}
              - {name: gone, bus: rs485, unit: 7, interval: 60s, timeout: 3s, command_results: true, points: [{name: g, table: coil, address: 0, writable: true}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "relays", count: 1, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        // Wait out the silent unit's first poll, so the line is free when the commands come.
        #expect(eventually(timeout: .seconds(10)) { !gateway.logLines(level: "WARNING", containing: "device=gone").isEmpty }, "\(gateway.stderr)")
        try Self.publish(broker, "fieldlink/gw-exp/gone/set/g", "true", in: workspace.path)
        try Self.publish(broker, "fieldlink/gw-exp/relays/set/r", "true", expiry: 1, in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { !Self.answers(subscriber, on: "fieldlink/gw-exp/relays/set/r/result").isEmpty })
        let answer = Self.answers(subscriber, on: "fieldlink/gw-exp/relays/set/r/result").first ?? ""
        #expect(answer.hasPrefix("{\"ok\":false") && answer.contains("expired"), "\(answer)")
        #expect(Self.answers(subscriber, on: "fieldlink/gw-exp/gone/set/g/result").first?.contains("no response (timeout)") == true)
        #expect(!simulator.writeRequests.contains { $0.unit == 1 }, "the expired command was written: \(simulator.writeRequests)")
        #expect(simulator.writeRequests.contains { $0.unit == 7 }, "the first command did hold the line")
        #expect(gateway.stop() == 0)
    }
}
