import Foundation
import Testing
import TestSupport

@Suite("Broker outage")
struct BrokerRestartTests {
    /// The broker keeps the subscriber's persistent session across its restart, so the subscriber
    /// cannot miss what the gateway delivers the moment it reconnects (a fresh subscriber would race
    /// the gateway's reconnect). The gateway's own session is clean: what it polled during the outage
    /// can only arrive if its queue kept it and resent it.
    @Test("messages polled while the broker is down are delivered after it returns, with no seq gap",
          .timeLimit(.minutes(2)))
    func brokerRestart() throws {
        let workspace = try Workspace("broker-restart")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path, persistent: true)
        defer { broker.stop() }
        let subscriberID = "sub-\(UUID().uuidString.prefix(8))"
        let before = try Subscriber(broker: broker, topic: "fieldlink/#", qos: 1, in: workspace.path, name: "sub-before",
                                    clientID: subscriberID, cleanSession: false)
        defer { before.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 5]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-outage", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 500ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 200ms, qos: 1, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(before.waitFor(device: "meter", count: 5, timeout: .seconds(15)), "nothing published; log:\n\(gateway.stderr)")

        // Subscriber away (its session stays), then the broker goes down for a few seconds.
        before.process.stop()
        let down = nowMilliseconds()
        broker.stop()
        pause(.seconds(3))
        #expect(gateway.isRunning, "gateway died without its broker; log:\n\(gateway.stderr)")
        #expect(!gateway.logLines(level: "WARNING", containing: "lost connection").isEmpty, "outage not logged:\n\(gateway.stderr)")
        try broker.restart()
        let up = nowMilliseconds()
        let after = try Subscriber(broker: broker, topic: "fieldlink/#", qos: 1, in: workspace.path, name: "sub-after",
                                   clientID: subscriberID, cleanSession: false)
        defer { after.process.stop() }

        // Live messages flow again...
        let flowing = after.waitFor(timeout: .seconds(15)) { messages in
            messages.compactMap(Telemetry.init).filter { $0.ts > up }.count >= 5
        }
        #expect(flowing, "no live messages after the broker came back; log:\n\(gateway.stderr)")
        #expect(gateway.isRunning)
        let reconnected = gateway.logLines(level: "NOTICE", containing: "connected to")
        #expect(reconnected.count == 2, "\(reconnected)")
        #expect(reconnected.last.map { !$0.contains("; 0 message(s) queued") } == true, "nothing was queued during the outage? \(reconnected)")

        // ...and after a graceful stop, every number from 1 to the last one was delivered.
        #expect(gateway.stop() == 0, "log:\n\(gateway.stderr)")
        let state = try String(contentsOfFile: "\(workspace.path)/state/sequence.json", encoding: .utf8)
        let next = try #require((try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])?["meter"] as? NSNumber)
        let last = next.uint64Value - 1
        try #require(after.waitFor(timeout: .seconds(5)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.seq == last }
        }, "the last message (seq \(last)) never arrived")

        let all = before.telemetry(device: "meter") + after.telemetry(device: "meter")
        let seqs = Set(all.map(\.seq))
        let missing = (1...last).filter { !seqs.contains($0) }
        #expect(missing.isEmpty, "lost across the outage: seq \(missing)")
        let duringOutage = all.filter { $0.ts > down + 200 && $0.ts < up }
        #expect(duringOutage.count >= 10, "only \(duringOutage.count) messages polled during the ~3 s outage arrived")
        // QoS 1 allows duplicates (a PUBACK lost with the broker); it does not allow new numbers for old polls.
        let byNumber = Dictionary(grouping: all, by: \.seq)
        #expect(byNumber.values.allSatisfy { Set($0.map(\.ts)).count == 1 }, "one seq used for two different polls")
        // After the live subscriber is in place, nothing is missing either: the tail is consecutive.
        let tail = after.telemetry(device: "meter").filter { $0.ts > up + 1_000 }.map(\.seq)
        #expect(isConsecutive(tail, from: tail.first ?? 0), "gap after reconnect: \(tail)")
    }
}
