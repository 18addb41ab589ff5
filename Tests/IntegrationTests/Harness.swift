import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Unix milliseconds, as the gateway writes `ts`.
func nowMilliseconds() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
}

/// A test's own folder; `remove()` (in the test's first `defer`, so it runs last) deletes it unless
/// `FIELDLINK_KEEP_TEST_DIRS` is set, for a look at the logs of every process after a failure.
struct Workspace {
    let path: String

    init(_ name: String) throws {
        path = try makeTemporaryDirectory("fieldlink-\(name)")
    }

    func remove() {
        guard ProcessInfo.processInfo.environment["FIELDLINK_KEEP_TEST_DIRS"] == nil else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` to `name` (which may contain folders) and returns the absolute path.
    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        let file = "\(path)/\(name)"
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func subdirectory(_ name: String) throws -> String {
        let folder = "\(path)/\(name)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// What most integration tests start first: a workspace, a broker in it and a subscriber on
/// `topic`; `stop()` ends them in reverse order (by PID) and removes the folder.
struct Peers {
    let workspace: Workspace
    let broker: Broker
    let subscriber: Subscriber

    init(_ name: String, topic: String = "fieldlink/#") throws {
        workspace = try Workspace(name)
        do {
            broker = try Broker(in: workspace.path)
            subscriber = try Subscriber(broker: broker, topic: topic, in: workspace.path)
        } catch {
            workspace.remove()
            throw error
        }
    }

    func stop() {
        subscriber.process.stop()
        broker.stop()
        workspace.remove()
    }
}

/// The common head of a test config: gateway, a fast-reconnecting broker connection on loopback, and
/// a clock believed at once (test machines are often not NTP-disciplined: STA_UNSYNC stays set).
func configHead(gateway: String, stateDirectory: String, broker: Broker) -> String {
    """
    gateway:
      id: \(gateway)
      state_dir: \(stateDirectory)
    time: {trust: always}
    mqtt:
      url: mqtt://127.0.0.1:\(broker.port)
      version: 5
      reconnect_delay: 200ms
      reconnect_delay_max: 1s
      drain_timeout: 5s

    """
}

/// `fieldlink run --config FILE` as a real process; its log is `.stderr`.
func startGateway(config: String, in directory: String, name: String = "fieldlink") throws -> ChildProcess {
    try ChildProcess(try fieldlinkBinary(), ["run", "--config", config], in: directory, name: name)
}

/// `fieldlink ARGS` to completion (bounded), with its exit status and output.
func runFieldlink(_ arguments: [String], in directory: String, name: String,
                  timeout: Duration = .seconds(20)) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = try ChildProcess(try fieldlinkBinary(), arguments, in: directory, name: name)
    defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
    guard process.waitForExit(timeout: timeout) else {
        Issue.record("fieldlink \(arguments.joined(separator: " ")) did not exit within \(timeout)")
        return (-1, process.stdout, process.stderr)
    }
    return (process.process.terminationStatus, process.stdout, process.stderr)
}

extension ChildProcess {
    /// Log lines (stderr) at `level` (e.g. "WARNING") that mention `fragment`.
    func logLines(level: String, containing fragment: String = "") -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(" \(level) ") && (fragment.isEmpty || $0.contains(fragment)) }
    }
}

/// One MQTT message from the gateway, parsed: `{"device":..,"ts":..,"seq":..,"values":{..},"errors":{..}}`.
struct Telemetry: CustomStringConvertible {
    var topic: String
    var payload: String
    var device: String
    var ts: Int64
    var seq: UInt64
    var values: [String: Any]
    var errors: [String: String]

    init?(_ message: Subscriber.Message) {
        guard let json = message.json, let device = json["device"] as? String,
              let ts = (json["ts"] as? NSNumber)?.int64Value, let seq = (json["seq"] as? NSNumber)?.uint64Value,
              let values = json["values"] as? [String: Any]
        else { return nil }
        topic = message.topic
        payload = message.payload
        self.device = device
        self.ts = ts
        self.seq = seq
        self.values = values
        self.errors = json["errors"] as? [String: String] ?? [:]
    }

    /// The literal JSON text of one value (`-32768`, `230.1`, `true`), so numbers are compared
    /// exactly, without a JSON parser's idea of which integers fit a Double.
    func valueText(_ name: String) -> String? {
        guard let start = payload.range(of: #""values":{"#) else { return nil }
        let object = payload[start.upperBound...]
        guard let key = object.range(of: "\"\(name)\":") else { return nil }
        let rest = object[key.upperBound...]
        guard let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) else { return nil }
        return String(rest[..<end])
    }

    var description: String { "\(topic) \(payload)" }
}

extension Subscriber {
    /// Every message that parses as telemetry; anything else fails the test. The gateway's
    /// retained status (`.../status`: online/offline, `.../status/DEVICE`: health) and the devices'
    /// descriptions (`.../DEVICE/meta`) are left out.
    var telemetry: [Telemetry] {
        messages.filter { !$0.topic.hasSuffix("/status") && !$0.topic.contains("/status/") && !$0.topic.hasSuffix("/meta") }.compactMap { message in
            guard let telemetry = Telemetry(message) else {
                Issue.record("not a telemetry message: \(message.topic) \(message.payload)")
                return nil
            }
            return telemetry
        }
    }

    func telemetry(device: String) -> [Telemetry] {
        telemetry.filter { $0.device == device }
    }

    /// Waits until `device` has `count` messages; false on timeout.
    func waitFor(device: String, count: Int, timeout: Duration) -> Bool {
        waitFor(timeout: timeout) { messages in
            messages.compactMap(Telemetry.init).filter { $0.device == device }.count >= count
        }
    }
}

/// True when `numbers` is `first, first+1, first+2, ...` (no gap, no repeat, in order).
func isConsecutive(_ numbers: [UInt64], from first: UInt64) -> Bool {
    numbers.enumerated().allSatisfy { index, number in number == first + UInt64(index) }
}

/// The largest distance between neighbouring timestamps.
func largestGap(_ timestamps: [Int64]) -> Int64 {
    zip(timestamps, timestamps.dropFirst()).map { $1 - $0 }.max() ?? 0
}

/// Sleeps the test's thread (processes under test keep running meanwhile).
func pause(_ duration: Duration) {
    Thread.sleep(forTimeInterval: duration.seconds)
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
