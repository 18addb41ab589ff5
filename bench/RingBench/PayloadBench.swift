// ring-bench payload: bytes on the wire per reading for each format, with and without batching and
// on-change reporting, over a synthetic but realistic hour of a meter (issue 7's benchmark).
import FieldlinkCore
import FieldlinkPayload
import FieldlinkPipeline
import Foundation

enum PayloadBench {
    /// A deterministic hour of one-second polls: voltages, currents and powers that drift slowly
    /// with a little measurement noise, an energy counter, frequency and power factor.
    static func series(points: Int, seconds: Int = 3_600) -> [Reading] {
        var random = UInt64(42)
        func noise() -> Double {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(random >> 11) / Double(1 << 53) - 0.5
        }
        // Decimals as a meter's registers give them: an integer count divided by a power of ten,
        // as LinearTransform scales them (2301 / 10 is the double nearest 230.1; 2301 * 0.1 is not).
        func rounded(_ value: Double, _ step: Double) -> Double { (value / step).rounded() / (1 / step).rounded() }
        return (0..<seconds).map { second in
            let t = Double(second)
            var values: [(name: String, value: Value)] = []
            for index in 0..<points {
                let phase = Double(index) * 0.7
                let value: Value = switch index % 5 {
                case 0: .double(rounded(230 + 2 * sin(t / 95 + phase) + 0.08 * noise(), 0.1))           // voltage V
                case 1: .double(rounded(5 + 3 * sin(t / 140 + phase) + 0.02 * noise(), 0.01))          // current A
                case 2: .double(rounded(1_150 + 690 * sin(t / 140 + phase) + 5 * noise(), 0.1))         // power W
                case 3: .uint(UInt64(1_234_567 + second / 3 + index))                                      // energy, 0.01 kWh
                default: .double(rounded(50 + 0.02 * sin(t / 30 + phase) + 0.01 * noise(), 0.01))       // frequency Hz
                }
                values.append(("p\(index)", value))
            }
            return Reading(device: "meter1", timestamp: 1_764_000_000_000 + Int64(second) * 1_000, sequence: UInt64(second + 1),
                           values: values, errors: [])
        }
    }

    /// An MQTT 5 PUBLISH at QoS 1 as fieldlink sends it: fixed header, topic (an alias after the first
    /// message), packet id, properties (content type, payload-format indicator for JSON, the gateway
    /// user property, the alias), payload.
    static func wireBytes(payload: Int, contentType: String, topic: String, first: Bool) -> Int {
        let properties = (1 + 2 + contentType.utf8.count) + (contentType == "application/json" ? 2 : 0)
            + (1 + 2 + "gateway".utf8.count + 2 + "gw-01".utf8.count) + 3
        let variable = 2 + (first ? topic.utf8.count : 0) + 2 + varintSize(properties) + properties
        let remaining = variable + payload
        return 1 + varintSize(remaining) + remaining
    }

    static func varintSize(_ value: Int) -> Int { value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4 }

    struct Scenario {
        var name: String
        var encoder: any PayloadEncoder
        var onChange: Bool
        var batch: Int
    }

    /// Point options for the bench's devices: every point a double, as scaled registers are.
    struct BenchPoint: DeviceOptions, PointOptions {
        var valueKind: ValueKind? { .float64 }
        var description: String { "bench" }
    }

    /// A Sparkplug B encoder for the series' device, with its births already sent (data by alias).
    static func sparkplugEncoder(points: Int) -> any PayloadEncoder {
        let location = ConfigLocation(file: "bench", line: 1, column: 1)
        let device = DeviceConfig(name: "meter1", bus: "bus", interval: .seconds(1), topic: "", qos: 0, retain: false, format: .sparkplugb,
                                  options: BenchPoint(), points: (0..<points).map { PointConfig(name: "p\($0)", options: BenchPoint(), location: location) },
                                  location: location)
        let node = SparkplugEdgeNode(config: SparkplugConfig(groupID: "plant1", edgeNodeID: "gw-01"), devices: [device], stateDirectory: nil)
        _ = node.births()
        return SparkplugDataEncoder(node: node) { _ in }
    }

    static func run() {
        let scenarios = [
            Scenario(name: "JSON, every poll", encoder: JSONPayloadEncoder(), onChange: false, batch: 1),
            Scenario(name: "CBOR, every poll", encoder: CBORPayloadEncoder(), onChange: false, batch: 1),
            Scenario(name: "JSON, batch 50", encoder: JSONPayloadEncoder(), onChange: false, batch: 50),
            Scenario(name: "CBOR, batch 50", encoder: CBORPayloadEncoder(), onChange: false, batch: 50),
            Scenario(name: "CBOR, on-change 0.5% + heartbeat 5m", encoder: CBORPayloadEncoder(), onChange: true, batch: 1),
            Scenario(name: "CBOR, on-change + batch 50", encoder: CBORPayloadEncoder(), onChange: true, batch: 50),
            Scenario(name: "Sparkplug B, every poll", encoder: sparkplugEncoder(points: 0), onChange: false, batch: 1),
            Scenario(name: "Sparkplug B, batch 50", encoder: sparkplugEncoder(points: 0), onChange: false, batch: 50),
            Scenario(name: "Sparkplug B, on-change + batch 50", encoder: sparkplugEncoder(points: 0), onChange: true, batch: 50),
        ]
        let topic = "fieldlink/gw-01/meter1"
        print("bytes on the wire per reading (MQTT 5 PUBLISH at QoS 1, topic alias after the first message), one hour of 1 s polls")
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        print(pad("format / policy", 40) + "   1 point  10 points  40 points")
        var results: [String: [Int: Double]] = [:]
        for scenario in scenarios {
            var row: [String] = []
            for points in [1, 10, 40] {
                let readings = series(points: points)
                var scenario = scenario
                if scenario.encoder is SparkplugDataEncoder { scenario.encoder = sparkplugEncoder(points: points) }
                var filter = ReportFilter()
                let policy = ReportPolicy(onChange: true, deadband: .relative(0.005), heartbeat: .seconds(300))
                let sent = scenario.onChange ? readings.compactMap { filter.apply($0, policy: policy) } : readings
                var total = 0
                var first = true
                for start in stride(from: 0, to: sent.count, by: scenario.batch) {
                    let chunk = Array(sent[start..<min(start + scenario.batch, sent.count)])
                    let payload = scenario.batch == 1 ? scenario.encoder.encode(chunk[0]) : scenario.encoder.encode(batch: chunk)
                    let sparkplug = scenario.encoder is SparkplugDataEncoder
                    // Sparkplug's seq (2 bytes) is added as the message is sent.
                    total += wireBytes(payload: payload.count + (sparkplug ? 2 : 0), contentType: scenario.encoder.contentType,
                                       topic: sparkplug ? "spBv1.0/plant1/DDATA/gw-01/meter1" : topic, first: first)
                    first = false
                }
                let perReading = Double(total) / Double(readings.count)
                results[scenario.name, default: [:]][points] = perReading
                row.append(String(format: "%10.1f", perReading))
            }
            print(pad(scenario.name, 40) + row.joined(separator: " "))
        }
        let json10 = results["JSON, every poll"]![10]!, cborBatch10 = results["CBOR, batch 50"]![10]!
        let ratio = cborBatch10 / json10
        print(String(format: "\ntarget: CBOR + batching on the 10-point device = %.1f%% of per-poll JSON (<= 25%%): %@",
                     ratio * 100, (ratio <= 0.25 ? "PASS" : "FAIL") as NSString))

        print("\nencode cost per reading (10 points, median of 5 runs of 3600 readings)")
        let readings = series(points: 10)
        for (name, encoder) in [("JSON", JSONPayloadEncoder() as any PayloadEncoder), ("CBOR", CBORPayloadEncoder()),
                                 ("Sparkplug B", sparkplugEncoder(points: 10))] {
            var runs: [Double] = []
            var sink = 0
            for _ in 0..<5 {
                let start = ContinuousClock.now
                for reading in readings { sink &+= encoder.encode(reading).count }
                runs.append((ContinuousClock.now - start).seconds / Double(readings.count) * 1e9)
            }
            print(String(format: "  %@: %.0f ns per reading (%d bytes encoded)", name as NSString, runs.sorted()[2], sink / 5))
        }
    }
}
