import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// RabbitMQ's MQTT plugin as the broker: MQTT 3.1.1 only, QoS 0/1 only, a broker that is not
/// mosquitto. With the default `version: auto` the gateway finds 3.1.1 by itself.
@Suite("RabbitMQ as the broker")
struct RabbitMQTests {
    struct Setup {
        let workspace: Workspace
        let broker: RabbitMQ
        let subscriber: Subscriber
        let pty: PtyPair
        let simulator: ModbusSimulator
        let config: String

        init(_ name: String, qos: Int, subscriberID: String) throws {
            workspace = try Workspace(name)
            broker = try RabbitMQ(in: workspace.path)
            subscriber = try Subscriber(port: broker.port, topic: "fieldlink/gw-r/#", qos: 1, in: workspace.path, name: "sub-0",
                                        clientID: subscriberID, cleanSession: false)
            pty = try PtyPair(in: workspace.path)
            simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 3]]],
                                            in: workspace.path)
            config = try workspace.write("""
                gateway: {id: gw-r, state_dir: \(workspace.path)/state}
                time: {trust: always}
                mqtt:
                  url: \(broker.url)
                  reconnect_delay: 200ms
                  reconnect_delay_max: 2s
                buses:
                  - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
                devices:
                  - {name: meter, bus: line1, unit: 1, interval: 100ms, qos: \(qos), points: [{name: x, address: 0}]}

                """, to: "fieldlink.yaml")
        }

        func tearDown() {
            [subscriber.process, simulator.process, pty.process].forEach { $0.stop() }
            broker.shutdown()
            workspace.remove()
        }
    }

    /// auto finds 3.1.1; a stream through a broker restart loses nothing; kill -9 makes the broker
    /// publish the will (`offline`).
    @Test("version auto finds 3.1.1 on RabbitMQ; a stream through a RabbitMQ restart loses nothing; the will arrives",
          .timeLimit(.minutes(3)))
    func streamRestartAndWill() throws {
        let subscriberID = "sub-\(UUID().uuidString.prefix(6))"
        let setup = try Setup("rabbitmq-stream", qos: 1, subscriberID: subscriberID)
        defer { setup.tearDown() }
        let gateway = try startGateway(config: setup.config, in: setup.workspace.path)
        defer { gateway.stop(signal: SIGKILL) }
        try #require(setup.subscriber.waitFor(device: "meter", count: 10, timeout: .seconds(30)), "log:\n\(gateway.stderr)")
        // Named for what it is (not libmosquitto's "The connection was lost"), with the hint.
        #expect(!gateway.logLines(level: "WARNING", containing: "closed the connection before answering the MQTT 5 CONNECT").isEmpty,
                "log:\n\(gateway.stderr)")
        #expect(!gateway.logLines(level: "NOTICE", containing: "trying MQTT 3.1.1").isEmpty, "log:\n\(gateway.stderr)")
        #expect(!gateway.logLines(level: "NOTICE", containing: "with MQTT 3.1.1").isEmpty, "log:\n\(gateway.stderr)")

        setup.subscriber.process.stop()
        try setup.broker.restart()
        let back = try Subscriber(port: setup.broker.port, topic: "fieldlink/gw-r/#", qos: 1, in: setup.workspace.path, name: "sub-1",
                                  clientID: subscriberID, cleanSession: false)
        defer { back.process.stop() }
        let restarted = nowMilliseconds()
        try #require(back.waitFor(timeout: .seconds(40)) { $0.compactMap(Telemetry.init).contains { $0.ts > restarted + 1_000 } },
                     "nothing after the restart; log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(setup.workspace.path)/state/sequence.json"))
        let next = try #require((try JSONSerialization.jsonObject(with: state) as? [String: NSNumber])?["meter"]).uint64Value
        _ = back.waitFor(timeout: .seconds(10)) { $0.compactMap(Telemetry.init).contains { $0.seq == next - 1 } }
        let seen = Set((setup.subscriber.telemetry + back.telemetry).map(\.seq))
        let missing = (1..<next).filter { !seen.contains($0) }
        #expect(missing.isEmpty, "lost through the RabbitMQ restart: \(missing.prefix(30))")

        // The will: a gateway killed without DISCONNECT leaves `offline` on its status topic.
        let crashing = try startGateway(config: setup.config, in: setup.workspace.path, name: "fieldlink-crash")
        defer { crashing.stop(signal: SIGKILL) }
        #expect(eventually(timeout: .seconds(20)) { !crashing.logLines(level: "NOTICE", containing: "connected to").isEmpty })
        pause(.seconds(1))
        crashing.stop(signal: SIGKILL)
        #expect(back.waitFor(timeout: .seconds(15)) { messages in
            messages.last { $0.topic == "fieldlink/gw-r/status" }?.payload == "offline"
        }, "no will after kill -9; messages on status: \(back.messages.filter { $0.topic.hasSuffix("/status") }.map(\.payload))")
    }

    /// RabbitMQ answers QoS 2 with PUBACK: one clear error naming the topic and its QoS, one
    /// warning, then QoS 1 — no reconnect storm, every reading delivered.
    @Test("a QoS 2 device on RabbitMQ: refuse leaves the broker alone after one error; downgrade: one error, QoS 1, no reconnect storm, nothing lost",
          .timeLimit(.minutes(3)))
    func qos2IsDowngraded() throws {
        let setup = try Setup("rabbitmq-qos2", qos: 2, subscriberID: "sub-\(UUID().uuidString.prefix(6))")
        defer { setup.tearDown() }
        func connectCount() -> Int {
            setup.broker.log.split(separator: "\n").filter { $0.contains("accepting MQTT connection") && $0.contains("client id: gw-r)") }.count
        }

        // qos2_unsupported: refuse. The broker shows it only by answering the first QoS 2 PUBLISH
        // with PUBACK: one error, and it is not connected to again.
        let original = try String(contentsOfFile: setup.config, encoding: .utf8)
        try original.replacingOccurrences(of: "  reconnect_delay_max: 2s\n", with: "  reconnect_delay_max: 2s\n  qos2_unsupported: refuse\n")
            .write(toFile: setup.config, atomically: true, encoding: .utf8)
        let refusing = try startGateway(config: setup.config, in: setup.workspace.path)
        defer { refusing.stop(signal: SIGKILL) }
        #expect(eventually(timeout: .seconds(20)) { !refusing.logLines(level: "ERROR", containing: "cannot carry QoS 2").isEmpty }, "log:\n\(refusing.stderr)")
        let connectsAtRefusal = connectCount()
        pause(.seconds(3))
        let refusals = refusing.logLines(level: "ERROR", containing: "cannot carry QoS 2")
        #expect(refusals.count == 1 && refusals.first?.contains("PUBACK") == true && refusals.first?.contains("until the gateway restarts") == true,
                "log:\n\(refusing.stderr)")
        #expect(connectsAtRefusal >= 1 && connectCount() == connectsAtRefusal, "connected again after the refusal; log:\n\(refusing.stderr)")
        #expect(refusing.stop() == 0)
        try original.write(toFile: setup.config, atomically: true, encoding: .utf8)
        let connectsBefore = connectCount()

        // The default, downgrade; what waited during the refusal goes out too.
        let gateway = try startGateway(config: setup.config, in: setup.workspace.path)
        defer { gateway.stop(signal: SIGKILL) }
        try #require(setup.subscriber.waitFor(device: "meter", count: 20, timeout: .seconds(30)), "log:\n\(gateway.stderr)")
        pause(.seconds(5))
        let errors = gateway.logLines(level: "ERROR", containing: "does not support QoS 2")
        #expect(errors.count == 1 && errors.first?.contains("fieldlink/gw-r/meter (qos: 2)") == true, "log:\n\(gateway.stderr)")
        #expect(gateway.logLines(level: "WARNING", containing: "downgraded to QoS 1").count == 1, "log:\n\(gateway.stderr)")
        // Counted by the broker: one 3.1.1 session, and one more after the downgrade.
        let connects = connectCount() - connectsBefore
        #expect((1...3).contains(connects), "\(connects) connects (a reconnect storm?); log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(setup.workspace.path)/state/sequence.json"))
        let next = try #require((try JSONSerialization.jsonObject(with: state) as? [String: NSNumber])?["meter"]).uint64Value
        _ = setup.subscriber.waitFor(timeout: .seconds(10)) { $0.compactMap(Telemetry.init).contains { $0.seq == next - 1 } }
        let received = setup.subscriber.telemetry(device: "meter").map(\.seq)
        let missing = (1..<next).filter { !Set(received).contains($0) }
        #expect(missing.isEmpty, "lost: \(missing.prefix(30))")
        print("QoS 2 on RabbitMQ: \(connects) connect(s), \(received.count - Set(received).count) duplicate(s) for \(next - 1) readings")
        #expect(received.count - Set(received).count <= 100, "\(received.count - Set(received).count) duplicates")
    }
}
