import Foundation
import Testing
import TestSupport

@Suite("A serial port that is not there")
struct MissingPortTests {
    @Test("a missing port is logged once and publishes nothing, other buses carry on, polling starts when it appears",
          .timeLimit(.minutes(2)))
    func missingPortAppearsLater() throws {
        let peers = try Peers("missing-port")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let present = try PtyPair(in: workspace.path, name: "present")
        defer { present.process.stop() }
        let presentSim = try ModbusSimulator(port: present.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 10]]],
                                             in: workspace.path, name: "sim-present")
        defer { presentSim.process.stop() }
        let latePort = "\(workspace.path)/late-gateway"

        let interval: Int64 = 300
        let config = try workspace.write(configHead(gateway: "gw-ports", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: here, type: modbus-rtu, port: \(present.gatewaySide), parity: none, timeout: 300ms}
              - {name: later, type: modbus-rtu, port: \(latePort), parity: none, timeout: 300ms}
            devices:
              - {name: near, bus: here, unit: 1, interval: \(interval)ms, points: [{name: x, address: 0}]}
              - {name: far, bus: later, unit: 1, interval: \(interval)ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let started = nowMilliseconds()
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }

        try #require(subscriber.waitFor(device: "near", count: 3, timeout: .seconds(15)), "log:\n\(gateway.stderr)")
        pause(.seconds(3))
        #expect(gateway.isRunning, "log:\n\(gateway.stderr)")
        #expect(subscriber.telemetry(device: "far").isEmpty)
        let missingWarnings = gateway.logLines(level: "WARNING", containing: latePort)
        #expect(missingWarnings.count == 1, "the missing port must be reported once, not once per poll:\n\(gateway.stderr)")
        #expect(missingWarnings.first?.contains("bus=later") == true)
        let nearSoFar = subscriber.telemetry(device: "near")
        #expect(largestGap(nearSoFar.map(\.ts)) <= interval * 3 / 2, "near missed slots: \(nearSoFar.map(\.ts))")
        #expect(nearSoFar.count >= Int((nowMilliseconds() - started) / interval) - 4, "near published only \(nearSoFar.count) times")

        // The adapter is plugged in: a pty pair appears at the configured path, with a slave behind it.
        let appeared = nowMilliseconds()
        let late = try PtyPair(in: workspace.path, name: "late")
        defer { late.process.stop() }
        let lateSim = try ModbusSimulator(port: late.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 20]]],
                                          in: workspace.path, name: "sim-late")
        defer { lateSim.process.stop() }
        #expect(late.gatewaySide == latePort)
        #expect(subscriber.waitFor(device: "far", count: 3, timeout: .seconds(15)), "far never published; log:\n\(gateway.stderr)")
        let far = subscriber.telemetry(device: "far")
        #expect(isConsecutive(far.map(\.seq), from: 1), "\(far.map(\.seq))")
        #expect(far.allSatisfy { $0.valueText("x") == "20" && $0.ts >= appeared })
        #expect(gateway.logLines(level: "WARNING", containing: latePort).count == 1)

        let near = subscriber.telemetry(device: "near")
        #expect(isConsecutive(near.map(\.seq), from: 1))
        #expect(largestGap(near.map(\.ts)) <= interval * 3 / 2, "near missed slots: \(near.map(\.ts))")
        #expect(near.allSatisfy { $0.valueText("x") == "10" && $0.errors.isEmpty })
        #expect(gateway.stop() == 0)
    }
}
