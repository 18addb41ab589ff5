import FieldlinkBuffer
import FieldlinkCore
import Foundation
import Logging
import Testing
import TestSupport

@testable import FieldlinkMQTT

/// The publisher against a real mosquitto: everything in the ring reaches a subscriber, at every QoS,
/// far past the in-flight window (a completion that arrives inside the publish call must not be lost).
@Suite struct MQTTPublisherTests {
    static func config(port: Int, version: MQTTVersion) throws -> MQTTConfig {
        let yaml = """
            gateway: {id: gw-pub}
            mqtt: {url: "mqtt://127.0.0.1:\(port)", version: "\(version.rawValue)", max_inflight: 20}
            buses: []
            devices: []
            """
        return try ConfigLoader(families: []).parse(yaml: yaml, file: "test.yaml").mqtt
    }

    @Test(arguments: [MQTTVersion.v5, .v311])
    func drainsEveryQoSFarPastTheWindow(version: MQTTVersion) async throws {
        let directory = try makeTemporaryDirectory("publisher")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try Broker(in: directory)
        defer { broker.stop() }
        let subscriber = try Subscriber(broker: broker, topic: "t/#", qos: 2, in: directory)
        defer { subscriber.process.stop() }

        let ring = try DiskRing(settings: .init(directory: "\(directory)/ring", buffer: BufferConfig(), inFlightWindow: 20),
                                logger: Logger(label: "test"))
        defer { ring.close() }
        var expected: [String] = []
        for qos in 0...2 {
            for n in 0..<150 {
                let payload = "q\(qos)-\(n)"
                expected.append(payload)
                ring.append(OutboundMessage(topic: "t/q\(qos)", payload: Array(payload.utf8), qos: qos, retain: false,
                                            contentType: "text/plain"))
            }
        }
        let publisher = MQTTPublisher(config: try Self.config(port: broker.port, version: version), ring: ring, logger: Logger(label: "test"))
        let task = Task { try await publisher.run() }
        defer { task.cancel() }

        let deadline = ContinuousClock.now + .seconds(30)
        while ring.statistics.depth > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(ring.statistics.depth == 0, "stuck with \(ring.statistics.depth) unacknowledged (in flight \(ring.statistics.inFlight))")
        let all = subscriber.waitFor(timeout: .seconds(10)) { $0.count >= expected.count }
        #expect(all, "the subscriber got \(subscriber.messages.count) of \(expected.count)")
        let received = subscriber.messages.map(\.payload)
        #expect(Set(received) == Set(expected))
        // Per topic (per QoS), in the order they were queued.
        for qos in 0...2 {
            let stream = subscriber.messages.filter { $0.topic == "t/q\(qos)" }.map(\.payload)
            #expect(stream == (0..<150).map { "q\(qos)-\($0)" }, "QoS \(qos) out of order")
        }
        task.cancel()
        _ = try? await task.value
    }
}
