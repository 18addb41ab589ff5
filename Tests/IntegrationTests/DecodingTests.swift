import Foundation
import Testing
import TestSupport

/// One point of the golden image: the register image and the YAML are both built from this table,
/// so they cannot drift apart.
private struct PointCase {
    enum Expected {
        /// The exact JSON text (integers, booleans): `-9223372036854775808`, `true`.
        case text(String)
        /// A number whose JSON text must read back as exactly this double.
        case number(Double)
    }

    var name: String
    var table: String
    var address: Int
    var type: String
    var order: String?
    /// The raw value the simulator encodes (Int64, UInt64, Double or Bool).
    var raw: Any
    var scale: Double?
    var offset: Double?
    var expected: Expected

    var registerCount: Int {
        switch type {
        case "bool", "int16", "uint16": 1
        case "int32", "uint32", "float32": 2
        default: 4
        }
    }

    var imageEntry: [String: Any] {
        var entry: [String: Any] = ["table": table, "address": address, "value": raw]
        if table == "holding" || table == "input" { entry["type"] = type }
        if let order { entry["order"] = order }
        return entry
    }

    var yaml: String {
        var fields = ["name: \(name)", "table: \(table)", "address: \(address)"]
        if table == "holding" || table == "input" { fields.append("type: \(type)") }
        if let order { fields.append("order: \(order)") }
        if let scale { fields.append("scale: \(scale)") }
        if let offset { fields.append("offset: \(offset)") }
        return "      - {\(fields.joined(separator: ", "))}"
    }
}

/// Every type in every byte order, in both register tables, plus bits and scaled points.
private func goldenPoints() -> [PointCase] {
    let orders = ["ABCD", "CDAB", "BADC", "DCBA"]
    // Four values per type, one per order (the input table takes them in reverse), each with four
    // (or eight) distinct bytes, so a mixed-up order can never decode to the expected value.
    let integers: [(type: String, values: [Any])] = [
        ("int32", [Int64(-123_456_789), Int64(Int32.max), Int64(Int32.min), Int64(0x0123_4567)]),
        ("uint32", [UInt64(UInt32.max), UInt64(0xDEAD_BEEF), UInt64(0x1234_5678), UInt64(0x89AB_CDEF)]),
        ("int64", [Int64.min, Int64.max, Int64(-1_234_567_890_123_456_789), Int64(0x0123_4567_89AB_CDEF)]),
        ("uint64", [UInt64.max, UInt64(0xFEDC_BA98_7654_3210), UInt64(12_345_678_901_234_567_890), UInt64(0x0102_0304_0506_0708)]),
    ]
    // float32 values whose shortest float text is the literal: fieldlink publishes that decimal.
    let floats: [(type: String, values: [Double])] = [
        ("float32", [230.1, -0.0125, 3.4028235e38, 1.5e-30]),
        ("float64", [123_456.789012345, -2.5e-300, 1.7976931348623157e308, Double.pi]),
    ]
    var points: [PointCase] = []
    var next = ["holding": 0, "input": 0, "coil": 0, "discrete": 0]
    func add(_ point: PointCase) {
        var point = point
        point.address = next[point.table]!
        next[point.table]! += point.table == "coil" || point.table == "discrete" ? 1 : point.registerCount
        points.append(point)
    }
    for (tableIndex, table) in ["holding", "input"].enumerated() {
        let prefix = String(table.prefix(1))
        for (type, values) in integers {
            for (index, order) in orders.enumerated() {
                let value = values[tableIndex == 0 ? index : 3 - index]
                add(PointCase(name: "\(prefix)_\(type)_\(order)", table: table, address: 0, type: type, order: order,
                              raw: value, expected: .text("\(value)")))
            }
        }
        for (type, values) in floats {
            for (index, order) in orders.enumerated() {
                let value = values[tableIndex == 0 ? index : 3 - index]
                add(PointCase(name: "\(prefix)_\(type)_\(order)", table: table, address: 0, type: type, order: order,
                              raw: value, expected: .number(value)))
            }
        }
        // Single registers: BADC and DCBA swap the two bytes of the word.
        add(PointCase(name: "\(prefix)_int16_min", table: table, address: 0, type: "int16", order: nil,
                      raw: Int64(Int16.min), expected: .text("-32768")))
        add(PointCase(name: "\(prefix)_int16_BADC", table: table, address: 0, type: "int16", order: "BADC",
                      raw: Int64(-2), expected: .text("-2")))
        add(PointCase(name: "\(prefix)_uint16_max", table: table, address: 0, type: "uint16", order: nil,
                      raw: Int64(UInt16.max), expected: .text("65535")))
        add(PointCase(name: "\(prefix)_uint16_DCBA", table: table, address: 0, type: "uint16", order: "DCBA",
                      raw: Int64(0xA1B2), expected: .text("41394")))
        add(PointCase(name: "\(prefix)_bool_reg", table: table, address: 0, type: "bool", order: nil,
                      raw: true, expected: .text("true")))
    }
    for table in ["coil", "discrete"] {
        for (index, bit) in [true, false, false, true, true].enumerated() {
            add(PointCase(name: "\(table)_\(index)", table: table, address: 0, type: "bool", order: nil,
                          raw: bit, expected: .text("\(bit)")))
        }
    }
    // value = raw * scale + offset; decimal scales must give the decimal a person reads off a display.
    let scaled: [(type: String, order: String?, raw: Any, scale: Double?, offset: Double?, expected: Double)] = [
        ("uint16", nil, Int64(2301), 0.1, nil, 230.1),
        ("int32", "CDAB", Int64(-123_456), 0.01, nil, -1234.56),
        ("int16", nil, Int64(131), 0.5, -40, 25.5),
        ("uint16", nil, Int64(7), 10, nil, 70),
        ("int16", nil, Int64(-5), nil, 0.25, -4.75),
        ("float32", "DCBA", 12.5, 0.1, nil, 1.25),
        ("uint64", "BADC", UInt64(1_000_000_000_000), 0.001, 1, 1_000_000_001),
    ]
    for (index, point) in scaled.enumerated() {
        add(PointCase(name: "scaled_\(index)_\(point.type)", table: "holding", address: 0, type: point.type, order: point.order,
                      raw: point.raw, scale: point.scale, offset: point.offset, expected: .number(point.expected)))
    }
    return points
}

@Suite("Decoding, end to end")
struct DecodingTests {
    @Test("every type in every order, scaled and not, arrives exactly; seq counts 1, 2, 3 and ts is now",
          .timeLimit(.minutes(2)))
    func everyTypeAndOrder() throws {
        let workspace = try Workspace("decoding")
        defer { workspace.remove() }
        let points = goldenPoints()

        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let subscriber = try Subscriber(broker: broker, topic: "fieldlink/#", in: workspace.path)
        defer { subscriber.process.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [7: points.map(\.imageEntry)], in: workspace.path)
        defer { simulator.process.stop() }

        let config = try workspace.write(configHead(gateway: "gw-golden", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), baud: 19200, parity: none, timeout: 500ms}
            devices:
              - name: golden
                bus: line1
                unit: 7
                interval: 250ms
                points:
            \(points.map(\.yaml).joined(separator: "\n"))

            """, to: "fieldlink.yaml")

        let started = nowMilliseconds()
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        let arrived = subscriber.waitFor(device: "golden", count: 5, timeout: .seconds(20))
        let checked = nowMilliseconds()
        try #require(arrived, "fewer than 5 messages within 20 s; gateway log:\n\(gateway.stderr)")
        #expect(gateway.isRunning)

        let messages = subscriber.telemetry(device: "golden")
        #expect(messages.allSatisfy { $0.topic == "fieldlink/gw-golden/golden" })
        #expect(isConsecutive(messages.map(\.seq), from: 1), "seq: \(messages.map(\.seq))")
        let timestamps = messages.map(\.ts)
        #expect(timestamps.allSatisfy { (started...checked).contains($0) },
                "ts \(timestamps) outside the test's window \(started)...\(checked)")
        #expect(timestamps == timestamps.sorted() && Set(timestamps).count == timestamps.count, "ts not increasing: \(timestamps)")

        for message in messages {
            #expect(message.errors.isEmpty, "errors in \(message)")
            #expect(Set(message.values.keys) == Set(points.map(\.name)), "published points differ from configured ones")
            for point in points {
                guard let text = message.valueText(point.name) else {
                    Issue.record("seq \(message.seq): \(point.name) missing")
                    continue
                }
                switch point.expected {
                case .text(let expected):
                    #expect(text == expected, "seq \(message.seq): \(point.name) (\(point.type) \(point.order ?? "ABCD"))")
                case .number(let expected):
                    #expect(Double(text) == expected, "seq \(message.seq): \(point.name) (\(point.type) \(point.order ?? "ABCD")) is \(text), expected \(expected)")
                }
            }
        }
    }

    @Test("relative paths in the config are relative to the config file, not to the working directory",
          .timeLimit(.minutes(2)))
    func relativePaths() throws {
        // config/demo.yaml relies on this: `port: ../.demo/ttyGateway` next to `state_dir: ../.demo/state`.
        let peers = try Peers("relative")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: try workspace.subdirectory("run"))
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 4242]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-rel", stateDirectory: "../run/state", broker: broker) + """
            buses:
              - {name: line1, type: modbus-rtu, port: ../run/tty-gateway, parity: none, timeout: 500ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 200ms, points: [{name: x, address: 0}]}

            """, to: "etc/fieldlink.yaml")
        // The gateway runs in a folder from which `../run/...` points nowhere.
        let elsewhere = try workspace.subdirectory("cwd/deeper")

        let check = try runFieldlink(["check", "--config", config], in: elsewhere, name: "check")
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("bus line1 (modbus-rtu): \(workspace.path)/run/tty-gateway "), "\(check.stdout)")

        let gateway = try startGateway(config: config, in: elsewhere)
        defer { gateway.stop() }
        #expect(subscriber.waitFor(device: "meter", count: 2, timeout: .seconds(10)), "nothing published; log:\n\(gateway.stderr)")
        #expect(subscriber.telemetry(device: "meter").first?.valueText("x") == "4242")
        #expect(gateway.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: "\(workspace.path)/run/state/sequence.json"))
    }
}
