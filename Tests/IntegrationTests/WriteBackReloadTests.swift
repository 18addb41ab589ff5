import Foundation
import Testing
import TestSupport

/// Command topics follow the config: a reload that makes a point writable subscribes its topic.
@Suite("Write-back: reload")
struct WriteBackReloadTests {
    @Test("a reload that makes a point writable subscribes its command topic; before it, the point takes no commands", .timeLimit(.minutes(2)))
    func reloadSubscribesNewCommandTopics() throws {
        let peers = try Peers("writeback-reload")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "coil", "address": 0, "value": false]]], in: workspace.path)
        defer { simulator.process.stop() }
        let head = configHead(gateway: "gw-rl", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 2s}
            devices:

            """
        let config = try workspace.write(head + "  - {name: pump, bus: rs485, unit: 1, interval: 1s, points: [{name: run, table: coil, address: 0}]}\n",
                                         to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "pump", count: 1, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        try WriteBackTests.publish(broker, "fieldlink/gw-rl/pump/set/run", "true", in: workspace.path)
        pause(.seconds(1))
        #expect(simulator.writeRequests.isEmpty, "a read-only point took a command")

        _ = try workspace.write(head + "  - {name: pump, bus: rs485, unit: 1, interval: 1s, command_results: true, points: [{name: run, table: coil, address: 0, writable: true}]}\n",
                                to: "fieldlink.yaml")
        gateway.signal(SIGHUP)
        #expect(eventually(timeout: .seconds(10)) { gateway.stderr.contains("reloaded:") }, "\(gateway.stderr)")
        // The new topic is subscribed on the next connection, which the reload starts at once.
        let written = eventually(timeout: .seconds(15)) {
            try? WriteBackTests.publish(broker, "fieldlink/gw-rl/pump/set/run", "true", in: workspace.path)
            return eventually(timeout: .seconds(1)) { simulator.state?.coil(unit: 1, 0) == true }
        }
        #expect(written, "the command after the reload was not executed; log:\n\(gateway.stderr)")
        // The answer follows the read-back, a moment after the slave took the write.
        #expect(eventually(timeout: .seconds(5)) {
            WriteBackTests.answers(subscriber, on: "fieldlink/gw-rl/pump/set/run/result").contains(#"{"ok":true,"point":"run","value":true}"#)
        })
        #expect(gateway.stop() == 0)
    }
}
