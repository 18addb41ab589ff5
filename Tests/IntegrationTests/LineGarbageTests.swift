import Foundation
import Testing
import TestSupport

/// Garbage on a real RTU line (pymodbus slaves behind a relay that sprays random bytes at the
/// gateway and every slave, and damages one slave's answers): once the line is clean, the healthy
/// unit and the abused unit are both back within two of their intervals.
@Suite("Garbage on an RTU line")
struct LineGarbageTests {
    @Test("after seconds of garbage, a healthy unit and the abused unit are back within two intervals of the line going clean",
          .timeLimit(.minutes(1)))
    func lineRecovery() throws {
        let peers = try Peers("line-garbage")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let line = try SerialLine(in: workspace.path, drops: 2)
        defer { line.stop() }
        let healthySlave = try ModbusSimulator(port: line.dropPorts[0], image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 11]]],
                                               in: workspace.path, name: "sim-healthy")
        defer { healthySlave.process.stop() }
        let abusedSlave = try ModbusSimulator(port: line.dropPorts[1], image: [2: [["table": "holding", "address": 0, "type": "uint16", "value": 22]]],
                                              in: workspace.path, name: "sim-abused")
        defer { abusedSlave.process.stop() }
        // The bus's default backoff (3 silent polls, up to 60 s): the noise must not make it grow.
        let interval: Int64 = 1_000
        let config = try workspace.write(configHead(gateway: "gw-garbage", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(line.gatewayPort), parity: none, timeout: 200ms}
            devices:
              - {name: abused, bus: rs485, unit: 2, interval: \(interval)ms, points: [{name: x, address: 0}]}
              - {name: healthy, bus: rs485, unit: 1, interval: \(interval)ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "healthy", count: 1, timeout: .seconds(10)), "no telemetry; log:\n\(gateway.stderr)")

        line.noise()
        line.corrupt(drop: 1)
        pause(.seconds(4))
        line.noise(false)
        line.corrupt(drop: 1, false)
        let clean = nowMilliseconds()

        func back(_ device: String) -> Int64? {
            subscriber.telemetry(device: device).first { $0.ts >= clean && $0.errors.isEmpty }.map { $0.ts - clean }
        }
        _ = eventually(timeout: .seconds(8)) { back("healthy") != nil && back("abused") != nil }
        let healthy = back("healthy"), abused = back("abused")
        #expect(healthy.map { $0 <= 2 * interval } == true, "healthy unit back after \(healthy.map { "\($0) ms" } ?? "never"); log:\n\(gateway.stderr)")
        #expect(abused.map { $0 <= 2 * interval } == true, "abused unit back after \(abused.map { "\($0) ms" } ?? "never"); log:\n\(gateway.stderr)")
        print("line garbage: healthy back \(healthy ?? -1) ms, abused back \(abused ?? -1) ms after the line went clean (interval \(interval) ms)")
        #expect(gateway.logLines(level: "NOTICE", containing: "garbage on the line").count >= 1, "log:\n\(gateway.stderr)")
        #expect(gateway.logLines(level: "NOTICE", containing: "in a row: backed off").isEmpty, "the noise backed a unit off; log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
    }
}
