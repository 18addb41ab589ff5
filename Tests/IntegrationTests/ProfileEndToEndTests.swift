import Foundation
import Testing
import TestSupport

@Suite("Device profiles, end to end")
struct ProfileEndToEndTests {
    /// A Growatt TL-X inverter simulated from its protocol's register map, configured with nothing
    /// but `profile: growatt-tl-x` plus one override and one added point, publishes what the inverter
    /// shows: a status label, scaled powers and energies, a serial number string.
    @Test("a profile-based device publishes its datasheet values through mosquitto", .timeLimit(.minutes(2)))
    func growattInverterFromItsProfile() throws {
        let workspace = try Workspace("profile")
        defer { workspace.remove() }
        // The config's own devices/ folder is the first place a profile is looked for.
        try FileManager.default.createSymbolicLink(atPath: "\(workspace.path)/devices", withDestinationPath: "\(packageRoot)/devices")

        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let subscriber = try Subscriber(broker: broker, topic: "fieldlink/#", in: workspace.path)
        defer { subscriber.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let serial: [Int] = [0x5157, 0x4531, 0x3233, 0x3435, 0x3637]  // "QWE1234567"
        let image: [[String: Any]] = [
            ["table": "input", "address": 0, "type": "uint16", "value": 1],
            ["table": "input", "address": 1, "type": "uint32", "value": 31_505],
            ["table": "input", "address": 3, "type": "uint16", "value": 3_654],
            ["table": "input", "address": 35, "type": "uint32", "value": 30_012],
            ["table": "input", "address": 37, "type": "uint16", "value": 4_998],
            ["table": "input", "address": 55, "type": "uint32", "value": 123_456],
            ["table": "input", "address": 93, "type": "int16", "value": -52],
            ["table": "input", "address": 105, "type": "uint16", "value": 2],
            ["table": "holding", "address": 23, "words": serial],
        ]
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [3: image], in: workspace.path)
        defer { simulator.process.stop() }

        let config = try workspace.write(configHead(gateway: "gw-prof", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), baud: 19200, parity: none, timeout: 500ms}
            devices:
              - name: inverter
                bus: line1
                unit: 3
                interval: 300ms
                profile: growatt-tl-x
                profile_points: [status, pv_power, pv1_voltage, output_power, grid_frequency, energy_total, inverter_temperature, serial_number]
                points:
                  - {name: output_power, scale: 0.0001, precision: 2, unit: kW}
                  - {name: fault, address: 105, table: input, map: {0: none, 2: grid lost}}

            """, to: "fieldlink.yaml")

        let check = try runFieldlink(["check", "--config", config], in: workspace.path, name: "check")
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("profile growatt-tl-x: Growatt MIN/MIC TL-X (protocol V1.24) (\(workspace.path)/devices/growatt-tl-x.yaml)"),
                "\(check.stdout)")
        #expect(check.stdout.contains("output_power: input 35 uint32 ABCD * 0.0001 + 0.0, 2 decimal(s) [kW] (profile, overridden)"), "\(check.stdout)")
        #expect(check.stdout.contains("fault: input 105 uint16, map 0=none 2=grid lost (config)"), "\(check.stdout)")

        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "inverter", count: 2, timeout: .seconds(20)), "nothing published; log:\n\(gateway.stderr)")
        let message = try #require(subscriber.telemetry(device: "inverter").last)
        #expect(message.errors.isEmpty, "\(message)")
        let expected = [
            "status": #""normal""#, "pv_power": "3150.5", "pv1_voltage": "365.4", "output_power": "3",
            "grid_frequency": "49.98", "energy_total": "12345.6", "inverter_temperature": "-5.2",
            "serial_number": #""QWE1234567""#, "fault": #""grid lost""#,
        ]
        #expect(Set(message.values.keys) == Set(expected.keys), "\(message)")
        for (name, text) in expected {
            #expect(message.valueText(name) == text || Double(message.valueText(name) ?? "") == Double(text), "\(name) in \(message)")
        }
        // Eight profile points at input 0-3, 35-37, 55-56, 93, 105 and holding 23-27, plus the added
        // point: the read plan's requests, each a read of its own table only.
        #expect(simulator.requests.allSatisfy { $0.unit == 3 && ($0.function == 3 || $0.function == 4) })
    }
}
