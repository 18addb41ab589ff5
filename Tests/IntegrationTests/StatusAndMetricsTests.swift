import Foundation
import Testing
import TestSupport

/// `fieldlink status` against a running gateway, the socket's permissions, and the metrics textfile
/// read by Prometheus's own Python parser.
@Suite("Status socket and metrics textfile")
struct StatusAndMetricsTests {
    /// A gateway polling a live and a dead slave over Modbus-TCP, with metrics every second.
    struct Running {
        let peers: Peers
        let simulator: ModbusSimulator
        let gateway: ChildProcess
        let config: String
        let metrics: String

        init(_ name: String) throws {
            peers = try Peers(name)
            let workspace = peers.workspace
            simulator = try ModbusSimulator(tcpImage: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 42]]],
                                            in: workspace.path)
            let port = try #require(simulator.tcpPort)
            // Readable by another user, so the refusal comes from the socket, not from the config file.
            chmod(workspace.path, 0o755)
            metrics = "\(workspace.path)/textfile/fieldlink.prom"
            try FileManager.default.createDirectory(atPath: "\(workspace.path)/textfile", withIntermediateDirectories: true)
            config = try workspace.write(configHead(gateway: "gw-st", stateDirectory: "\(workspace.path)/state", broker: peers.broker) + """
                metrics: {textfile: \(metrics), interval: 1s}
                buses:
                  - {name: plc, type: modbus-tcp, host: 127.0.0.1, port: \(port), timeout: 200ms}
                devices:
                  - {name: meter, bus: plc, unit: 1, interval: 200ms, points: [{name: v, address: 0}]}
                  - {name: dead, bus: plc, unit: 7, interval: 200ms, points: [{name: w, address: 0}]}

                """, to: "fieldlink.yaml")
            chmod(config, 0o644)
            gateway = try startGateway(config: config, in: workspace.path)
        }

        func stop() {
            gateway.stop()
            simulator.process.stop()
            peers.stop()
        }
    }

    func status(_ running: Running, _ extra: [String] = [], name: String = "status") throws -> (status: Int32, stdout: String, stderr: String) {
        try runFieldlink(["status", "--config", running.config] + extra, in: running.peers.workspace.path, name: name)
    }

    @Test("status answers in words and as JSON from a running gateway; exit 69 with one line once it is gone", .timeLimit(.minutes(2)))
    func statusFromARunningGateway() throws {
        let running = try Running("status")
        defer { running.stop() }
        try #require(running.peers.subscriber.waitFor(device: "meter", count: 5, timeout: .seconds(15)), "log:\n\(running.gateway.stderr)")
        // The dead slave is judged after its first timeouts.
        #expect(eventually(timeout: .seconds(10)) { (try? running.peers.broker.retained("fieldlink/gw-st/status/dead")) != nil })

        let json = try status(running, ["--json"], name: "status-json")
        try #require(json.status == 0, "\(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(document["gateway"] as? String == "gw-st")
        #expect(document["version"] as? String != nil)
        #expect((document["uptime_seconds"] as? Double ?? 0) > 0)
        let broker = try #require(document["broker"] as? [String: Any])
        #expect(broker["state"] as? String == "connected")
        #expect(broker["url"] as? String == running.peers.broker.url)
        let buses = try #require(document["buses"] as? [[String: Any]])
        let utilisation = try #require(buses.first.flatMap { $0["utilisation"] as? Double })
        // Two devices every 200 ms, one answering fast and one timing out after 200 ms: busy, not saturated.
        #expect(utilisation > 0.05 && utilisation < 1, "utilisation \(utilisation)")
        let devices = try #require(document["devices"] as? [[String: Any]])
        let meter = try #require(devices.first { $0["name"] as? String == "meter" })
        let dead = try #require(devices.first { $0["name"] as? String == "dead" })
        #expect(meter["health"] as? String == "ok")
        #expect((meter["polls"] as? Int ?? 0) >= 5)
        #expect(meter["point_errors"] as? Int == 0)
        #expect((meter["last_good_age_seconds"] as? Double ?? 99) < 5)
        #expect(["failing", "backed off"].contains(dead["health"] as? String ?? ""))
        #expect((dead["point_errors"] as? Int ?? 0) >= 1)
        #expect(dead["last_good_age_seconds"] == nil)
        let ring = try #require(document["ring"] as? [String: Any])
        #expect(ring["messages"] as? Int != nil && ring["bytes"] as? Int != nil && ring["dropped"] as? Int == 0)

        let text = try status(running, name: "status-text")
        try #require(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("fieldlink ") == true && lines.first?.contains("gateway gw-st") == true, "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("broker \(running.peers.broker.url): connected") }, "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("bus plc (modbus-tcp): line busy ") }, "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("  meter: ok, last good reading ") }, "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("  dead: ") && $0.contains("no good reading yet") }, "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("ring: ") && $0.hasSuffix(" 0 dropped") }, "\(text.stdout)")

        #expect(running.gateway.stop() == 0)
        let gone = try status(running, name: "status-gone")
        #expect(gone.status == 69)
        #expect(gone.stdout.isEmpty)
        #expect(gone.stderr.split(separator: "\n").count == 1 && gone.stderr.contains("no daemon is running"), "\(gone.stderr)")
    }

    @Test("another user is refused: by the socket's mode, and by the peer check when the mode is loosened", .timeLimit(.minutes(2)))
    func anotherUserIsRefused() throws {
        let setpriv = try ChildProcess.locate("setpriv")
        let running = try Running("status-perm")
        defer { running.stop() }
        let socket = "\(running.peers.workspace.path)/state/status.sock"
        try #require(eventually(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: socket) }, "log:\n\(running.gateway.stderr)")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        // The state folder is the daemon's; let another user reach the socket inside it.
        chmod("\(running.peers.workspace.path)/state", 0o755)
        let binary = try fieldlinkBinary()
        func asNobody(_ name: String) throws -> (Int32, String) {
            let process = try ChildProcess(setpriv, ["--reuid=nobody", "--regid=nogroup", "--clear-groups", binary, "status", "--config", running.config],
                                           in: running.peers.workspace.path, name: name)
            defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
            try #require(process.waitForExit(timeout: .seconds(20)), "status as nobody did not exit")
            return (process.process.terminationStatus, process.stderr)
        }
        let (byMode, modeError) = try asNobody("status-nobody")
        #expect(byMode == 77, "\(modeError)")
        #expect(modeError.contains("Permission denied"), "\(modeError)")

        chmod(socket, 0o666)
        let (byPeer, peerError) = try asNobody("status-nobody-peer")
        #expect(byPeer == 77, "\(peerError)")
        #expect(peerError.contains("refused") && peerError.contains("only the daemon's user and root"), "\(peerError)")
        #expect(!running.gateway.logLines(level: "WARNING", containing: "status socket: refused uid").isEmpty, "\(running.gateway.stderr)")
        // Root still gets an answer.
        #expect(try status(running, ["--json"], name: "status-root").status == 0)
    }

    @Test("the metrics textfile parses with prometheus_client, and a counter grows between two writes", .timeLimit(.minutes(2)))
    func metricsTextfile() throws {
        let running = try Running("metrics")
        defer { running.stop() }
        try #require(eventually(timeout: .seconds(15)) { FileManager.default.fileExists(atPath: running.metrics) }, "log:\n\(running.gateway.stderr)")
        // The first write may come before the broker connection; one a second later says it is up.
        let connected = #"fieldlink_mqtt_connected{broker="\#(running.peers.broker.url)"}"#
        var first = try parse(running.metrics, in: running.peers.workspace.path, name: "parse-1")
        #expect(eventually(timeout: .seconds(10)) {
            first = (try? parse(running.metrics, in: running.peers.workspace.path, name: "parse-1")) ?? first
            return first.samples[connected] == 1
        }, "\(first.samples)")
        for family in ["fieldlink_build_info", "fieldlink_device_polls", "fieldlink_device_point_errors", "fieldlink_device_up",
                       "fieldlink_bus_utilisation_ratio", "fieldlink_bus_busy_seconds", "fieldlink_ring_messages", "fieldlink_ring_bytes",
                       "fieldlink_ring_oldest_message_age_seconds", "fieldlink_ring_dropped_messages", "fieldlink_mqtt_connected",
                       "fieldlink_mqtt_published_messages", "fieldlink_mqtt_acknowledged_messages", "fieldlink_mqtt_reconnects"] {
            #expect(first.families[family] != nil, "no family \(family): \(first.families.keys.sorted())")
        }
        #expect(first.families["fieldlink_device_polls"] == "counter" && first.families["fieldlink_device_up"] == "gauge")
        #expect(first.samples[#"fieldlink_device_up{bus="plc",device="dead"}"#] == 0)
        let polls = #"fieldlink_device_polls_total{bus="plc",device="meter"}"#
        let before = try #require(first.samples[polls], "\(first.samples.keys.sorted())")
        var after = before
        #expect(eventually(timeout: .seconds(10)) {
            after = (try? parse(running.metrics, in: running.peers.workspace.path, name: "parse-2"))?.samples[polls] ?? before
            return after > before
        }, "\(polls) stayed at \(before)")
        let mode = try FileManager.default.attributesOfItem(atPath: running.metrics)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(running.peers.workspace.path)/textfile") == ["fieldlink.prom"])
        // promtool's linter as well, where Debian's prometheus package is installed (not a test dependency: see the README).
        if (try? ChildProcess.locate("promtool")) != nil {
            let lint = try ChildProcess("sh", ["-c", "promtool check metrics < \"$0\"", running.metrics], in: running.peers.workspace.path,
                                        name: "promtool")
            defer { lint.stop(signal: SIGKILL, grace: .seconds(1)) }
            try #require(lint.waitForExit(timeout: .seconds(20)), "promtool did not finish")
            #expect(lint.process.terminationStatus == 0, "\(lint.stdout)\(lint.stderr)")
        }
    }

    /// The textfile through `prometheus_client.parser.text_string_to_metric_families`: family types,
    /// and sample values keyed `name{label="value",...}` with labels sorted.
    func parse(_ file: String, in directory: String, name: String) throws -> (families: [String: String], samples: [String: Double]) {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            families, samples = {}, {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                families[family.name] = family.type
                for s in family.samples:
                    labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
                    samples[s.name + ("{" + labels + "}" if labels else "")] = s.value
            print(json.dumps({"families": families, "samples": samples}))
            """
        let process = try ChildProcess("python3", ["-c", script, file], in: directory, name: name)
        defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
        try #require(process.waitForExit(timeout: .seconds(20)), "the parser did not finish")
        if process.stderr.contains("No module named 'prometheus_client'") {
            throw MissingPrerequisite("the prometheus_client Python package is missing: run scripts/install-deps.sh test")
        }
        try #require(process.process.terminationStatus == 0, "prometheus_client's parser refused the textfile: \(process.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(process.stdout.utf8)) as? [String: Any])
        return (object["families"] as? [String: String] ?? [:], object["samples"] as? [String: Double] ?? [:])
    }
}
