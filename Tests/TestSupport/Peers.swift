import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A mosquitto broker on a free loopback port, for one test.
public final class Broker: @unchecked Sendable {
    public let port: Int
    public let directory: String
    public private(set) var process: ChildProcess

    public var url: String { "mqtt://127.0.0.1:\(port)" }

    /// True when sessions and queued messages survive `restart()` (mosquitto `persistence true`).
    public let persistent: Bool

    /// `persistent`: keep sessions across `restart()`, so a subscriber with a persistent session
    /// (`Subscriber(cleanSession: false)`) misses nothing while the broker or it was away.
    /// Extra mosquitto.conf lines after the plain listener (a TLS listener, a password file, ...).
    public let extraConfig: String

    public init(in directory: String, port: Int? = nil, persistent: Bool = false, extraConfig: String = "") throws {
        self.port = try port ?? freeLoopbackPort()
        self.directory = directory
        self.persistent = persistent
        self.extraConfig = extraConfig
        process = try Self.launch(port: self.port, directory: directory, persistent: persistent, extraConfig: extraConfig)
    }

    private static func launch(port: Int, directory: String, persistent: Bool, extraConfig: String) throws -> ChildProcess {
        let config = "\(directory)/mosquitto-\(port).conf"
        var persistence = "persistence false"
        if persistent {
            let store = "\(directory)/mosquitto-\(port)-db/"
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
            persistence = "persistence true\npersistence_location \(store)"
        }
        // `user root`: started as root, mosquitto would otherwise drop to its own user.
        try """
        listener \(port) 127.0.0.1
        allow_anonymous true
        \(persistence)
        user root
        log_dest stderr
        \(extraConfig)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try ChildProcess("mosquitto", ["-c", config], in: directory, name: "mosquitto-\(port)")
        guard eventually(timeout: .seconds(10), { isListening(port: port) }) else {
            process.stop()
            throw MissingPrerequisite("mosquitto did not listen on 127.0.0.1:\(port) within 10 s: \(process.stderr)")
        }
        return process
    }

    /// Stops the broker (its sessions are lost unless `persistent`).
    public func stop() { process.stop() }

    /// Starts it again on the same port.
    public func restart() throws {
        process.stop()
        process = try Self.launch(port: port, directory: directory, persistent: persistent, extraConfig: extraConfig)
    }

    /// The retained message on `topic`, as a fresh subscriber sees it (nil when there is none).
    public func retained(_ topic: String) throws -> String? {
        let probe = try ChildProcess("mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(port)", "-t", topic, "-C", "1", "-W", "3"],
                                     in: directory, name: "retained-\(port)")
        _ = probe.waitForExit(timeout: .seconds(10))
        return probe.stdout.split(separator: "\n").first.map(String.init)
    }

    /// What the broker logged so far (every run since the last `restart()`).
    public var log: String { process.stderr }
}

/// `mosquitto_sub` on a broker, collecting `topic<TAB>payload` lines.
public final class Subscriber: @unchecked Sendable {
    public let process: ChildProcess

    /// `clientID` and `cleanSession: false` give a persistent session: the broker queues QoS 1/2
    /// messages for it while it is away, and a new `Subscriber` with the same id collects them.
    public convenience init(broker: Broker, topic: String = "#", qos: Int = 1, in directory: String, name: String = "mosquitto_sub",
                            clientID: String? = nil, cleanSession: Bool = true) throws {
        try self.init(port: broker.port, topic: topic, qos: qos, in: directory, name: name, clientID: clientID, cleanSession: cleanSession)
    }

    /// On any broker at `127.0.0.1:port`; `version`: mosquitto_sub's `-V` (`mqttv311` for RabbitMQ).
    public init(port: Int, topic: String = "#", qos: Int = 1, in directory: String, name: String = "mosquitto_sub",
                clientID: String? = nil, cleanSession: Bool = true, version: String = "mqttv311") throws {
        var arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-t", topic, "-q", "\(qos)", "-V", version,
                         "-F", "%t\t%p", "-i", clientID ?? "sub-\(UUID().uuidString.prefix(8))"]
        if !cleanSession { arguments.append("-c") }
        process = try ChildProcess("mosquitto_sub", arguments, in: directory, name: name)
        // Give the subscription time to be in place before anything is published.
        usleep(300_000)
    }

    public struct Message {
        public var topic: String
        public var payload: String
        /// The payload parsed as a JSON object, or nil.
        public var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any]
        }
    }

    public var messages: [Message] {
        process.stdout.split(separator: "\n").compactMap { line in
            guard let tab = line.firstIndex(of: "\t") else { return nil }
            return Message(topic: String(line[..<tab]), payload: String(line[tab...].dropFirst()))
        }
    }

    public func waitFor(timeout: Duration, _ condition: ([Message]) -> Bool) -> Bool {
        eventually(timeout: timeout) { condition(messages) }
    }
}

/// A socat pty pair: the gateway opens one end, a simulated device the other.
public final class PtyPair: @unchecked Sendable {
    public let gatewaySide: String
    public let deviceSide: String
    public let process: ChildProcess

    /// Links `<name>-gateway` and `<name>-device` in `directory`; several pairs may share a folder.
    public init(in directory: String, name: String = "tty") throws {
        gatewaySide = "\(directory)/\(name)-gateway"
        deviceSide = "\(directory)/\(name)-device"
        process = try ChildProcess("socat", ["-d", "pty,raw,echo=0,link=\(gatewaySide)", "pty,raw,echo=0,link=\(deviceSide)"],
                                   in: directory, name: name == "tty" ? "socat" : "socat-\(name)")
        let gatewaySide = self.gatewaySide, deviceSide = self.deviceSide
        guard eventually(timeout: .seconds(5), {
            FileManager.default.fileExists(atPath: gatewaySide) && FileManager.default.fileExists(atPath: deviceSide)
        }) else {
            throw MissingPrerequisite("socat did not create the pty pair: \(process.stderr)")
        }
    }
}

/// `scripts/modbus_sim.py` (pymodbus) serving a register image on the device side of a pty pair,
/// or over Modbus-TCP on a loopback port.
public final class ModbusSimulator: @unchecked Sendable {
    public let process: ChildProcess
    public let requestLog: String
    /// Set for a TCP simulator: where it listens on 127.0.0.1.
    public let tcpPort: Int?

    /// `image`: unit id -> points as the simulator's JSON expects (table, address, type, order, value).
    /// `sparseUnits` define only their points' registers (anything else: illegal data address);
    /// while `muteFile` exists the simulator answers nothing (but still logs what it hears).
    public init(port: String, image: [Int: [[String: Any]]], in directory: String, name: String = "modbus_sim",
                sparseUnits: [Int] = [], muteFile: String? = nil) throws {
        tcpPort = nil
        (process, requestLog) = try Self.launch(["--port", port, "--parity", "N"], image: image, in: directory, name: name,
                                                sparseUnits: sparseUnits, muteFile: muteFile)
    }

    /// A Modbus-TCP simulator on 127.0.0.1: on `port` (to come back where a stopped one was) or a free one.
    public init(tcpImage image: [Int: [[String: Any]]], port: Int? = nil, in directory: String, name: String = "modbus_sim_tcp",
                sparseUnits: [Int] = [], muteFile: String? = nil) throws {
        let port = try port ?? freeLoopbackPort()
        tcpPort = port
        (process, requestLog) = try Self.launch(["--tcp", "\(port)"], image: image, in: directory, name: name,
                                                sparseUnits: sparseUnits, muteFile: muteFile)
        guard eventually(timeout: .seconds(10), { isListening(port: port) }) else {
            process.stop()
            throw MissingPrerequisite("modbus_sim.py did not listen on 127.0.0.1:\(port): \(process.stderr)")
        }
    }

    private static func launch(_ endpoint: [String], image: [Int: [[String: Any]]], in directory: String, name: String,
                               sparseUnits: [Int], muteFile: String?) throws -> (ChildProcess, String) {
        let imagePath = "\(directory)/\(name)-image.json"
        let json: [String: Any] = ["units": Dictionary(uniqueKeysWithValues: image.map { (String($0.key), $0.value) }),
                                   "sparse_units": sparseUnits]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: imagePath))
        let requestLog = "\(directory)/\(name)-requests.log"
        var arguments = ["\(packageRoot)/scripts/modbus_sim.py"] + endpoint + ["--image", imagePath, "--log-requests", requestLog,
                                                                                 "--state-file", "\(directory)/\(name)-state.json"]
        if let muteFile { arguments += ["--mute-file", muteFile] }
        let process = try ChildProcess("python3", arguments, in: directory, name: name)
        guard eventually(timeout: .seconds(20), { process.stderr.contains("serving units") || !process.isRunning }),
              process.isRunning else {
            throw MissingPrerequisite("modbus_sim.py did not start (is pymodbus installed? run `make test-deps`): \(process.stderr)")
        }
        return (process, requestLog)
    }

    /// Requests seen so far, as (unit, function code).
    public var requests: [(unit: Int, function: Int)] {
        requestDetails.map { ($0.unit, $0.function) }
    }

    /// When each request arrived (the simulator's monotonic clock, microseconds), by unit.
    public var requestArrivals: [(unit: Int, microseconds: Int)] {
        ((try? String(contentsOfFile: requestLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ").compactMap { Int($0) }
            guard parts.count >= 5 else { return nil }
            return (parts[0], parts[4])
        }
    }

    /// Requests seen so far, with the first address and the count they asked for.
    public var requestDetails: [(unit: Int, function: Int, address: Int, count: Int)] {
        ((try? String(contentsOfFile: requestLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ").compactMap { Int($0) }
            guard parts.count >= 2 else { return nil }
            return (parts[0], parts[1], parts.count > 2 ? parts[2] : -1, parts.count > 3 ? parts[3] : -1)
        }
    }
}
