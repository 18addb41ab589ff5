import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A RabbitMQ node with its MQTT plugin on free loopback ports, for one test: its own epmd (port),
/// node name, data and log folders, so it runs beside anything else on the machine. RabbitMQ 3.10
/// speaks MQTT 3.1.1 only and answers QoS 2 with PUBACK: a broker that is not mosquitto.
/// Boot takes 5-15 s. Stopped by PID: the node, then its epmd.
public final class RabbitMQ: @unchecked Sendable {
    public let port: Int
    public let directory: String
    private let epmdPort: Int
    private let amqpPort: Int
    private let distributionPort: Int
    private let epmd: ChildProcess
    public private(set) var process: ChildProcess

    public var url: String { "mqtt://127.0.0.1:\(port)" }

    static let server = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    public init(in parent: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.server), (try? ChildProcess.locate("epmd")) != nil else {
            throw MissingPrerequisite("RabbitMQ is not installed (\(Self.server), epmd): run `make test-deps` (Debian rabbitmq-server)")
        }
        port = try freeLoopbackPort()
        epmdPort = try freeLoopbackPort()
        amqpPort = try freeLoopbackPort()
        distributionPort = try freeLoopbackPort()
        directory = "\(parent)/rabbitmq-\(port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "[rabbitmq_mqtt].\n".write(toFile: "\(directory)/enabled_plugins", atomically: true, encoding: .utf8)
        try """
        listeners.tcp.local = 127.0.0.1:\(amqpPort)
        mqtt.listeners.tcp.local = 127.0.0.1:\(port)
        mqtt.allow_anonymous = true
        loopback_users = none
        distribution.listener.interface = 127.0.0.1

        """.write(toFile: "\(directory)/rabbitmq.conf", atomically: true, encoding: .utf8)
        epmd = try ChildProcess("epmd", ["-port", "\(epmdPort)", "-address", "127.0.0.1"], in: directory, name: "epmd")
        do {
            process = try Self.launch(directory: directory, port: port, epmdPort: epmdPort, amqpPort: amqpPort, distributionPort: distributionPort)
        } catch {
            epmd.stop()
            throw error
        }
    }

    private static func launch(directory: String, port: Int, epmdPort: Int, amqpPort: Int, distributionPort: Int) throws -> ChildProcess {
        let environment = [
            "HOME": directory, "ERL_EPMD_PORT": "\(epmdPort)", "RABBITMQ_NODENAME": "fieldlink-test-\(port)@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": "\(amqpPort)", "RABBITMQ_DIST_PORT": "\(distributionPort)",
            "RABBITMQ_MNESIA_BASE": "\(directory)/mnesia", "RABBITMQ_LOG_BASE": "\(directory)/log",
            "RABBITMQ_CONFIG_FILE": "\(directory)/rabbitmq", "RABBITMQ_ENABLED_PLUGINS_FILE": "\(directory)/enabled_plugins",
            "RABBITMQ_CONF_ENV_FILE": "\(directory)/no-env-file", "RABBITMQ_LOGS": "-", "RABBITMQ_PID_FILE": "\(directory)/node.pid",
        ]
        // The script execs erl, which execs beam: the child's PID is the node's.
        let process = try ChildProcess(server, [], in: directory, name: "rabbitmq", environment: environment)
        guard eventually(timeout: .seconds(60), { isListening(port: port) || !process.isRunning }), process.isRunning else {
            process.stop()
            throw MissingPrerequisite("RabbitMQ's MQTT listener did not come up on 127.0.0.1:\(port) within 60 s: \(process.stdout.suffix(2_000))")
        }
        return process
    }

    /// Stops the node (its queues and retained messages stay in its folder for `restart()`).
    public func stop() {
        process.stop(grace: .seconds(20))
    }

    /// Stops the node and starts it again on the same ports and data.
    public func restart() throws {
        stop()
        process = try Self.launch(directory: directory, port: port, epmdPort: epmdPort, amqpPort: amqpPort, distributionPort: distributionPort)
    }

    /// The node and its epmd.
    public func shutdown() {
        stop()
        epmd.stop()
    }

    public var log: String { process.stdout + process.stderr }
}
