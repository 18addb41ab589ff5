import Foundation
import Testing
import TestSupport

@Suite("Publish policy: per-point topics and QoS, device health")
struct PublishPolicyTests {
    @Test("a point with its own topic/QoS/retain is its own message (QoS 2 end to end); device health is published on change",
          .timeLimit(.minutes(2)))
    func perPointRoutesAndHealth() throws {
        let workspace = try Workspace("publish-policy")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        // MQTT 5 with retain-as-published, so the retain flag of live messages is visible; %q is the QoS delivered.
        let subscriber = try ChildProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-V", "5", "-q", "2",
                                                            "--retain-as-published", "-t", "#", "-F", "%q|%r|%t\t%p"],
                                          in: workspace.path, name: "sub-qos")
        defer { subscriber.stop() }
        pause(.milliseconds(300))
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [
            ["table": "holding", "address": 0, "type": "uint16", "value": 10],
            ["table": "holding", "address": 1, "type": "uint16", "value": 11],
            ["table": "holding", "address": 2, "type": "uint16", "value": 12],
        ]], in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-pol", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 200ms}
            devices:
              - name: meter
                bus: line1
                unit: 1
                interval: 200ms
                qos: 1
                points:
                  - {name: x, address: 0}
                  - {name: y, address: 1, topic: "plant/{device}/{point}", qos: 2, retain: true}
                  - {name: z, address: 2, qos: 0}
              - {name: ghost, bus: line1, unit: 9, interval: 500ms, points: [{name: w, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }

        struct Delivery { var qos: Int; var retained: Bool; var topic: String; var payload: String }
        func deliveries() -> [Delivery] {
            subscriber.stdout.split(separator: "\n").compactMap { line in
                guard let tab = line.firstIndex(of: "\t") else { return nil }
                let head = line[..<tab].split(separator: "|", maxSplits: 2)
                guard head.count == 3, let qos = Int(head[0]) else { return nil }
                return Delivery(qos: qos, retained: head[1] == "1", topic: String(head[2]), payload: String(line[tab...].dropFirst()))
            }
        }
        let arrived = eventually(timeout: .seconds(20)) {
            let topics = Set(deliveries().map(\.topic))
            return topics.isSuperset(of: ["fieldlink/gw-pol/meter", "plant/meter/y", "fieldlink/gw-pol/meter/z",
                                          "fieldlink/gw-pol/status/ghost", "fieldlink/gw-pol/status/meter"])
        }
        #expect(arrived, "topics seen: \(Set(deliveries().map(\.topic))); log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)

        func json(_ payload: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] ?? [:]
        }
        let all = deliveries()
        let shared = all.filter { $0.topic == "fieldlink/gw-pol/meter" }
        let own = all.filter { $0.topic == "plant/meter/y" }
        let zero = all.filter { $0.topic == "fieldlink/gw-pol/meter/z" }
        #expect(shared.allSatisfy { $0.qos == 1 && !$0.retained })
        #expect(shared.allSatisfy { (json($0.payload)["values"] as? [String: Any]).map { Set($0.keys) == ["x"] } == true },
                "the shared message carries only the points without a route of their own")
        #expect(own.allSatisfy { $0.qos == 2 && $0.retained }, "QoS 2 and retain on the point's own topic")
        #expect(own.allSatisfy { (json($0.payload)["values"] as? [String: Any])?["y"] as? Int == 11 })
        #expect(zero.allSatisfy { $0.qos == 0 })
        // One poll, one seq: the split messages of a poll carry the same number.
        let sharedSeqs = Set(shared.compactMap { json($0.payload)["seq"] as? Int })
        let ownSeqs = Set(own.compactMap { json($0.payload)["seq"] as? Int })
        #expect(!sharedSeqs.intersection(ownSeqs).isEmpty)

        let ghost = try #require(all.last { $0.topic == "fieldlink/gw-pol/status/ghost" })
        #expect(ghost.retained && ghost.qos == 1)
        #expect(json(ghost.payload)["state"] as? String == "failing")
        #expect((json(ghost.payload)["error"] as? String)?.contains("no response") == true, "\(ghost.payload)")
        let meter = try #require(all.last { $0.topic == "fieldlink/gw-pol/status/meter" })
        #expect(json(meter.payload)["state"] as? String == "ok")
        #expect(json(meter.payload)["last_success"] is Int)
    }
}
