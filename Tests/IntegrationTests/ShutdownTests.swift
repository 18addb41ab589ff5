import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite("Graceful shutdown")
struct ShutdownTests {
    @Test("SIGTERM or SIGINT: exit 0 within seconds, clean disconnect; a restart continues at last seq + 1",
          .timeLimit(.minutes(2)), arguments: [SIGTERM, SIGINT])
    func gracefulShutdownAndRestart(signal: Int32) throws {
        let peers = try Peers("shutdown")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [3: [["table": "holding", "address": 10, "type": "float32", "value": 50.5]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-stop", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 500ms}
            devices:
              - {name: meter, bus: line1, unit: 3, interval: 150ms, points: [{name: f, address: 10, type: float32}]}

            """, to: "fieldlink.yaml")

        let first = try startGateway(config: config, in: workspace.path, name: "fieldlink-1")
        defer { first.stop() }
        try #require(subscriber.waitFor(device: "meter", count: 6, timeout: .seconds(15)), "log:\n\(first.stderr)")
        let signalled = ContinuousClock.now
        first.signal(signal)
        let exited = first.waitForExit(timeout: .seconds(5))
        let took = ContinuousClock.now - signalled
        try #require(exited, "still running 5 s after signal \(signal); log:\n\(first.stderr)")
        #expect(first.process.terminationStatus == 0, "log:\n\(first.stderr)")
        #expect(first.process.terminationReason == .exit)
        #expect(took < .seconds(3), "shutdown took \(took)")
        #expect(first.stderr.contains(" INFO stopped"))
        #expect(broker.log.contains("Client gw-stop disconnected."), "no clean DISCONNECT; broker log:\n\(broker.log)")
        // Everything polled was drained: the state file's next number follows the last one received.
        let lastSeq = try #require(subscriber.telemetry(device: "meter").last?.seq)
        let firstRun = subscriber.telemetry(device: "meter").map(\.seq)
        #expect(isConsecutive(firstRun, from: 1), "\(firstRun)")
        let state = try String(contentsOfFile: "\(workspace.path)/state/sequence.json", encoding: .utf8)
        #expect(state.contains("\"meter\":\(lastSeq + 1)"), "state file \(state) after last seq \(lastSeq)")

        let second = try startGateway(config: config, in: workspace.path, name: "fieldlink-2")
        defer { second.stop() }
        try #require(subscriber.waitFor(device: "meter", count: firstRun.count + 3, timeout: .seconds(15)), "log:\n\(second.stderr)")
        let all = subscriber.telemetry(device: "meter").map(\.seq)
        #expect(all[firstRun.count] == lastSeq + 1, "first seq after restart \(all[firstRun.count]), last before \(lastSeq)")
        #expect(isConsecutive(all, from: 1), "\(all)")
        #expect(second.stop() == 0)
    }
}
