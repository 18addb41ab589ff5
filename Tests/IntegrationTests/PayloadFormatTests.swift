import Foundation
import Testing
import TestSupport

@Suite("Payload formats")
struct PayloadFormatTests {
    /// Two devices read the same registers, one published as JSON and one as CBOR; an independent
    /// decoder (Python's cbor2) turns the CBOR back, and every value must equal the JSON one exactly.
    @Test("CBOR decodes (with cbor2) to exactly the JSON message's values, and is smaller", .timeLimit(.minutes(2)))
    func cborMatchesJSON() throws {
        let workspace = try Workspace("payload-cbor")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let json = try Subscriber(broker: broker, topic: "fieldlink/gw-fmt/as-json", in: workspace.path, name: "sub-json")
        defer { json.process.stop() }
        // Hex, so a binary payload stays on one line.
        let cbor = try ChildProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", "fieldlink/gw-fmt/as-cbor",
                                                      "-q", "1", "-F", "%x"], in: workspace.path, name: "sub-cbor")
        defer { cbor.stop() }
        pause(.milliseconds(300))
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let image: [[String: Any]] = [
            ["table": "holding", "address": 0, "type": "float32", "value": 230.1],
            ["table": "holding", "address": 2, "type": "int16", "value": -42],
            ["table": "holding", "address": 3, "type": "uint64", "value": 18_446_744_073_709_551_615 as UInt64],
            ["table": "holding", "address": 7, "type": "float64", "value": -0.000123456789],
            ["table": "holding", "address": 11, "type": "uint16", "value": 2301],
            ["table": "coil", "address": 0, "value": 1],
        ]
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: image], in: workspace.path)
        defer { simulator.process.stop() }
        let points = """
            [{name: f32, address: 0, type: float32, unit: V}, {name: i16, address: 2, type: int16}, {name: u64, address: 3, type: uint64},
             {name: f64, address: 7, type: float64}, {name: scaled, address: 11, scale: 0.1}, {name: relay, table: coil, address: 0},
             {name: missing, address: 5000, type: uint16}]
            """
        let config = try workspace.write(configHead(gateway: "gw-fmt", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            payload: {format: json}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: as-json, bus: line1, unit: 1, interval: 200ms, points: \(points)}
              - {name: as-cbor, bus: line1, unit: 1, interval: 200ms, format: cbor, points: \(points)}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(json.waitFor(device: "as-json", count: 3, timeout: .seconds(20)), "log:\n\(gateway.stderr)")
        try #require(eventually(timeout: .seconds(10)) { cbor.stdout.split(separator: "\n").count >= 3 }, "no CBOR messages")
        #expect(gateway.stop() == 0)

        // cbor2 decodes; integer keys 0...4 become the JSON names; floats print as their shortest repr.
        let decoderScript = try workspace.write("""
            import cbor2, json, sys
            names = {0: "device", 1: "ts", 2: "seq", 3: "values", 4: "errors"}
            for line in sys.stdin:
                message = cbor2.loads(bytes.fromhex(line.strip()))
                print(json.dumps({names[k]: v for k, v in message.items()}))
            """, to: "decode.py")
        let decoded = try decodeLines(cbor.stdout, with: decoderScript, in: workspace).compactMap { $0 as? [String: Any] }
        let reference = try #require(json.telemetry(device: "as-json").first)
        #expect(decoded.count >= 3)
        for message in decoded {
            #expect(message["device"] as? String == "as-cbor")
            #expect((message["ts"] as? NSNumber).map { abs($0.int64Value - reference.ts) < 60_000 } == true)
            let values = try #require(message["values"] as? [String: Any])
            #expect(Set(values.keys) == Set(reference.values.keys))
            for (name, value) in reference.values {
                #expect("\(value)" == "\(values[name] ?? "missing")", "\(name): JSON \(value) vs CBOR \(values[name] ?? "missing")")
            }
            #expect(reference.errors["missing"] != nil && (message["errors"] as? [String: String])?["missing"] == reference.errors["missing"])
        }
        // Names, units and types, retained beside the data (the messages carry no units).
        let meta = try #require(try broker.retained("fieldlink/gw-fmt/as-cbor/meta"))
        #expect(meta == #"{"device":"as-cbor","points":{"f32":{"unit":"V","type":"float32"},"i16":{"type":"int16"},"u64":{"type":"uint64"},"f64":{"type":"float64"},"scaled":{"type":"float64"},"relay":{"type":"bool"},"missing":{"type":"uint16"}}}"#)

        // The same poll, smaller: CBOR bytes (hex / 2) against the JSON text.
        let cborBytes = (cbor.stdout.split(separator: "\n").first?.count ?? 0) / 2
        #expect(cborBytes > 0 && cborBytes * 10 < reference.payload.utf8.count * 8, "CBOR \(cborBytes) B vs JSON \(reference.payload.utf8.count) B")
    }

    /// Static registers, polled every 100 ms: on-change reporting publishes the first poll and then
    /// one heartbeat a second, and suppressed polls take no seq.
    @Test("on-change reporting publishes only changes and heartbeats, with consecutive seq", .timeLimit(.minutes(2)))
    func onChangeWithHeartbeat() throws {
        let peers = try Peers("payload-on-change", topic: "fieldlink/gw-rbe/+")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-rbe", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: every, bus: line1, unit: 1, interval: 100ms, points: [{name: x, address: 0}]}
              - {name: quiet, bus: line1, unit: 1, interval: 100ms, report: on-change, deadband: 1, heartbeat: 1s, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "every", count: 30, timeout: .seconds(20)), "log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
        let every = subscriber.telemetry(device: "every"), quiet = subscriber.telemetry(device: "quiet")
        let span = Double((every.last?.ts ?? 0) - (every.first?.ts ?? 0)) / 1_000
        // About one message per second of polling, not ten.
        #expect(!quiet.isEmpty && Double(quiet.count) <= span + 2 && quiet.count * 4 < every.count,
                "on-change sent \(quiet.count) messages over \(span) s (every-poll: \(every.count))")
        #expect(isConsecutive(quiet.map(\.seq), from: 1), "suppressed polls must not use up seq: \(quiet.map(\.seq))")
    }

    /// Polls every 100 ms packed by count (5) and by delay (500 ms); a clean stop sends the last
    /// partial batches; every reading keeps its own ts and seq, and no seq is missing.
    @Test("batching packs polls by count and by delay; the last batch goes out on shutdown", .timeLimit(.minutes(2)))
    func batching() throws {
        let peers = try Peers("payload-batch", topic: "batch/#")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        // CBOR is binary: hex, one message per line.
        let cborSubscriber = try ChildProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", "cbor-batch/by-delay", "-q", "1",
                                                                "-F", "%x"], in: workspace.path, name: "sub-cbor")
        defer { cborSubscriber.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-batch", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: by-count, bus: line1, unit: 1, interval: 100ms, topic: "batch/{device}", batch: {max_messages: 5, max_delay: 1m},
                 points: [{name: x, address: 0}]}
              - {name: by-delay, bus: line1, unit: 1, interval: 100ms, topic: "cbor-batch/{device}", format: cbor,
                 batch: {max_messages: 1000, max_delay: 500ms}, points: [{name: x, address: 0}, {name: tenths, address: 0, scale: 0.1}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(timeout: .seconds(20)) { $0.filter { $0.topic == "batch/by-count" }.count >= 4 },
                     "no batches; log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(workspace.path)/state/sequence.json"))
        let next = try #require(try JSONSerialization.jsonObject(with: state) as? [String: NSNumber])

        // By count: arrays of exactly 5, but the last (sent at shutdown) which may be shorter.
        try #require(subscriber.waitFor(timeout: .seconds(5)) { messages in
            messages.filter { $0.topic == "batch/by-count" }.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8))) as? [[String: Any]] }
                .flatMap { $0 }.contains { ($0["seq"] as? NSNumber)?.uint64Value == (next["by-count"]?.uint64Value ?? 0) - 1 }
        }, "the last partial batch did not go out at shutdown")
        let batches = subscriber.messages.filter { $0.topic == "batch/by-count" }
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8))) as? [[String: Any]] }
        #expect(batches.dropLast().allSatisfy { $0.count == 5 }, "batch sizes \(batches.map(\.count))")
        #expect((1...5).contains(batches.last?.count ?? 0))
        let seqs = batches.flatMap { $0 }.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }
        #expect(isConsecutive(seqs, from: 1), "seq \(seqs)")
        let stamps = batches.flatMap { $0 }.compactMap { ($0["ts"] as? NSNumber)?.int64Value }
        #expect(stamps == stamps.sorted() && Set(stamps).count == stamps.count, "each reading keeps its own ts")

        // By delay (CBOR): a table about every 500 ms with several polls in it, decoded by cbor2 and
        // rebuilt as the README describes: ts and seq from differences, value = cell x 10^exponent.
        let decoderScript = try workspace.write("""
            import cbor2, json, sys
            from decimal import Decimal
            for line in sys.stdin:
                table = cbor2.loads(bytes.fromhex(line.strip()))
                ts, seq, rows = table[1], table[2], []
                for row in table[7]:
                    ts, seq = ts + row[0], seq + row[1]
                    cells = row[2:2 + len(table[5])]
                    values = {name: (str(Decimal(cell).scaleb(exp)) if exp is not None else cell)
                              for name, cell, exp in zip(table[5], cells, table[6]) if cell is not None}
                    rows.append({"device": table[0], "ts": ts, "seq": seq, "values": values})
                print(json.dumps(rows))
            """, to: "decode-batch.py")
        let tables = try decodeLines(cborSubscriber.stdout, with: decoderScript, in: workspace).compactMap { $0 as? [[String: Any]] }
        #expect(tables.count >= 2, "\(tables.count) delayed batches")
        #expect(tables.dropLast().allSatisfy { (2...12).contains($0.count) }, "batch sizes \(tables.map(\.count))")
        let rows = tables.flatMap { $0 }
        let delayedSeqs = rows.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }
        #expect(isConsecutive(delayedSeqs, from: 1), "seq \(delayedSeqs)")
        let delayedStamps = rows.compactMap { ($0["ts"] as? NSNumber)?.int64Value }
        #expect(delayedStamps == delayedStamps.sorted() && delayedStamps.allSatisfy { abs($0 - nowMilliseconds()) < 120_000 })
        #expect(rows.allSatisfy { $0["device"] as? String == "by-delay" && ($0["values"] as? [String: Any])?["x"] as? Int == 7 })
        #expect(rows.allSatisfy { ($0["values"] as? [String: Any])?["tenths"] as? String == "0.7" }, "a decimal column: \(rows.first ?? [:])")
    }

    /// Two devices on one topic share its batches: each message holds both devices' readings, and
    /// each device's seq still runs without a gap.
    @Test("devices that share a topic share its batches", .timeLimit(.minutes(2)))
    func sharedTopicBatches() throws {
        let peers = try Peers("payload-shared-batch", topic: "plant/all")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-shared", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: left, bus: line1, unit: 1, interval: 100ms, topic: plant/all, batch: {max_messages: 6, max_delay: 1m}, points: [{name: x, address: 0}]}
              - {name: right, bus: line1, unit: 1, interval: 100ms, topic: plant/all, batch: {max_messages: 6, max_delay: 1m}, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(timeout: .seconds(20)) { $0.count >= 3 }, "no shared batches; log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
        let batches = subscriber.messages.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8))) as? [[String: Any]] }
        #expect(batches.dropLast().allSatisfy { $0.count == 6 }, "batch sizes \(batches.map(\.count))")
        #expect(batches.dropLast().allSatisfy { Set($0.compactMap { $0["device"] as? String }) == ["left", "right"] })
        for device in ["left", "right"] {
            let seqs = batches.flatMap { $0 }.filter { $0["device"] as? String == device }.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }
            #expect(isConsecutive(seqs, from: 1), "\(device) seq \(seqs)")
        }
    }

}

/// Runs a Python decoder (cbor2) over `input` (hex lines from mosquitto_sub) and returns each JSON
/// line it prints; a decoder that fails (cbor2 missing, bad bytes) fails the test.
func decodeLines(_ input: String, with script: String, in workspace: Workspace) throws -> [Any] {
    let inputFile = try workspace.write(input, to: "\(URL(fileURLWithPath: script).lastPathComponent).in")
    let decoder = try ChildProcess("/bin/sh", ["-c", "python3 \(script) < \(inputFile)"], in: workspace.path, name: "cbor2")
    defer { decoder.stop() }
    try #require(decoder.waitForExit(timeout: .seconds(20)) && decoder.process.terminationStatus == 0,
                 "cbor2 could not decode (is it installed? run `make test-deps`): \(decoder.stderr)")
    return decoder.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
}
