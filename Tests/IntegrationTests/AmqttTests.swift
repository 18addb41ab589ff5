import Foundation
import Testing
import TestSupport

/// amqtt (Python) as the broker: MQTT 3.1.1 only, and an MQTT 5 CONNECT gets neither an answer nor
/// a close. With every mqtt setting at its default (`version: auto`), the gateway gives MQTT 5 up
/// after connect_timeout, agrees on 3.1.1 and delivers.
@Suite("amqtt as the broker")
struct AmqttTests {
    @Test("version auto falls back to 3.1.1 on amqtt by the connect timeout and delivers in order",
          .timeLimit(.minutes(1)))
    func autoFallsBackAndDelivers() throws {
        let workspace = try Workspace("amqtt")
        defer { workspace.remove() }
        let broker = try Amqtt(in: workspace.path)
        defer { broker.stop() }
        let subscriber = try Subscriber(port: broker.port, topic: "fieldlink/gw-a/#", in: workspace.path)
        defer { subscriber.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write("""
            gateway: {id: gw-a, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: \(broker.url)}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 200ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        #expect(subscriber.waitFor(device: "meter", count: 10, timeout: .seconds(20)), "log:\n\(gateway.stderr)")
        #expect(!gateway.logLines(level: "NOTICE", containing: "did not answer an MQTT 5 CONNECT; trying MQTT 3.1.1").isEmpty, "log:\n\(gateway.stderr)")
        #expect(!gateway.logLines(level: "NOTICE", containing: "with MQTT 3.1.1").isEmpty, "log:\n\(gateway.stderr)")
        let seqs = subscriber.telemetry(device: "meter").map(\.seq)
        #expect(isConsecutive(seqs, from: 1), "readings polled during the MQTT 5 attempt are delivered too: seq \(seqs)")
        #expect(subscriber.telemetry(device: "meter").allSatisfy { $0.valueText("x") == "7" })
        #expect(gateway.stop() == 0)
        #expect(subscriber.waitFor(timeout: .seconds(5)) { $0.contains { $0.topic == "fieldlink/gw-a/status" && $0.payload == "offline" } },
                "no offline status at a clean stop")
    }
}
