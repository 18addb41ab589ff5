import Foundation
import Testing
import TestSupport

@Suite("A dead slave on a shared line")
struct DeadSlaveTests {
    @Test("a silent slave publishes nothing and is logged once; its neighbour keeps its schedule; it comes back without a seq gap",
          .timeLimit(.minutes(2)))
    func deadSlaveAndBack() throws {
        let peers = try Peers("dead-slave")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        // One RS-485 line, two slaves, each its own simulator on its own drop.
        let line = try SerialLine(in: workspace.path, drops: 2)
        defer { line.stop() }
        let meter = try ModbusSimulator(port: line.dropPorts[0], image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 111]]],
                                        in: workspace.path, name: "sim-meter")
        defer { meter.process.stop() }
        let flaky = try ModbusSimulator(port: line.dropPorts[1], image: [2: [["table": "input", "address": 3, "type": "int32", "value": -222]]],
                                        in: workspace.path, name: "sim-flaky")
        defer { flaky.process.stop() }

        // The dying device comes first on the bus, so each of its timeouts delays the meter's poll:
        // the meter must still get every slot.
        let interval: Int64 = 500
        let config = try workspace.write(configHead(gateway: "gw-dead", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(line.gatewayPort), parity: none, timeout: 250ms}
            devices:
              - {name: flaky, bus: rs485, unit: 2, interval: \(interval)ms, points: [{name: y, table: input, address: 3, type: int32}]}
              - {name: meter, bus: rs485, unit: 1, interval: \(interval)ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }

        try #require(subscriber.waitFor(device: "flaky", count: 3, timeout: .seconds(15)), "flaky never published; log:\n\(gateway.stderr)")
        #expect(subscriber.telemetry(device: "flaky").allSatisfy { $0.valueText("y") == "-222" && $0.errors.isEmpty })

        // The slave goes silent.
        let cut = nowMilliseconds()
        line.disconnect(drop: 1)
        pause(.seconds(4))
        let plugged = nowMilliseconds()
        let warnings = gateway.logLines(level: "WARNING", containing: "device=flaky")

        #expect(gateway.isRunning, "gateway died; log:\n\(gateway.stderr)")
        let silent = subscriber.telemetry(device: "flaky").filter { $0.ts >= cut }
        #expect(silent.isEmpty, "published while dead: \(silent)")
        #expect(warnings.count == 1, "one warning for ~8 failed polls, not one per poll:\n\(warnings.joined(separator: "\n"))")
        #expect(warnings.first?.contains("no response") == true, "\(warnings)")

        let meterDuring = subscriber.telemetry(device: "meter").filter { $0.ts >= cut && $0.ts < plugged }
        #expect(meterDuring.count >= Int((plugged - cut) / interval) - 1,
                "meter published \(meterDuring.count) times in \(plugged - cut) ms at a \(interval) ms interval")
        #expect(largestGap(meterDuring.map(\.ts)) <= interval * 3 / 2, "meter missed a slot: ts \(meterDuring.map(\.ts))")
        #expect(meterDuring.allSatisfy { $0.errors.isEmpty && $0.valueText("x") == "111" })
        #expect(gateway.logLines(level: "WARNING", containing: "device=meter").isEmpty)

        // The slave answers again: publishing resumes, numbering continues where it stopped.
        let lastBefore = subscriber.telemetry(device: "flaky").last?.seq ?? 0
        line.reconnect(drop: 1)
        let resumed = subscriber.waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.device == "flaky" && $0.ts >= plugged }
        }
        #expect(resumed, "flaky did not publish again; log:\n\(gateway.stderr)")
        let flakySeqs = subscriber.telemetry(device: "flaky").map(\.seq)
        #expect(isConsecutive(flakySeqs, from: 1), "seq \(flakySeqs)")
        #expect(flakySeqs.last ?? 0 > lastBefore)
        #expect(gateway.logLines(level: "NOTICE", containing: "device=flaky").contains { $0.contains("again") },
                "recovery not logged:\n\(gateway.stderr)")
        #expect(gateway.logLines(level: "WARNING", containing: "device=flaky").count == 1)
        #expect(isConsecutive(subscriber.telemetry(device: "meter").map(\.seq), from: 1))
        #expect(gateway.stop() == 0)
    }
}
