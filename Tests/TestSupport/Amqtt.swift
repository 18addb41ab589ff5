import Foundation

/// An amqtt broker (Python, PyPI `amqtt`) on a free loopback port, for one test: MQTT 3.1.1 only,
/// and it misreads an MQTT 5 CONNECT without answering or closing, a broker that is neither
/// mosquitto nor RabbitMQ. Its start (Python imports) takes a few seconds. Stopped by PID.
public final class Amqtt: @unchecked Sendable {
    public let port: Int
    public let process: ChildProcess

    public var url: String { "mqtt://127.0.0.1:\(port)" }

    public init(in directory: String) throws {
        guard (try? ChildProcess.locate("amqtt")) != nil else {
            throw MissingPrerequisite("amqtt is not installed: run `make test-deps` (PyPI amqtt)")
        }
        port = try freeLoopbackPort()
        let config = "\(directory)/amqtt-\(port).yaml"
        try """
        listeners:
          default:
            type: tcp
            bind: 127.0.0.1:\(port)
        plugins:
          amqtt.plugins.authentication.AnonymousAuthPlugin:
            allow_anonymous: true

        """.write(toFile: config, atomically: true, encoding: .utf8)
        process = try ChildProcess("amqtt", ["-c", config], in: directory, name: "amqtt-\(port)")
        guard eventually(timeout: .seconds(30), { isListening(port: port) }) else {
            process.stop()
            throw MissingPrerequisite("amqtt did not listen on 127.0.0.1:\(port) within 30 s: \(process.stderr)")
        }
    }

    public func stop() { process.stop() }
}
