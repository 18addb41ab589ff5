import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite("Broker failover")
struct FailoverTests {
    /// The primary goes away: telemetry moves to the secondary within failover_after; the primary
    /// flaps (no ping-pong), then stays up: the gateway returns after failback_after. Every seq
    /// arrives at the subscribers of the two brokers, and each broker's retained status is right.
    @Test("fail over to the secondary and back to the primary without a gap, and without ping-pong on a flapping primary",
          .timeLimit(.minutes(2)))
    func failoverAndFailback() throws {
        let workspace = try Workspace("failover")
        defer { workspace.remove() }
        let primary = try Broker(in: workspace.path, persistent: true)
        defer { primary.stop() }
        let secondary = try Broker(in: workspace.path, persistent: true)
        defer { secondary.stop() }
        // Persistent sessions: what a broker accepted reaches its subscriber even across that broker's restart.
        let primaryID = "sub-a-\(UUID().uuidString.prefix(6))", secondaryID = "sub-b-\(UUID().uuidString.prefix(6))"
        var primarySubscribers = [try Subscriber(broker: primary, topic: "fieldlink/gw-fo/meter", in: workspace.path, name: "sub-a0",
                                                 clientID: primaryID, cleanSession: false)]
        defer { primarySubscribers.forEach { $0.process.stop() } }
        let secondarySubscriber = try Subscriber(broker: secondary, topic: "fieldlink/gw-fo/meter", in: workspace.path, name: "sub-b",
                                                 clientID: secondaryID, cleanSession: false)
        defer { secondarySubscriber.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 3]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write("""
            gateway: {id: gw-fo, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt:
              urls: [\(primary.url), \(secondary.url)]
              keepalive: 5s
              reconnect_delay: 200ms
              reconnect_delay_max: 500ms
              failover_after: 1s
              failback_after: 3s
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 100ms, qos: 1, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(primarySubscribers[0].waitFor(device: "meter", count: 5, timeout: .seconds(20)), "log:\n\(gateway.stderr)")

        // The primary goes away: within failover_after plus a reconnect, telemetry flows to the secondary.
        primary.stop()
        let lost = nowMilliseconds()
        #expect(secondarySubscriber.waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.ts > lost }
        }, "nothing reached the secondary; log:\n\(gateway.stderr)")
        #expect(!gateway.logLines(level: "WARNING", containing: "failing over").isEmpty)

        // It flaps: up and down every second for 5 s. Never up for failback_after (3 s): no switch.
        for _ in 0..<3 {
            try primary.restart()
            pause(.seconds(1))
            primary.stop()
            pause(.seconds(1))
        }
        #expect(gateway.logLines(level: "NOTICE", containing: "failing back").isEmpty, "ping-pong on a flapping primary:\n\(gateway.stderr)")

        // It stays up: the gateway returns after failback_after.
        try primary.restart()
        primarySubscribers.append(try Subscriber(broker: primary, topic: "fieldlink/gw-fo/meter", in: workspace.path, name: "sub-a1",
                                                 clientID: primaryID, cleanSession: false))
        let back = nowMilliseconds()
        #expect(eventually(timeout: .seconds(15)) { !gateway.logLines(level: "NOTICE", containing: "failing back").isEmpty },
                "no failback; log:\n\(gateway.stderr)")
        #expect(primarySubscribers[1].waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.ts > back }
        }, "nothing reached the primary after failback; log:\n\(gateway.stderr)")

        // Status: online where it is, offline (published on the clean switch) where it was.
        #expect(try primary.retained("fieldlink/gw-fo/status") == "online")
        #expect(try secondary.retained("fieldlink/gw-fo/status") == "offline")

        // A clean stop; then every number from 1 to the last arrived at one broker or the other.
        #expect(gateway.stop() == 0)
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(workspace.path)/state/sequence.json"))
        let next = try #require((try JSONSerialization.jsonObject(with: state) as? [String: NSNumber])?["meter"]).uint64Value
        try #require(primarySubscribers[1].waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.seq == next - 1 }
        }, "the last message never arrived")
        let seen = Set((primarySubscribers + [secondarySubscriber]).flatMap { $0.telemetry(device: "meter").map(\.seq) })
        let missing = (1..<next).filter { !seen.contains($0) }
        #expect(missing.isEmpty, "lost across the switches: \(missing)")
    }

    /// Three brokers: the first two go away in turn, the gateway ends on the third; it is killed
    /// (kill -9) while switching and restarted: with `durability: always` nothing that entered the
    /// ring is lost (every seq from 1 to the last arrives at one of the brokers).
    @Test("three brokers, two lost in turn, kill -9 during a switch: every seq arrives", .timeLimit(.minutes(2)))
    func threeBrokersAndACrashDuringASwitch() throws {
        let workspace = try Workspace("failover-three")
        defer { workspace.remove() }
        let brokers = try (0..<3).map { _ in try Broker(in: workspace.path, persistent: true) }
        defer { brokers.forEach { $0.stop() } }
        let subscriberIDs = brokers.indices.map { "sub-\($0)-\(UUID().uuidString.prefix(6))" }
        var subscribers = try brokers.enumerated().map { index, broker in
            try Subscriber(broker: broker, topic: "fieldlink/gw-fo3/meter", in: workspace.path, name: "sub-\(index)",
                           clientID: subscriberIDs[index], cleanSession: false)
        }
        defer { subscribers.forEach { $0.process.stop() } }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 3]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write("""
            gateway: {id: gw-fo3, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt:
              urls: [\(brokers.map(\.url).joined(separator: ", "))]
              keepalive: 5s
              reconnect_delay: 200ms
              reconnect_delay_max: 500ms
              failover_after: 1s
              failback: false
            buffer: {durability: always}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 100ms, qos: 1, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        var gateway = try startGateway(config: config, in: workspace.path, name: "fieldlink-0")
        defer { gateway.stop() }
        try #require(subscribers[0].waitFor(device: "meter", count: 5, timeout: .seconds(20)), "log:\n\(gateway.stderr)")

        brokers[0].stop()
        let firstLoss = nowMilliseconds()
        #expect(subscribers[1].waitFor(timeout: .seconds(10)) { $0.compactMap(Telemetry.init).contains { $0.ts > firstLoss } },
                "no failover to the second broker; log:\n\(gateway.stderr)")
        // The second goes too; while the gateway is switching to the third, it is killed.
        brokers[1].stop()
        pause(.milliseconds(600))
        gateway.stop(signal: SIGKILL)
        let log = gateway.stderr
        gateway = try startGateway(config: config, in: workspace.path, name: "fieldlink-1")
        let restarted = nowMilliseconds()
        #expect(subscribers[2].waitFor(timeout: .seconds(20)) { $0.compactMap(Telemetry.init).contains { $0.ts > restarted } },
                "nothing reached the third broker after the restart; log:\n\(log)\n---\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)

        // Every reading that entered the ring before and after the crash: 1 ... last, at one broker or another.
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(workspace.path)/state/sequence.json"))
        let next = try #require((try JSONSerialization.jsonObject(with: state) as? [String: NSNumber])?["meter"]).uint64Value
        try #require(subscribers[2].waitFor(timeout: .seconds(10)) { $0.compactMap(Telemetry.init).contains { $0.seq == next - 1 } })
        // What a lost broker acknowledged but had not yet passed to its subscriber is still in that
        // subscriber's persistent session: bring the two lost brokers back and collect it.
        for index in 0..<2 {
            try brokers[index].restart()
            let late = try Subscriber(broker: brokers[index], topic: "fieldlink/gw-fo3/meter", in: workspace.path, name: "sub-\(index)-late",
                                      clientID: subscriberIDs[index], cleanSession: false)
            pause(.seconds(1))
            subscribers.append(late)
        }
        let seen = Set(subscribers.flatMap { $0.telemetry(device: "meter").map(\.seq) })
        // The crash skips the rest of the sequence block it had reserved: numbers never used, not lost.
        let firstAfterCrash = subscribers[2].telemetry(device: "meter").filter { $0.ts > restarted }.map(\.seq).min() ?? next
        let beforeCrash = seen.filter { $0 < firstAfterCrash }
        let missingBefore = (1...(beforeCrash.max() ?? 1)).filter { !seen.contains($0) }
        let missingAfter = (firstAfterCrash..<next).filter { !seen.contains($0) }
        #expect(missingBefore.isEmpty, "lost before the crash: \(missingBefore)")
        #expect(missingAfter.isEmpty, "lost after the restart: \(missingAfter)")
    }
}
