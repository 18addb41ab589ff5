import Foundation
import Testing
import TestSupport

/// An MQTT 5 broker whose CONNACK gives a Maximum QoS below 2 (mosquitto `max_qos 1`) and a QoS 2
/// device: by default the device's messages go at QoS 1, said once per broker, even across
/// reconnects; with `mqtt.qos2_unsupported: refuse` the broker is not used and nothing is lost.
@Suite("A broker's Maximum QoS")
struct MaximumQoSTests {
    @Test("max_qos 1 and a QoS 2 device: QoS 1, one warning across a broker restart, nothing lost; refuse: not used, one error",
          .timeLimit(.minutes(1)))
    func maximumQoS() throws {
        let workspace = try Workspace("max-qos")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path, persistent: true, extraConfig: "max_qos 1")
        defer { broker.stop() }
        let subscriber = try Subscriber(broker: broker, topic: "fieldlink/gw-maxqos/meter", in: workspace.path, clientID: "sub-maxqos", cleanSession: false)
        defer { subscriber.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 5]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        func config(_ extra: String) throws -> String {
            try workspace.write(configHead(gateway: "gw-maxqos", stateDirectory: "\(workspace.path)/state", broker: broker) + extra + """
                buses:
                  - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
                devices:
                  - {name: meter, bus: line1, unit: 1, interval: 200ms, qos: 2, points: [{name: x, address: 0}]}

                """, to: "fieldlink.yaml")
        }

        var gateway = try startGateway(config: try config(""), in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "meter", count: 5, timeout: .seconds(10)), "log:\n\(gateway.stderr)")
        try broker.restart()
        let restarted = nowMilliseconds()
        #expect(subscriber.waitFor(timeout: .seconds(8)) { $0.compactMap(Telemetry.init).contains { $0.ts > restarted + 500 } },
                "nothing after the broker restart; log:\n\(gateway.stderr)")
        let warnings = gateway.logLines(level: "WARNING", containing: "Maximum QoS")
        #expect(warnings.count == 1 && warnings.first?.contains("accepts QoS 1 at most") == true, "once per broker, not per connect; log:\n\(gateway.stderr)")
        #expect(gateway.logLines(level: "NOTICE", containing: "connected to").count >= 2, "the broker restart was not noticed; log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
        let delivered = subscriber.telemetry(device: "meter").count

        // refuse: the broker is not used; readings wait in the buffer (checked by the next start).
        gateway = try startGateway(config: try config("  qos2_unsupported: refuse\n"), in: workspace.path)
        #expect(eventually(timeout: .seconds(5)) { !gateway.logLines(level: "ERROR", containing: "cannot carry QoS 2").isEmpty }, "log:\n\(gateway.stderr)")
        pause(.seconds(2))
        let errors = gateway.logLines(level: "ERROR", containing: "cannot carry QoS 2")
        #expect(errors.count == 1 && errors.first?.contains("Maximum QoS of 1") == true && errors.first?.contains("fieldlink/gw-maxqos/meter (qos: 2)") == true,
                "log:\n\(gateway.stderr)")
        #expect(subscriber.telemetry(device: "meter").count == delivered, "a QoS 2 message went out at QoS 1 despite refuse")
        #expect(gateway.stop() == 0)

        // Back to the default: what waited goes out, and numbering has no hole.
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(workspace.path)/state/sequence.json"))
        let next = try #require((try JSONSerialization.jsonObject(with: state) as? [String: NSNumber])?["meter"]).uint64Value
        gateway = try startGateway(config: try config(""), in: workspace.path)
        #expect(subscriber.waitFor(timeout: .seconds(8)) { Set($0.compactMap(Telemetry.init).map(\.seq)).isSuperset(of: 1..<next) },
                "missing: \((1..<next).filter { !Set(subscriber.telemetry(device: "meter").map(\.seq)).contains($0) }.prefix(20)); log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
    }
}
