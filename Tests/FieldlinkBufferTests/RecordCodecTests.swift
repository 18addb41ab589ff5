import FieldlinkCore
import Foundation
import Testing

@testable import FieldlinkBuffer

@Suite struct RecordCodecTests {
    let message = OutboundMessage(topic: "fieldlink/gw/meter1", payload: Array(#"{"seq":1}"#.utf8), qos: 2, retain: true,
                                  contentType: "application/json")

    @Test func crc32cMatchesTheStandardCheckValue() {
        // RFC 3720 / the CRC catalogue: CRC-32C("123456789") = 0xE3069283.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        let long = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        #expect(CRC32C.checksum(long[500...], continuing: CRC32C.checksum(long[..<500])) == CRC32C.checksum(long))
    }

    @Test func framedRecordParsesBackExactly() throws {
        let frame = RecordCodec.frame(id: 42, message: message, appendedAt: 1_764_071_234_567)
        guard case .record(let decoded) = RecordCodec.parse(frame, at: 0) else {
            Issue.record("frame did not parse")
            return
        }
        #expect(decoded.record == RingRecord(id: 42, message: message))
        #expect(decoded.appendedAt == 1_764_071_234_567)
        #expect(decoded.size == frame.count)
    }

    /// The device's seq rides along, so a restart after a crash knows the highest one that reached the disk.
    @Test func sequenceParsesBackWithAndWithoutATopicIndex() throws {
        var tagged = message
        tagged.sequence = MessageSequence(device: "meter1", number: 1_234_567_890_123)
        for index in [nil, UInt16(3)] {
            let frame = RecordCodec.frame(id: 9, message: tagged, appendedAt: 5, topicIndex: index)
            guard case .record(let decoded) = RecordCodec.parse(frame, at: 0, topics: [3: tagged.topic]) else {
                Issue.record("frame did not parse")
                return
            }
            #expect(decoded.record.message == tagged)
        }
    }

    @Test func stateFileKeepsSequencesAndReadsTheOldFormat() throws {
        let directory = NSTemporaryDirectory() + "ring-state-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var counters = RingCounters()
        counters.watermark = 77
        counters.missing = 5
        counters.sequences = ["meter1": 41, "climate": 9]
        try RingStateFile.write(counters, directory: directory)
        #expect(RingStateFile.read(directory: directory) == counters)
        // The 36-byte file of earlier releases: counters, no sequences.
        let path = directory + "/" + RingStateFile.name
        let old = Array(try #require(FileManager.default.contents(atPath: path)).prefix(36))
        try Data(old).write(to: URL(fileURLWithPath: path))
        var expected = RingCounters()
        expected.watermark = 77
        #expect(RingStateFile.read(directory: directory) == expected)
    }

    @Test func everyTruncationIsIncompleteNeverAGoodRecord() {
        let frame = RecordCodec.frame(id: 7, message: message, appendedAt: 1)
        for length in 0..<frame.count {
            #expect(RecordCodec.parse(Array(frame[..<length]), at: 0) == .incomplete || RecordCodec.parse(Array(frame[..<length]), at: 0) == .corrupt)
        }
    }

    @Test(arguments: [0, 3, 4, 8, 15, 16, 20, 40])
    func aFlippedByteIsCorrupt(position: Int) {
        var frame = RecordCodec.frame(id: 7, message: message, appendedAt: 1)
        frame[position] ^= 0x10
        #expect(RecordCodec.parse(frame, at: 0) != .record(RecordCodec.Decoded(record: RingRecord(id: 7, message: message), appendedAt: 1, size: frame.count)))
        if case .record = RecordCodec.parse(frame, at: 0) { Issue.record("corrupted frame accepted") }
    }

    @Test func aTopicByIndexNeedsItsDefinition() throws {
        let definition = RecordCodec.frameDefinition(id: 5, index: 0, topic: message.topic)
        let record = RecordCodec.frame(id: 5, message: message, appendedAt: 9, topicIndex: 0)
        #expect(RecordCodec.parse(definition, at: 0) == .definition(index: 0, topic: message.topic, size: definition.count))
        #expect(RecordCodec.parse(record, at: 0) == .corrupt, "an index the segment never defined")
        guard case .record(let decoded) = RecordCodec.parse(record, at: 0, topics: [0: message.topic]) else {
            Issue.record("indexed record did not parse")
            return
        }
        #expect(decoded.record.message == message)
        // The point of the index: far fewer bytes per record than spelling the topic out.
        #expect(record.count + message.topic.utf8.count <= RecordCodec.frame(id: 5, message: message, appendedAt: 9).count)
        #expect(record.count - message.payload.count == RecordCodec.headerSize + 13)
    }

    @Test func zeroesAreNotARecord() {
        #expect(RecordCodec.parse([UInt8](repeating: 0, count: 64), at: 0) == .corrupt)
    }

    @Test func resynchronisationFindsTheNextGoodRecord() throws {
        let first = RecordCodec.frame(id: 1, message: message, appendedAt: 1)
        let second = RecordCodec.frame(id: 2, message: message, appendedAt: 2)
        var bytes = first + second
        bytes[20] ^= 0xFF
        let found = try #require(RecordCodec.resynchronise(bytes, from: 1, after: 0))
        #expect(found.offset == first.count)
        guard case .record(let decoded) = found.result else {
            Issue.record("resynchronised onto \(found.result)")
            return
        }
        #expect(decoded.record.id == 2)
    }
}
