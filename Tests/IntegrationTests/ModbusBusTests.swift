import Foundation
import Testing
import TestSupport

/// A test's folder, a broker and a subscriber to everything the gateway publishes; `stop()` (in a
/// `defer`) ends them in reverse order.
/// The bus side of Modbus against real pymodbus slaves: TCP, merged reads counted at the slave, the
/// fallback for a slave that rejects them, and a dead slave that must not cost its neighbours.
@Suite("Modbus bus behaviour")
struct ModbusBusTests {
    /// `count` contiguous uint16 points at 0, 1, 2, ... holding values 100, 101, ...
    static func contiguous(_ count: Int) -> [[String: Any]] {
        (0..<count).map { ["table": "holding", "address": $0, "type": "uint16", "value": 100 + $0] }
    }

    static func pointList(_ count: Int) -> String {
        (0..<count).map { "{name: p\($0), address: \($0)}" }.joined(separator: ", ")
    }

    @Test("modbus-tcp: values published from a TCP slave; a lost connection is reported and re-established",
          .timeLimit(.minutes(2)))
    func tcpBus() throws {
        let peers = try Peers("modbus-tcp")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let image: [Int: [[String: Any]]] = [1: [
            ["table": "holding", "address": 0, "type": "float32", "order": "CDAB", "value": 230.5],
            ["table": "input", "address": 4, "type": "int32", "value": -7],
        ], 9: [["table": "holding", "address": 0, "type": "uint16", "value": 99]]]
        var simulator = try ModbusSimulator(tcpImage: image, in: workspace.path)
        defer { simulator.process.stop() }
        let port = try #require(simulator.tcpPort)
        let config = try workspace.write(configHead(gateway: "gw-tcp", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: plc, type: modbus-tcp, host: 127.0.0.1, port: \(port), timeout: 300ms}
            devices:
              - {name: meter, bus: plc, interval: 300ms, points: [{name: v, address: 0, type: float32, order: CDAB}, {name: p, table: input, address: 4, type: int32}]}
              - {name: other, bus: plc, unit: 9, interval: 300ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }

        try #require(subscriber.waitFor(device: "meter", count: 3, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        #expect(subscriber.telemetry(device: "meter").allSatisfy { $0.valueText("v") == "230.5" && $0.valueText("p") == "-7" })
        #expect(subscriber.telemetry(device: "other").contains { $0.valueText("x") == "99" }, "unit 9 not read")
        // The default unit on TCP is 1.
        #expect(simulator.requests.contains { $0.unit == 1 } && simulator.requests.allSatisfy { [1, 9].contains($0.unit) })

        // The commissioning commands speak TCP too (a second connection beside the gateway's).
        let probe = try runFieldlink(["probe", "--host", "127.0.0.1", "--port", "\(port)", "--unit", "1", "--count", "2"],
                                     in: workspace.path, name: "probe-tcp")
        #expect(probe.stdout.split(separator: "\n").contains { $0.split(separator: " ").first == "float32" && $0.contains(" 230.5 ") },
                "\(probe.stdout)\(probe.stderr)")
        let scan = try runFieldlink(["scan", "--host", "127.0.0.1", "--port", "\(port)", "--units", "1-10"], in: workspace.path, name: "scan-tcp")
        #expect(scan.stdout.contains("2 of 10 unit(s) answered: 1, 9"), "\(scan.stdout)\(scan.stderr)")

        simulator.process.stop()
        #expect(eventually(timeout: .seconds(10)) { !gateway.logLines(level: "WARNING", containing: "device=meter").isEmpty },
                "lost connection not reported; log:\n\(gateway.stderr)")
        let restarted = nowMilliseconds()
        simulator = try ModbusSimulator(tcpImage: image, port: port, in: workspace.path, name: "modbus_sim_tcp2")
        let back = subscriber.waitFor(timeout: .seconds(15)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.device == "meter" && $0.ts > restarted && $0.errors.isEmpty }
        }
        #expect(back, "no telemetry after the slave came back; log:\n\(gateway.stderr)")
        #expect(gateway.logLines(level: "NOTICE", containing: "device=meter").contains { $0.contains("again") })
        #expect(gateway.stop() == 0)
    }

    @Test("merged reads: 20 contiguous points cost one request per poll; merge: false costs one per point",
          .timeLimit(.minutes(2)))
    func mergedReadsCountedAtTheSlave() throws {
        let peers = try Peers("modbus-merge")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: Self.contiguous(20), 2: Self.contiguous(5)], in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-merge", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none}
            devices:
              - {name: wide, bus: rs485, unit: 1, interval: 250ms, points: [\(Self.pointList(20))]}
              - {name: picky, bus: rs485, unit: 2, interval: 250ms, merge: false, points: [\(Self.pointList(5))]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "picky", count: 6, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        gateway.stop()

        let wide = subscriber.telemetry(device: "wide")
        #expect(wide.allSatisfy { message in (0..<20).allSatisfy { message.valueText("p\($0)") == "\(100 + $0)" } })
        let wideRequests = simulator.requestDetails.filter { $0.unit == 1 }
        #expect(wideRequests.allSatisfy { $0.function == 3 && $0.address == 0 && $0.count == 20 }, "\(wideRequests)")
        // Published polls and requests match one to one (a last request may not have been published yet).
        #expect(wideRequests.count >= wide.count && wideRequests.count <= wide.count + 1,
                "\(wideRequests.count) requests for \(wide.count) polls")
        let picky = subscriber.telemetry(device: "picky")
        let pickyRequests = simulator.requestDetails.filter { $0.unit == 2 }
        #expect(pickyRequests.allSatisfy { $0.count == 1 })
        #expect(pickyRequests.count >= 5 * picky.count && pickyRequests.count <= 5 * (picky.count + 1),
                "\(pickyRequests.count) requests for \(picky.count) polls of 5 points")
    }

    @Test("a slave that rejects a merged read (illegal data address) is read point by point from then on; exceptions are named",
          .timeLimit(.minutes(2)))
    func rejectedMergedReadFallsBack() throws {
        let peers = try Peers("modbus-sparse")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        // Registers 0, 2 and 10-11 exist; 1 and 3-9 do not, nor does 50.
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [
            ["table": "holding", "address": 0, "type": "uint16", "value": 11],
            ["table": "holding", "address": 2, "type": "int16", "value": -22],
            ["table": "holding", "address": 10, "type": "float32", "value": 3.5],
        ]], in: workspace.path, sparseUnits: [1])
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-sparse", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none}
            devices:
              - name: holey
                bus: rs485
                unit: 1
                interval: 300ms
                points:
                  - {name: a, address: 0}
                  - {name: b, address: 2, type: int16}
                  - {name: c, address: 10, type: float32}
                  - {name: missing, address: 50}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "holey", count: 4, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        gateway.stop()

        let messages = subscriber.telemetry(device: "holey")
        #expect(messages.allSatisfy { $0.valueText("a") == "11" && $0.valueText("b") == "-22" && $0.valueText("c") == "3.5" },
                "\(messages)")
        #expect(messages.allSatisfy { $0.errors == ["missing": "Modbus exception 2 (illegal data address)"] }, "\(messages)")
        let fallbacks = gateway.logLines(level: "WARNING", containing: "merged read holding 0-11 rejected with Modbus exception 2 (illegal data address)")
        #expect(fallbacks.count == 1, "log:\n\(gateway.stderr)")
        // The merged read (0, 12 registers) was tried once; afterwards only single-point reads.
        let reads = simulator.requestDetails.map { "\($0.address)+\($0.count)" }
        #expect(reads.filter { $0 == "0+12" }.count == 1, "\(reads)")
        #expect(Array(reads.prefix(5)) == ["0+12", "0+1", "2+1", "10+2", "50+1"], "\(reads)")
        #expect(Set(reads.dropFirst()) == ["0+1", "2+1", "10+2", "50+1"], "\(reads)")
    }

    @Test("a dead slave is backed off: probed rarely, in idle line time; its neighbours keep their interval within 10%; it comes back by itself",
          .timeLimit(.minutes(2)))
    func deadSlaveBackoff() throws {
        let peers = try Peers("modbus-backoff")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let line = try SerialLine(in: workspace.path, drops: 2)
        defer { line.stop() }
        let alive = try ModbusSimulator(port: line.dropPorts[0], image: [1: Self.contiguous(4), 2: Self.contiguous(2)],
                                        in: workspace.path, name: "sim-alive")
        defer { alive.process.stop() }
        let mute = try workspace.write("", to: "mute")
        let dead = try ModbusSimulator(port: line.dropPorts[1], image: [3: Self.contiguous(1)], in: workspace.path, name: "sim-dead",
                                       muteFile: mute)
        defer { dead.process.stop() }
        let interval: Int64 = 500
        // The dead device comes first and on a grid of its own, so without backoff its timeouts would push
        // the others' polls back now and then.
        let config = try workspace.write(configHead(gateway: "gw-backoff", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(line.gatewayPort), parity: none, timeout: 200ms, backoff_after: 3, backoff_max: 2s}
            devices:
              - {name: dead, bus: rs485, unit: 3, interval: 700ms, points: [\(Self.pointList(1))]}
              - {name: a, bus: rs485, unit: 1, interval: \(interval)ms, points: [\(Self.pointList(4))]}
              - {name: b, bus: rs485, unit: 2, interval: \(interval)ms, points: [\(Self.pointList(2))]}

            """, to: "fieldlink.yaml")
        let notify = try NotifyListener(path: "\(workspace.path)/notify.sock")
        defer { notify.stop() }
        let gateway = try ChildProcess(try fieldlinkBinary(), ["run", "--config", config, "--log-target", "stderr"], in: workspace.path,
                                       name: "fieldlink", environment: ["NOTIFY_SOCKET": notify.path])
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "a", count: 2, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        // Three silent polls (1.4 s), then backed off.
        #expect(eventually(timeout: .seconds(5)) { !gateway.logLines(level: "NOTICE", containing: "backed off").isEmpty },
                "not backed off; log:\n\(gateway.stderr)")
        // The silent poll that started the backoff may still have delayed the neighbours' next slot
        // (a 200 ms timeout): the window opens one interval later, when only the backoff is at work.
        pause(.milliseconds(Int(interval)))
        let start = nowMilliseconds()
        let requestsBefore = dead.requests.filter { $0.unit == 3 }.count
        pause(.seconds(8))
        let end = nowMilliseconds()
        let probes = dead.requests.filter { $0.unit == 3 }.count - requestsBefore
        // Unbacked, 11 polls in 8 s; backed off (1.4 s, then 2 s apart) about 4.
        #expect(probes >= 2 && probes <= 6, "\(probes) requests to the dead slave in 8 s")
        for name in ["a", "b"] {
            let stamps = subscriber.telemetry(device: name).map(\.ts).filter { $0 >= start && $0 <= end }
            let gaps = zip(stamps, stamps.dropFirst()).map { $1 - $0 }
            #expect(stamps.count >= 14, "\(name): \(stamps.count) polls in 8 s")
            #expect(gaps.allSatisfy { abs($0 - interval) <= interval / 10 }, "\(name) gaps \(gaps)")
        }
        let health = try #require(try broker.retained("fieldlink/gw-backoff/status/dead"), "no health for dead")
        #expect(health.contains(#""state":"failing""#) && health.contains(#""backed_off_since":"#) && health.contains(#""timeouts":"#),
                "\(health)")
        #expect(notify.statuses.contains { $0.contains("1 failing (dead backed off)") }, "\(notify.statuses)")

        // It answers again: found by a probe, then polled on its schedule.
        try FileManager.default.removeItem(atPath: mute)
        let unmuted = nowMilliseconds()
        let back = subscriber.waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).filter { $0.device == "dead" && $0.ts > unmuted }.count >= 3
        }
        #expect(back, "dead did not come back; log:\n\(gateway.stderr)")
        #expect(gateway.logLines(level: "NOTICE", containing: "device=dead").contains { $0.contains("again") })
        #expect(gateway.logLines(level: "WARNING", containing: "device=dead").count == 1, "log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
    }

    @Test("retries resend a request that got no answer; delay_before_request keeps the line quiet before each request",
          .timeLimit(.minutes(2)))
    func retriesAndDelayBeforeRequest() throws {
        let workspace = try Workspace("modbus-retries")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        // Unit 2 is not served: the simulator hears (and logs) its requests but never answers.
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: Self.contiguous(1)], in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-retries", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 100ms, backoff_after: 1000}
            devices:
              - {name: ghost, bus: rs485, unit: 2, interval: 1s, retries: 2, points: [{name: x, address: 0}]}
              - {name: slow, bus: rs485, unit: 1, interval: 1s, delay_before_request: 80ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        pause(.milliseconds(3_500))
        gateway.stop()

        let arrivals = simulator.requestArrivals
        let ghost = arrivals.filter { $0.unit == 2 }.count
        let slow = arrivals.filter { $0.unit == 1 }.count
        // Each poll of ghost: the request and two retries.
        #expect(slow >= 3 && (ghost == 3 * slow || ghost == 3 * slow + 3), "\(ghost) requests to ghost for \(slow) polls")
        // slow follows ghost's third timeout (100 ms) after its own 80 ms of quiet: about 180 ms at the slave (its
        // own arrival times jitter by a few ms), against about 100 without the delay.
        let gaps = zip(arrivals, arrivals.dropFirst()).filter { $0.unit == 2 && $1.unit == 1 }.map { ($1.microseconds - $0.microseconds) / 1_000 }
        #expect(!gaps.isEmpty && gaps.allSatisfy { $0 >= 150 }, "ms between ghost's last attempt and slow's request: \(gaps)")
        #expect(gateway.logLines(level: "WARNING", containing: "device=ghost").count == 1, "log:\n\(gateway.stderr)")
    }

    @Test("answers that fail their CRC are counted per device, named in errors, and the device recovers when the noise stops",
          .timeLimit(.minutes(2)))
    func crcErrorsAreCounted() throws {
        let peers = try Peers("modbus-crc")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let line = try SerialLine(in: workspace.path, drops: 1)
        defer { line.stop() }
        let simulator = try ModbusSimulator(port: line.dropPorts[0], image: [1: Self.contiguous(2)], in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-crc", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(line.gatewayPort), parity: none, timeout: 200ms, backoff_after: 1000}
            devices:
              - {name: noisy, bus: rs485, unit: 1, interval: 300ms, points: [\(Self.pointList(2))]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "noisy", count: 2, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")

        line.corrupt(drop: 0)
        #expect(eventually(timeout: .seconds(5)) { !gateway.logLines(level: "WARNING", containing: "device=noisy").isEmpty })
        let warning = gateway.logLines(level: "WARNING", containing: "device=noisy").first ?? ""
        #expect(warning.contains("Invalid CRC"), "\(warning)")
        let health = try #require(try broker.retained("fieldlink/gw-crc/status/noisy"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(health.utf8)) as? [String: Any], "\(health)")
        #expect(json["state"] as? String == "failing" && (json["crc_errors"] as? Int ?? 0) >= 1 && json["timeouts"] as? Int == 0, "\(health)")

        line.corrupt(drop: 0, false)
        let clean = nowMilliseconds()
        #expect(subscriber.waitFor(timeout: .seconds(10)) { messages in
            messages.compactMap(Telemetry.init).contains { $0.device == "noisy" && $0.ts > clean && $0.errors.isEmpty }
        }, "no clean reading after the noise; log:\n\(gateway.stderr)")
        #expect(gateway.stop() == 0)
    }
}
