import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite("Reload (SIGHUP)")
struct ReloadTests {
    static func config(_ workspace: Workspace, broker: Broker, first: PtyPair, second: PtyPair, secondInterval: String,
                       extraPoint: Bool = false) -> String {
        configHead(gateway: "gw-reload", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(first.gatewaySide), parity: none, timeout: 300ms}
              - {name: line2, type: modbus-rtu, port: \(second.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: steady, bus: line1, unit: 1, interval: 100ms, points: [{name: x, address: 0}]}
              - {name: changing, bus: line2, unit: 1, interval: \(secondInterval), points: [{name: y, address: 0}\(extraPoint ? ", {name: z, address: 1}" : "")]}

            """
    }

    /// An unchanged, a changed and an invalid config, one after the other, into one running gateway.
    @Test("reload keeps unchanged buses and the broker session, restarts changed buses, refuses an invalid config",
          .timeLimit(.minutes(2)))
    func reload() throws {
        let peers = try Peers("reload")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let first = try PtyPair(in: workspace.path, name: "one"), second = try PtyPair(in: workspace.path, name: "two")
        defer { first.process.stop(); second.process.stop() }
        let image: [Int: [[String: Any]]] = [1: [["table": "holding", "address": 0, "type": "uint16", "value": 1],
                                                 ["table": "holding", "address": 1, "type": "uint16", "value": 2]]]
        let simulators = [try ModbusSimulator(port: first.deviceSide, image: image, in: workspace.path, name: "sim-one"),
                          try ModbusSimulator(port: second.deviceSide, image: image, in: workspace.path, name: "sim-two")]
        defer { simulators.forEach { $0.process.stop() } }
        let file = try workspace.write(Self.config(workspace, broker: broker, first: first, second: second, secondInterval: "100ms"),
                                       to: "fieldlink.yaml")
        let gateway = try startGateway(config: file, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "changing", count: 5, timeout: .seconds(20)), "log:\n\(gateway.stderr)")
        func hangUp(expecting fragment: String) -> Bool {
            let before = gateway.stderr.components(separatedBy: fragment).count
            gateway.signal(SIGHUP)
            return eventually(timeout: .seconds(10)) { gateway.stderr.components(separatedBy: fragment).count > before }
        }

        // 1. Unchanged: nothing restarts.
        #expect(hangUp(expecting: "reloaded: no bus (re)started, 2 bus(es) unchanged, broker settings unchanged"), "log:\n\(gateway.stderr)")

        // 2. line2's device changes (a new point): line2 restarts, line1 does not, seq goes on for both.
        try Self.config(workspace, broker: broker, first: first, second: second, secondInterval: "200ms", extraPoint: true)
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(hangUp(expecting: "reloaded: bus(es) line2 (re)started"), "log:\n\(gateway.stderr)")
        let changedAt = nowMilliseconds()
        #expect(subscriber.waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.device == "changing" && $0.ts > changedAt && $0.values["z"] != nil }
        }, "the new point never arrived; log:\n\(gateway.stderr)")

        // 3. Invalid: refused, every problem logged, the running config stays.
        try (Self.config(workspace, broker: broker, first: first, second: second, secondInterval: "200ms", extraPoint: true)
             .replacingOccurrences(of: "interval: 100ms", with: "interval: fast"))
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(hangUp(expecting: "reload refused"), "log:\n\(gateway.stderr)")
        #expect(gateway.stderr.contains("devices[0].interval"), "the problem was not logged with its key path")
        let refusedAt = nowMilliseconds()
        #expect(subscriber.waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).filter { $0.device == "steady" && $0.ts > refusedAt }.count >= 5
        }, "publishing stopped after a refused reload")
        #expect(gateway.isRunning)

        // The unchanged bus was opened once, the broker connection made once; seq had no gap anywhere.
        #expect(gateway.stderr.components(separatedBy: "polling 1 device(s) on \(first.gatewaySide)").count == 2, "line1 was restarted")
        #expect(gateway.logLines(level: "NOTICE", containing: "connected to").count == 1, "the broker connection was replaced")
        #expect(gateway.stop() == 0)
        for device in ["steady", "changing"] {
            let seqs = subscriber.telemetry(device: device).map(\.seq)
            #expect(isConsecutive(seqs, from: 1), "\(device): seq not continuous across reloads: \(seqs)")
        }
    }
}
