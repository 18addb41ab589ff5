import Foundation
import Testing
import TestSupport

/// The write-back audit trail in a real (private) journald: one entry per command, with its fields.
@Suite("Write-back: audit in the journal")
struct WriteBackJournalTests {
    @Test("every command is one journal entry with DEVICE=, POINT=, VALUE=, RESULT= and TOPIC=", .timeLimit(.minutes(2)))
    func auditFields() throws {
        let workspace = try Workspace("writeback-journal")
        defer { workspace.remove() }
        let namespace = try PrivateJournal(in: workspace.path)
        defer { namespace.stop() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-audit", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 2s}
            devices:
              - {name: boiler, bus: rs485, unit: 1, interval: 1s, points: [{name: sp, address: 0, writable: true, max: 90}]}

            """, to: "fieldlink.yaml")
        let gateway = try namespace.start(try fieldlinkBinary(), ["run", "--config", config, "--log-target", "journal"], name: "fieldlink")
        defer { gateway.stop() }
        // Connected and subscribed: the command topics are subscribed before `online` is published.
        try #require(eventually(timeout: .seconds(15)) { (try? broker.retained("fieldlink/gw-audit/status")) == "online" },
                     "the gateway did not come online; stderr:\n\(gateway.stderr)")
        try WriteBackTests.publish(broker, "fieldlink/gw-audit/boiler/set/sp", "65", in: workspace.path)
        try WriteBackTests.publish(broker, "fieldlink/gw-audit/boiler/set/sp", "95", in: workspace.path)

        var entries: [[String: Any]] = []
        let found = try eventually(timeout: .seconds(15)) {
            entries = try namespace.query(["POINT=sp"])
            return entries.count >= 2
        }
        try #require(found, "no audit entries; fieldlink stderr:\n\(gateway.stderr)")
        #expect(entries.count == 2, "one entry per command: \(entries)")
        let written = try #require(entries.first { $0["VALUE"] as? String == "65" })
        #expect(written["DEVICE"] as? String == "boiler")
        #expect(written["RESULT"] as? String == "written")
        #expect(written["TOPIC"] as? String == "fieldlink/gw-audit/boiler/set/sp")
        #expect(written["PRIORITY"] as? String == "5")
        let refused = try #require(entries.first { $0["VALUE"] as? String == "95" })
        #expect(refused["RESULT"] as? String == "refused: 95 is above the point's max 90")
        #expect(refused["PRIORITY"] as? String == "4")
        #expect(simulator.state?.register(unit: 1, 0) == 65)
    }
}
