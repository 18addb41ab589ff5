import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Damage and garbage in the state directory, as a hostile environment leaves it: the gateway
/// starts, delivers, stops on SIGTERM in time, and never reuses a `seq`.
@Suite("Ring and state damage")
struct RingDamageTests {
    /// A FIFO and a directory named like segments, a garbage `sequence.json`: the gateway starts,
    /// moves the two aside with an error, delivers, and honours SIGTERM within the drain timeout.
    /// Then `sequence.json` emptied, deleted and lowered in turn: each start continues above every
    /// number used before.
    @Test("a FIFO or directory for a segment and a garbage, empty, deleted or lowered sequence.json: start, deliver, stop in time, never reuse a seq",
          .timeLimit(.minutes(3)))
    func damagedStateDirectory() throws {
        let peers = try Peers("ring-damage", topic: "fieldlink/gw-dmg/meter")
        defer { peers.stop() }
        let workspace = peers.workspace
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 3]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let state = "\(workspace.path)/state"
        let ring = try workspace.subdirectory("state/buffer")
        try FileManager.default.createDirectory(atPath: "\(ring)/00000000000000000001.seg", withIntermediateDirectories: false)
        #expect(mkfifo("\(ring)/00000000000000000002.seg", 0o600) == 0)
        try "\u{0}\u{7}garbage".write(toFile: "\(state)/sequence.json", atomically: true, encoding: .utf8)
        let config = try workspace.write(configHead(gateway: "gw-dmg", stateDirectory: state, broker: peers.broker) + """
            buffer: {durability: always}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 100ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")

        var highest: UInt64 = 0
        for (run, damage) in ["garbage + FIFO + directory", "empty", "deleted", "lowered"].enumerated() {
            switch damage {
            case "empty": try "".write(toFile: "\(state)/sequence.json", atomically: true, encoding: .utf8)
            case "deleted": try FileManager.default.removeItem(atPath: "\(state)/sequence.json")
            case "lowered": try #"{"meter": 1}"#.write(toFile: "\(state)/sequence.json", atomically: true, encoding: .utf8)
            default: break
            }
            let started = nowMilliseconds()
            let gateway = try startGateway(config: config, in: workspace.path, name: "fieldlink-\(run)")
            defer { gateway.stop(signal: SIGKILL) }
            let arrived = peers.subscriber.waitFor(timeout: .seconds(20)) { messages in
                messages.compactMap(Telemetry.init).filter { $0.ts > started }.count >= 5
            }
            try #require(arrived, "\(damage): nothing delivered; log:\n\(gateway.stderr)")
            let fresh = peers.subscriber.telemetry(device: "meter").filter { $0.ts > started }.map(\.seq)
            #expect(fresh.min() ?? 0 > highest, "\(damage): seq \(fresh.min() ?? 0) reused (highest before: \(highest)); log:\n\(gateway.stderr)")
            if run == 0 {
                #expect(gateway.logLines(level: "ERROR", containing: "moved aside").count == 2, "log:\n\(gateway.stderr)")
                #expect(!gateway.logLines(level: "WARNING", containing: "is corrupt").isEmpty, "log:\n\(gateway.stderr)")
            }
            // SIGTERM is honoured within the drain timeout (5 s) plus a margin.
            let stopping = ContinuousClock.now
            gateway.signal(SIGTERM)
            #expect(gateway.waitForExit(timeout: .seconds(7)), "\(damage): SIGTERM not honoured within 7 s; log:\n\(gateway.stderr)")
            print("\(damage): stopped \(ContinuousClock.now - stopping) after SIGTERM, exit \(gateway.process.terminationStatus)")
            #expect(gateway.process.terminationStatus == 0)
            pause(.seconds(2))  // the last messages reach the subscriber
            highest = peers.subscriber.telemetry(device: "meter").map(\.seq).max() ?? highest
        }
        #expect(FileManager.default.fileExists(atPath: "\(ring)/00000000000000000002.seg.quarantined"))
    }
}
