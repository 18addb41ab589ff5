import FieldlinkCore
import Testing

@testable import FieldlinkPayload

/// A ts from a clock not known to be right is marked in every format, and only then.
@Suite struct UnsyncedTimeTests {
    static func reading(trusted: Bool?) -> Reading {
        Reading(device: "m", timestamp: 1_000, sequence: 42, values: [("v", .int(1))], errors: [],
                time: trusted.map { TimeStamp(wall: 1_000, monotonic: 5, boot: 1, trusted: $0) })
    }

    @Test func json() {
        let encoder = JSONPayloadEncoder()
        #expect(String(decoding: encoder.encode(Self.reading(trusted: false)), as: UTF8.self)
            == #"{"device":"m","ts":1000,"ts_quality":"unsynced","seq":42,"values":{"v":1}}"#)
        #expect(String(decoding: encoder.encode(Self.reading(trusted: true)), as: UTF8.self) == #"{"device":"m","ts":1000,"seq":42,"values":{"v":1}}"#)
        #expect(encoder.encode(Self.reading(trusted: nil)) == encoder.encode(Self.reading(trusted: true)))
    }

    @Test func cbor() {
        let encoder = CBORPayloadEncoder()
        let marked = encoder.encode(Self.reading(trusted: false))
        let plain = encoder.encode(Self.reading(trusted: true))
        #expect(plain.first == 0xA4 && marked.first == 0xA5)
        // 8: "unsynced" right after seq (0x02 0x18 0x2A).
        #expect(Array(marked[11..<21]) == [0x08, 0x68] + Array("unsynced".utf8))
        #expect(Array(marked[1..<11]) == Array(plain[1..<11]) && Array(marked[21...]) == Array(plain[11...]))
        let batch = encoder.encode(batch: [Self.reading(trusted: true), Self.reading(trusted: false)])
        #expect(batch.first == 0xA7 && encoder.encode(batch: [Self.reading(trusted: true)]).first == 0xA6)
    }

    @Test func sparkplugMetricProperty() throws {
        let marked = try SparkplugB_Payload(serializedBytes: SparkplugEncoding.data(
            at: 1_000, values: [(alias: 3, type: .int64, value: .int(1))], failures: [(alias: 4, reason: "timeout")], sequenceAlias: 9,
            sequence: 42, unsyncedTime: true))
        #expect(marked.metrics.count == 3)
        for metric in marked.metrics {
            let index = try #require(metric.properties.keys.firstIndex(of: "ts_quality"))
            #expect(metric.properties.values[index].stringValue == "unsynced")
        }
        let plain = try SparkplugB_Payload(serializedBytes: SparkplugEncoding.data(
            at: 1_000, values: [(alias: 3, type: .int64, value: .int(1))], failures: [], sequenceAlias: 9, sequence: 42))
        #expect(plain.metrics.allSatisfy { !$0.properties.keys.contains("ts_quality") })
    }
}
