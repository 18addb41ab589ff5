import FieldlinkCore
import SwiftProtobuf
import Testing

@testable import FieldlinkPayload

/// The Sparkplug B payloads as pure functions; the edge node's use of them is tested in
/// FieldlinkPipelineTests.
@Suite struct SparkplugEncodingTests {
    func decode(_ bytes: [UInt8]) throws -> SparkplugB_Payload { try SparkplugB_Payload(serializedBytes: bytes) }

    @Test(arguments: [UInt64(0), 1, 127, 128, 255, 300])
    func seqAppendedAtTheEndIsTheDecodedSeq(seq: UInt64) throws {
        let data = SparkplugEncoding.data(at: 5, values: [(alias: 1, type: .uint16, value: .uint(7))], failures: [], sequenceAlias: 2,
                                          sequence: 9)
        #expect(try !decode(data).hasSeq)
        let stamped = try decode(SparkplugEncoding.appending(seq: seq, to: data))
        #expect(stamped.seq == seq)
        #expect(stamped.metrics.map(\.alias) == [1, 2] && stamped.metrics[0].intValue == 7)
    }

    @Test func dataCarriesValuesThenFailuresThenTheReadingsSeq() throws {
        let payload = try decode(SparkplugEncoding.data(at: 1_700, values: [(alias: 3, type: .double, value: .double(1.5))],
                                                        failures: [(alias: 4, reason: "timeout")], sequenceAlias: 9, sequence: 42))
        #expect(payload.timestamp == 1_700 && payload.metrics.allSatisfy { $0.timestamp == 1_700 && !$0.hasName })
        #expect(payload.metrics.map(\.alias) == [3, 4, 9])
        #expect(payload.metrics[0].doubleValue == 1.5)
        #expect(payload.metrics[1].isNull && payload.metrics[1].properties.keys == ["Quality", "Error"])
        #expect(payload.metrics[1].properties.values[1].stringValue == "timeout")
        #expect(payload.metrics[2].longValue == 42)
    }

    @Test func birthsAndDeathsCarryBdSeq() throws {
        let birth = try decode(SparkplugEncoding.nodeBirth(bdSeq: 7, at: 10, seq: 0))
        #expect(birth.hasSeq && birth.seq == 0)
        #expect(birth.metrics.map(\.name) == ["bdSeq", SparkplugEncoding.rebirthMetric] && birth.metrics[0].longValue == 7)
        let death = try decode(SparkplugEncoding.nodeDeath(bdSeq: 7, at: 11))
        #expect(death.metrics.map(\.name) == ["bdSeq"] && death.metrics[0].longValue == 7 && !death.hasSeq)
    }

    @Test func aDeviceBirthNamesEveryMetricWithItsDatatypeAndUnit() throws {
        let metrics = [
            SparkplugEncoding.BirthMetric(name: "v", alias: 1, type: .float, unit: "V", value: .double(230.5), reason: ""),
            SparkplugEncoding.BirthMetric(name: "s", alias: 2, type: .string, unit: nil, value: nil, reason: "not read yet"),
        ]
        let birth = try decode(SparkplugEncoding.deviceBirth(at: 20, metricsAt: 15, metrics: metrics, sequenceAlias: 3, sequence: 8))
        #expect(birth.timestamp == 20 && birth.metrics.allSatisfy { $0.timestamp == 15 })
        #expect(birth.metrics.map(\.name) == ["v", "s", SparkplugEncoding.sequenceMetric])
        #expect(birth.metrics.map(\.datatype) == [9, 12, 8])
        #expect(birth.metrics[0].floatValue == 230.5 && birth.metrics[0].properties.keys == ["engUnit"])
        #expect(birth.metrics[1].isNull && birth.metrics[1].properties.values[1].stringValue == "not read yet")
        #expect(birth.metrics[2].longValue == 8)
    }

    @Test func onlyARebirthCommandIsOne() throws {
        var metric = SparkplugB_Payload.Metric()
        metric.name = SparkplugEncoding.rebirthMetric
        metric.booleanValue = true
        var command = SparkplugB_Payload()
        command.metrics = [metric]
        #expect(SparkplugEncoding.isRebirthCommand(try command.serializedBytes()))
        command.metrics[0].booleanValue = false
        #expect(!SparkplugEncoding.isRebirthCommand(try command.serializedBytes()))
        #expect(!SparkplugEncoding.isRebirthCommand([0xFF, 0xFF]))
    }
}
