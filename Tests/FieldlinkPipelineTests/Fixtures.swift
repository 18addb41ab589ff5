import FieldlinkCore
import FieldlinkPayload
import FieldlinkPipeline
import Foundation
import Logging
import TestSupport

/// Options for devices and points built by hand: the pipeline only reads names, units, routes, kinds.
struct TestOptions: DeviceOptions, PointOptions {
    var kind: ValueKind?
    var valueKind: ValueKind? { kind }
    var description: String { "test" }
}

let testLocation = ConfigLocation(file: "test.yaml", line: 1, column: 1)

func point(_ name: String, kind: ValueKind? = .float64, route: PublishRoute? = nil) -> PointConfig {
    PointConfig(name: name, options: TestOptions(kind: kind), location: testLocation, ownRoute: route)
}

func device(_ name: String, topic: String? = nil, format: PayloadFormat = .json, report: ReportPolicy = .everyPoll,
            batch: BatchPolicy? = nil, points: [PointConfig]) -> DeviceConfig {
    DeviceConfig(name: name, bus: "bus", interval: .seconds(1), topic: topic ?? "fl/gw/\(name)", qos: 1, retain: false, format: format,
                 report: report, batch: batch, options: TestOptions(), points: points, location: testLocation)
}

func reading(_ device: String, at time: Int64, _ values: [(String, Value)], errors: [(String, String)] = []) -> Reading {
    Reading(device: device, timestamp: time, values: values.map { (name: $0.0, value: $0.1) },
            errors: errors.map { (name: $0.0, reason: $0.1) })
}

/// A pipeline over an in-memory ring, with its sequence store in a directory of its own.
final class PipelineFixture {
    let directory: String
    let ring = MemoryRing()
    let sequences: SequenceStore
    let pipeline: TelemetryPipeline

    init(_ devices: [DeviceConfig], sparkplug: SparkplugConfig? = nil) throws {
        let directory = try makeTemporaryDirectory("pipeline")
        self.directory = directory
        sequences = try SequenceStore(directory: directory)
        let node = sparkplug.map { SparkplugEdgeNode(config: $0, devices: devices, stateDirectory: directory) }
        pipeline = TelemetryPipeline(devices: devices, statusTopic: "fl/gw/status", sparkplug: node, sequences: sequences, ring: ring,
                                     logger: Logger(label: "test"))
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// The JSON messages on `topic`, decoded.
    func json(on topic: String) throws -> [[String: Any]] {
        try ring.messages(on: topic).map { try decodeJSON($0.payload) as! [String: Any] }
    }
}

func decodeJSON(_ payload: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(payload))
}

/// A JSON message's `seq`.
func seq(_ message: [String: Any]) -> Int? { message["seq"] as? Int }

/// A JSON message's `values`, as numbers.
func numbers(_ message: [String: Any]) -> [String: Double] { (message["values"] as? [String: Double]) ?? [:] }
