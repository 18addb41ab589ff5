import Foundation
import Testing
import TestSupport

/// Write-back from a Sparkplug B host: DCMDs built by Eclipse Tahu's bindings, the slave's own
/// registers checked, and the read-back seen in the next DDATA.
@Suite("Write-back: Sparkplug B")
struct WriteBackSparkplugTests {
    static func dcmd(_ broker: Broker, device: String, metric: String, datatype: Int, value: String, in directory: String) throws {
        let process = try ChildProcess("python3", ["\(packageRoot)/scripts/sparkplug_tool.py", "dcmd", "127.0.0.1", "\(broker.port)", "plant1", "gw-wsp",
                                                   device, metric, "\(datatype)", value], in: directory, name: "dcmd-\(UUID().uuidString.prefix(6))")
        defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
        #expect(process.waitForExit(timeout: .seconds(10)) && process.process.terminationStatus == 0, "dcmd: \(process.stderr)")
    }

    @Test("DCMD by name and by alias writes the slave; the read-back goes out as DDATA; a refused DCMD writes nothing", .timeLimit(.minutes(2)))
    func dcmdWrites() throws {
        let workspace = try Workspace("writeback-spb")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let listener = try SparkplugListener(broker: broker, in: workspace.path)
        defer { listener.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [
            ["table": "holding", "address": 0, "type": "uint16", "value": 215],
            ["table": "coil", "address": 0, "value": false],
        ]], in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-wsp", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            sparkplug: {group_id: plant1}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 2s}
            devices:
              - name: hp
                bus: line1
                unit: 1
                interval: 10s
                format: sparkplugb
                points:
                  - {name: setpoint, address: 0, scale: 0.1, writable: true, max: 30}
                  - {name: relay, table: coil, address: 0, writable: true}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(listener.waitFor(timeout: .seconds(20)) { $0.contains { $0.verb == "DDATA" } }, "no DDATA; log:\n\(gateway.stderr)")
        let birth = try #require(listener.messages.first { $0.verb == "DBIRTH" })
        let setpointAlias = try #require((birth.metric(named: "setpoint")?["alias"] as? NSNumber)?.intValue)
        let relayAlias = try #require((birth.metric(named: "relay")?["alias"] as? NSNumber)?.intValue)

        // By name, as a double (datatype 10).
        let before = listener.messages.count
        try Self.dcmd(broker, device: "hp", metric: "setpoint", datatype: 10, value: "22.5", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { simulator.state?.register(unit: 1, 0) == 225 }, "log:\n\(gateway.stderr)")
        #expect(listener.waitFor(timeout: .seconds(5)) { messages in
            messages.dropFirst(before).contains { $0.verb == "DDATA" && ($0.metric(alias: setpointAlias)?["value"] as? NSNumber)?.doubleValue == 22.5 }
        }, "the read-back did not go out as DDATA before the next 10 s poll")

        // By alias, a boolean (datatype 11).
        try Self.dcmd(broker, device: "hp", metric: "\(relayAlias)", datatype: 11, value: "true", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { simulator.state?.coil(unit: 1, 0) == true }, "log:\n\(gateway.stderr)")

        // Above max: refused, the same checks as a set topic; nothing on the line.
        let writes = simulator.writeRequests.count
        try Self.dcmd(broker, device: "hp", metric: "setpoint", datatype: 10, value: "99", in: workspace.path)
        #expect(eventually(timeout: .seconds(10)) { gateway.stderr.contains("result=\"refused: 99 is above the point's max 30\"") }, "\(gateway.stderr)")
        #expect(simulator.writeRequests.count == writes)
        #expect(simulator.state?.register(unit: 1, 0) == 225)
        #expect(gateway.stop() == 0)
    }
}
