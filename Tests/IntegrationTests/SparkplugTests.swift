import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `scripts/sparkplug_tool.py listen`: every Sparkplug message, decoded by Eclipse Tahu's Python
/// bindings, as one JSON object per line.
final class SparkplugListener {
    let process: ChildProcess

    init(broker: Broker, in directory: String) throws {
        process = try ChildProcess("python3", ["\(packageRoot)/scripts/sparkplug_tool.py", "listen", "127.0.0.1", "\(broker.port)"],
                                   in: directory, name: "sparkplug-listen")
        let process = self.process
        guard eventually(timeout: .seconds(10), { process.stdout.contains("listening") }) else {
            process.stop()
            throw MissingPrerequisite("sparkplug_tool.py did not start (are paho-mqtt and tahu installed? run `make test-deps`): \(process.stderr)")
        }
        pause(.milliseconds(300))
    }

    struct Message {
        var topic: String
        var json: [String: Any]
        var verb: String { topic.split(separator: "/").dropFirst(2).first.map(String.init) ?? "" }
        var seq: Int? { (json["seq"] as? NSNumber)?.intValue }
        var metrics: [[String: Any]] { json["metrics"] as? [[String: Any]] ?? [] }
        func metric(named name: String) -> [String: Any]? { metrics.first { $0["name"] as? String == name } }
        func metric(alias: Int) -> [String: Any]? { metrics.first { ($0["alias"] as? NSNumber)?.intValue == alias } }
    }

    var messages: [Message] {
        process.stdout.split(separator: "\n").compactMap { line in
            guard let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                  let topic = json["topic"] as? String else { return nil }
            return Message(topic: topic, json: json)
        }
    }

    func waitFor(timeout: Duration, _ condition: ([Message]) -> Bool) -> Bool {
        eventually(timeout: timeout) { condition(messages) }
    }
}

@Suite("Sparkplug B")
struct SparkplugTests {
    static var registers: [[String: Any]] { [
        ["table": "holding", "address": 0, "type": "float32", "value": 230.1],
        ["table": "holding", "address": 2, "type": "int16", "value": -42],
        ["table": "holding", "address": 3, "type": "uint64", "value": 18_446_744_073_709_551_615 as UInt64],
        ["table": "holding", "address": 7, "type": "uint16", "value": 2301],
        ["table": "coil", "address": 0, "value": 1],
    ] }
    static let points = """
        [{name: f32, address: 0, type: float32, unit: V}, {name: i16, address: 2, type: int16}, {name: u64, address: 3, type: uint64},
         {name: scaled, address: 7, scale: 0.1, unit: kWh}, {name: relay, table: coil, address: 0},
         {name: missing, address: 5000, type: uint16}]
        """

    /// The same registers published as JSON and as Sparkplug B; Tahu's decoder must give back the
    /// JSON's values, the births must come first in order, and `seq` must count 0, 1, 2, ...
    @Test("NBIRTH, DBIRTH, then DDATA by alias; values equal the JSON's; seq counts; rebirth on NCMD", .timeLimit(.minutes(2)))
    func lifecycleAndValues() throws {
        let workspace = try Workspace("sparkplug")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let listener = try SparkplugListener(broker: broker, in: workspace.path)
        defer { listener.process.stop() }
        let json = try Subscriber(broker: broker, topic: "fieldlink/gw-spb/as-json", in: workspace.path, name: "sub-json")
        defer { json.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: Self.registers], in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-spb", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            sparkplug: {group_id: plant1}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: as-json, bus: line1, unit: 1, interval: 200ms, points: \(Self.points)}
              - {name: meter, bus: line1, unit: 1, interval: 200ms, format: sparkplugb, points: \(Self.points)}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(listener.waitFor(timeout: .seconds(20)) { $0.filter { $0.verb == "DDATA" }.count >= 4 },
                     "no DDATA; log:\n\(gateway.stderr)\nlistener: \(listener.process.stderr)")
        try #require(json.waitFor(device: "as-json", count: 1, timeout: .seconds(5)))

        let messages = listener.messages
        #expect(messages.prefix(2).map(\.topic) == ["spBv1.0/plant1/NBIRTH/gw-spb", "spBv1.0/plant1/DBIRTH/gw-spb/meter"])
        let nbirth = try #require(messages.first)
        #expect(nbirth.seq == 0)
        #expect((nbirth.metric(named: "bdSeq")?["datatype"] as? NSNumber)?.intValue == 4)
        #expect(nbirth.metric(named: "Node Control/Rebirth")?["value"] as? Bool == false)
        #expect((nbirth.json["qos"] as? NSNumber)?.intValue == 0)

        // The birth names every metric once, with its Sparkplug datatype and unit.
        let dbirth = messages[1]
        #expect(dbirth.seq == 1)
        let types = [("f32", 9), ("i16", 2), ("u64", 8), ("scaled", 10), ("relay", 11), ("missing", 6), ("fieldlink/seq", 8)]
        for (name, type) in types {
            #expect((dbirth.metric(named: name)?["datatype"] as? NSNumber)?.intValue == type, "\(name): \(dbirth.metric(named: name) ?? [:])")
        }
        #expect((dbirth.metric(named: "f32")?["properties"] as? [String: Any])?["engUnit"] as? String == "V")
        let alias = Dictionary(uniqueKeysWithValues: dbirth.metrics.compactMap { metric -> (String, Int)? in
            guard let name = metric["name"] as? String, let alias = (metric["alias"] as? NSNumber)?.intValue else { return nil }
            return (name, alias)
        })
        #expect(Set(alias.values).count == types.count, "aliases must be unique: \(alias)")

        // Data: by alias only, seq counting on from the births, values equal to the JSON message's.
        let data = messages.filter { $0.verb == "DDATA" }
        #expect(data.allSatisfy { $0.metrics.allSatisfy { $0["name"] == nil } }, "DDATA names metrics by alias only")
        let seqs = messages.map { $0.seq ?? -1 }
        #expect(seqs == Array(0..<seqs.count).map { $0 % 256 }, "seq \(seqs)")
        let reference = try #require(json.telemetry(device: "as-json").first)
        let sample = try #require(data.first)
        // float32 travels as a float: compare against the JSON value rounded to single precision.
        let f32 = try #require(sample.metric(alias: alias["f32"] ?? -1)?["value"] as? NSNumber)
        #expect(Float(f32.doubleValue) == Float(reference.valueText("f32") ?? "") )
        #expect((sample.metric(alias: alias["i16"] ?? -1)?["value"] as? NSNumber)?.uint32Value == UInt32(bitPattern: -42))
        #expect((sample.metric(alias: alias["u64"] ?? -1)?["value"] as? NSNumber)?.uint64Value == UInt64.max)
        #expect("\(sample.metric(alias: alias["scaled"] ?? -1)?["value"] ?? "missing")" == reference.valueText("scaled"))
        #expect(sample.metric(alias: alias["relay"] ?? -1)?["value"] as? Bool == true)
        let missing = try #require(sample.metric(alias: alias["missing"] ?? -1))
        #expect(missing["is_null"] as? Bool == true)
        let properties = missing["properties"] as? [String: Any]
        #expect((properties?["Quality"] as? NSNumber)?.intValue == 0)
        #expect(reference.errors["missing"] != nil && properties?["Error"] as? String == reference.errors["missing"])
        // The readings' own seq and ts travel too.
        let readingSeqs = data.compactMap { ($0.metric(alias: alias["fieldlink/seq"] ?? -1)?["value"] as? NSNumber)?.uint64Value }
        #expect(isConsecutive(readingSeqs, from: 1), "reading seq \(readingSeqs)")
        let stamp = (sample.metric(alias: alias["f32"] ?? -1)?["timestamp"] as? NSNumber)?.int64Value ?? 0
        #expect(abs(stamp - nowMilliseconds()) < 60_000)

        // Rebirth: a host's NCMD brings NBIRTH (seq 0, the same bdSeq) and DBIRTH again.
        let before = listener.messages.count
        let command = try ChildProcess("python3", ["\(packageRoot)/scripts/sparkplug_tool.py", "rebirth", "127.0.0.1", "\(broker.port)",
                                                   "plant1", "gw-spb"], in: workspace.path, name: "rebirth")
        defer { command.stop() }
        try #require(command.waitForExit(timeout: .seconds(10)), "rebirth command: \(command.stderr)")
        try #require(listener.waitFor(timeout: .seconds(10)) { $0.dropFirst(before).contains { $0.verb == "DBIRTH" } },
                     "no rebirth; log:\n\(gateway.stderr)")
        let reborn = Array(listener.messages.dropFirst(before))
        let birth = try #require(reborn.firstIndex { $0.verb == "NBIRTH" })
        #expect(reborn[birth].seq == 0 && reborn[birth + 1].verb == "DBIRTH" && reborn[birth + 1].seq == 1)
        #expect((reborn[birth].metric(named: "bdSeq")?["value"] as? NSNumber) == (nbirth.metric(named: "bdSeq")?["value"] as? NSNumber))
        #expect(gateway.stop() == 0)
        // A clean stop says NDEATH itself (the broker sends no will then).
        #expect(listener.waitFor(timeout: .seconds(5)) { $0.last?.verb == "NDEATH" })
    }

    /// bdSeq numbers sessions: a new connection (broker restart) births with the next bdSeq, and
    /// after `kill -9` the broker delivers the NDEATH will with the bdSeq of the NBIRTH before it.
    @Test("bdSeq across reconnects; NDEATH will after kill -9", .timeLimit(.minutes(2)))
    func bdSeqAndWill() throws {
        let workspace = try Workspace("sparkplug-will")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let listener = try SparkplugListener(broker: broker, in: workspace.path)
        defer { listener.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: Self.registers], in: workspace.path)
        defer { simulator.process.stop() }
        // The listener reconnects after 1 s; the gateway waits longer, so the listener hears its NBIRTH.
        let head = configHead(gateway: "gw-will", stateDirectory: "\(workspace.path)/state", broker: broker)
            .replacingOccurrences(of: "reconnect_delay: 200ms", with: "reconnect_delay: 4s")
            .replacingOccurrences(of: "reconnect_delay_max: 1s", with: "reconnect_delay_max: 4s")
        let config = try workspace.write(head + """
            sparkplug: {group_id: plant1, edge_node_id: node7}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 200ms, format: sparkplugb, points: \(Self.points)}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop(signal: SIGKILL) }
        func births() -> [Int] {
            listener.messages.filter { $0.verb == "NBIRTH" }.compactMap { ($0.metric(named: "bdSeq")?["value"] as? NSNumber)?.intValue }
        }
        try #require(listener.waitFor(timeout: .seconds(20)) { $0.contains { $0.verb == "DDATA" } }, "log:\n\(gateway.stderr)")
        let first = try #require(births().first)

        try broker.restart()
        try #require(eventually(timeout: .seconds(20)) { births().count >= 2 }, "no new NBIRTH after the broker restart; log:\n\(gateway.stderr)")
        #expect(births()[1] == (first + 1) % 256, "bdSeq \(births())")
        try #require(listener.waitFor(timeout: .seconds(10)) { $0.last?.verb == "DDATA" })
        // The new session counts from 0 again: NBIRTH 0, DBIRTH 1, then each DDATA one more.
        let all = listener.messages
        let second = try #require(all.indices.filter { all[$0].verb == "NBIRTH" }.dropFirst().first)
        let seqs = all[second...].filter { $0.verb != "NDEATH" }.map { $0.seq ?? -1 }
        #expect(seqs.count >= 3 && seqs == Array(0..<seqs.count).map { $0 % 256 }, "seq after the reconnect: \(seqs)")

        // (The broker may have sent the first session's will when it shut down: count from here.)
        let deaths = listener.messages.filter { $0.verb == "NDEATH" }.count
        gateway.signal(SIGKILL)
        try #require(listener.waitFor(timeout: .seconds(10)) { $0.filter { $0.verb == "NDEATH" }.count > deaths }, "no NDEATH after kill -9")
        let death = try #require(listener.messages.last { $0.verb == "NDEATH" })
        #expect(death.topic == "spBv1.0/plant1/NDEATH/node7")
        #expect(death.seq == nil, "NDEATH carries no seq")
        #expect((death.metric(named: "bdSeq")?["value"] as? NSNumber)?.intValue == births().last)

        // A restart continues the count rather than reusing a number a host may still hold.
        let again = try startGateway(config: config, in: workspace.path, name: "fieldlink-2")
        defer { again.stop() }
        try #require(eventually(timeout: .seconds(20)) { births().count >= 3 }, "log:\n\(again.stderr)")
        #expect(births()[2] == (births()[1] + 1) % 256, "bdSeq \(births())")
    }
}
