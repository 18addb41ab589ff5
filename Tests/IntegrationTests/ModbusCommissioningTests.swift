import Foundation
import Testing
import TestSupport

/// `fieldlink probe` (raw), `scan` and `plan` against a pymodbus slave on a pty.
@Suite("Modbus commissioning commands")
struct ModbusCommissioningTests {
    @Test("probe reads raw registers once and shows every type in every order; scan finds the answering units",
          .timeLimit(.minutes(2)))
    func probeAndScan() throws {
        let workspace = try Workspace("modbus-probe")
        defer { workspace.remove() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [
            1: [["table": "holding", "address": 10, "type": "float32", "order": "CDAB", "value": 230.1],
                ["table": "holding", "address": 12, "type": "int32", "order": "ABCD", "value": -5]],
            4: [["table": "holding", "address": 0, "type": "uint16", "value": 7]],
        ], in: workspace.path, sparseUnits: [4])
        defer { simulator.process.stop() }
        let line = ["--port", pty.gatewaySide, "--parity", "none"]

        let probe = try runFieldlink(["probe"] + line + ["--unit", "1", "--address", "10", "--count", "4"], in: workspace.path, name: "probe")
        #expect(probe.status == 0, "\(probe.stderr)")
        let rows = probe.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.contains(["10", "0x199A", "6554", "6554", ".."]), "\(probe.stdout)")
        #expect(rows.contains(["12", "0xFFFF", "65535", "-1", ".."]), "\(probe.stdout)")
        #expect(rows.contains { $0.first == "type" && Array($0.dropFirst()) == ["ABCD", "CDAB", "BADC", "DCBA"] }, "\(probe.stdout)")
        let float = try #require(rows.first { $0.first == "float32" }, "\(probe.stdout)")
        #expect(float.count == 5 && float[2] == "230.1", "\(float)")
        #expect(rows.contains { $0.first == "float64" }, "4 registers: 64-bit rows too")

        let rejected = try runFieldlink(["probe"] + line + ["--unit", "4", "--address", "5", "--count", "1"], in: workspace.path, name: "probe-bad")
        #expect(rejected.status == 1)
        #expect(rejected.stdout.contains("unit 4, holding 5 on \(pty.gatewaySide): Modbus exception 2 (illegal data address)"), "\(rejected.stdout)")

        let scan = try runFieldlink(["scan"] + line + ["--units", "1-6", "--address", "1"], in: workspace.path, name: "scan")
        #expect(scan.status == 0, "\(scan.stderr)")
        #expect(scan.stdout.contains("unit 1: answers (holding 1 = 0)"), "\(scan.stdout)")
        #expect(scan.stdout.contains("unit 4: answers with Modbus exception 2 (illegal data address)"), "\(scan.stdout)")
        #expect(scan.stdout.contains("2 of 6 unit(s) answered: 1, 4"), "\(scan.stdout)")
        #expect(Set(simulator.requests.map(\.unit)).isSuperset(of: [1, 2, 3, 4, 5, 6]))

        // A configured device, polled once: its points decoded, the failing one with the exception's name.
        let device = try workspace.write("""
            gateway: {id: gw-probe, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "mqtt://127.0.0.1:1883"}
            buses:
              - {name: line, type: modbus-rtu, port: \(pty.gatewaySide), parity: none}
            devices:
              - {name: meter, bus: line, unit: 1, interval: 1s, points: [{name: v, address: 10, type: float32, order: CDAB, unit: V}]}
              - {name: holey, bus: line, unit: 4, interval: 1s, points: [{name: a, address: 0}, {name: b, address: 3}]}

            """, to: "device.yaml")
        let meter = try runFieldlink(["probe", "--config", device, "--device", "meter"], in: workspace.path, name: "probe-meter")
        #expect(meter.status == 0 && meter.stdout.contains("1 of 1 point(s) read"), "\(meter.stdout)\(meter.stderr)")
        #expect(meter.stdout.split(separator: "\n").contains { $0.split(separator: " ") == ["v", "230.1", "V", "holding", "10", "float32", "CDAB"] },
                "\(meter.stdout)")
        let holey = try runFieldlink(["probe", "--config", device, "--device", "holey"], in: workspace.path, name: "probe-holey")
        #expect(holey.stdout.contains("1 of 2 point(s) read"), "\(holey.stdout)")
        #expect(holey.stdout.contains("ERROR: Modbus exception 2 (illegal data address)"), "\(holey.stdout)")

        // A pty has no RS-485 mode: a clear refusal, not a silent fallback.
        let config = try workspace.write("""
            gateway: {id: gw-probe, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "mqtt://127.0.0.1:1883"}
            buses:
              - {name: line, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, rs485: true}
            devices: []

            """, to: "rs485.yaml")
        let refused = try runFieldlink(["probe", "--config", config, "--bus", "line", "--unit", "1"], in: workspace.path, name: "probe-rs485")
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("\(pty.gatewaySide) refuses RS-485 mode (TIOCSRS485: Inappropriate ioctl for device)"), "\(refused.stdout)")
    }

    @Test("plan prints the merged requests and line times per bus, and warns when the devices do not fit",
          .timeLimit(.minutes(1)))
    func plan() throws {
        let workspace = try Workspace("modbus-plan")
        defer { workspace.remove() }
        let points = (0..<20).map { "{name: p\($0), address: \($0)}" }.joined(separator: ", ")
        let config = try workspace.write("""
            gateway: {id: gw-plan, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "mqtt://127.0.0.1:1883"}
            buses:
              - {name: slow, type: modbus-rtu, port: /dev/ttyS0, baud: 9600}
              - {name: plc, type: modbus-tcp, host: 127.0.0.1}
            devices:
              - {name: meter, bus: slow, unit: 1, interval: 60ms, points: [\(points)]}
              - {name: inverter, bus: plc, interval: 1s, points: [{name: w, address: 40000, type: int32}]}

            """, to: "plan.yaml")
        let plan = try runFieldlink(["plan", "--config", config], in: workspace.path, name: "plan")
        #expect(plan.status == 0, "\(plan.stderr)")
        // (8 + 45 + 7) characters × 11 bits / 9600 baud = 68.75 ms, longer than 60 ms.
        #expect(plan.stdout.contains("holding 0-19 (20 registers, 20 point(s)): 8 + 45 bytes, 68.75 ms"), "\(plan.stdout)")
        #expect(plan.stdout.contains("1 request(s) per poll (20 one per point)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("WARNING: device meter: one poll takes at least 68.75 ms, longer than its 60ms interval"), "\(plan.stdout)")
        #expect(plan.stdout.contains("WARNING: bus slow: the devices need 114.6% of the line"), "\(plan.stdout)")
        #expect(plan.stdout.contains("holding 40000-40001 (2 registers, 1 point(s)): 8 + 9 bytes\n"), "\(plan.stdout)")
    }
}
