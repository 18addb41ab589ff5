import Foundation
import Testing
import TestSupport

@Suite("An I2C bus in the running gateway")
struct I2CGatewayTests {
    @Test("a missing I2C adapter is named once in the log and the device's status; the Modbus bus beside it carries on",
          .timeLimit(.minutes(2)))
    func missingAdapterBesideAModbusBus() throws {
        let peers = try Peers("i2c-gateway")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pair = try PtyPair(in: workspace.path)
        defer { pair.process.stop() }
        let simulator = try ModbusSimulator(port: pair.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 42]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let adapter = "\(workspace.path)/i2c-9"
        let config = try workspace.write(configHead(gateway: "gw-i2c", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pair.gatewaySide), parity: none, timeout: 300ms}
              - {name: header, type: i2c, device: \(adapter)}
            devices:
              - {name: meter, bus: rs485, unit: 1, interval: 300ms, points: [{name: x, address: 0}]}
              - {name: room, bus: header, driver: sht3x, interval: 300ms, points: [{name: temperature}, {name: rh, measure: humidity}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }

        try #require(subscriber.waitFor(device: "meter", count: 5, timeout: .seconds(15)), "log:\n\(gateway.stderr)")
        #expect(gateway.isRunning)
        #expect(subscriber.telemetry(device: "room").isEmpty)
        let warnings = gateway.logLines(level: "WARNING", containing: "device=room")
        #expect(warnings.count == 1, "one warning for many failed polls:\n\(gateway.stderr)")
        #expect(warnings.first?.contains("cannot open \(adapter): No such file or directory") == true, "\(warnings)")
        let status = try #require(try broker.retained("fieldlink/gw-i2c/status/room"), "no status for room; log:\n\(gateway.stderr)")
        #expect(status.contains("\"state\":\"failing\"") && status.contains("cannot open \(adapter)"), "\(status)")
        #expect(gateway.logLines(level: "WARNING", containing: "device=meter").isEmpty)
        #expect(gateway.stop() == 0)
    }
}
