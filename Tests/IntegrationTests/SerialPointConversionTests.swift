import Foundation
import Testing
import TestSupport

/// The shared point conversion seen from the broker, on a serial sensor (the family where `map`
/// once passed `check` and published the raw number).
@Suite("Serial point conversion, end to end", .serialized)
struct SerialPointConversionTests {
    @Test("a status code from a text sensor is published as its map label, announced as a string, and an unknown code is a point error",
          .timeLimit(.minutes(2)))
    func mappedStatus() throws {
        let peers = try Peers("serial-map")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let pump = try TextSensor.stream("ST=1 MODE=7 T=21.5\n", port: pty.deviceSide, period: .milliseconds(100), in: workspace.path)
        defer { pump.stop() }
        let config = try workspace.write(configHead(gateway: "gw", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: uart, type: serial, port: \(pty.gatewaySide)}
            devices:
              - name: pump
                bus: uart
                interval: 500ms
                parser: keyvalue
                points:
                  - {name: ST, map: {0: stopped, 1: running}}
                  - {name: MODE, map: {1: auto, 2: manual}}
                  - {name: T, scale: 2, precision: 0}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "pump", count: 2, timeout: .seconds(20)), "gateway log:\n\(gateway.stderr)")
        for message in subscriber.telemetry(device: "pump") {
            #expect(message.values["ST"] as? String == "running", "\(message)")
            #expect(message.valueText("T") == "43", "\(message)")
            #expect(message.errors["MODE"] == "raw value 7 is not in the point's map (mapped: 1, 2)", "\(message)")
        }
        let meta = try #require(try broker.retained("fieldlink/gw/pump/meta"), "no description of pump")
        #expect(meta.contains(#""ST":{"type":"string""#) || meta.contains(#""name":"ST","type":"string""#), "\(meta)")
    }
}
