import FieldlinkCore
import Foundation
import Testing

@testable import FieldlinkBuffer

/// Recovery from what crashes, power cuts and bad SD cards leave behind.
@Suite struct SegmentLogTests {
    static func message(_ id: UInt64) -> OutboundMessage {
        OutboundMessage(topic: "t/\(id % 3)", payload: Array("payload \(id)".utf8), qos: 1, retain: false,
                        contentType: id % 2 == 0 ? "application/json" : "x/custom")
    }

    /// A log holding ids 1...count in segments of about `segmentLimit` bytes.
    static func makeLog(_ count: UInt64, segmentLimit: Int = 1 << 20) throws -> (String, SegmentLog) {
        let directory = NSTemporaryDirectory() + "segmentlog-\(UUID().uuidString.prefix(8))"
        let log = try SegmentLog(directory: directory, segmentLimit: segmentLimit)
        for id in 1...count {
            try log.append(RingRecord(id: id, message: message(id)), appendedAt: Int64(id))
        }
        try log.sync()
        return (directory, log)
    }

    static func ids(_ log: SegmentLog, from: UInt64 = 1) throws -> [UInt64] {
        try log.read(from: from, limit: 100_000).records.map(\.id)
    }

    static func segmentFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted().map { "\(directory)/\($0)" }
    }

    @Test func appendsReadBackInOrderAcrossSegments() throws {
        let (directory, log) = try Self.makeLog(500, segmentLimit: 2_000)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(log.segments.count > 5)
        #expect(try Self.ids(log) == Array(1...500))
        #expect(try Self.ids(log, from: 250) == Array(250...500))
        let page = try log.read(from: 1, limit: 10)
        #expect(page.records.map(\.id) == Array(1...10))
        #expect(page.records[3].message == Self.message(4))
        #expect(try log.read(from: 11, limit: 5).records.map(\.id) == Array(11...15))
    }

    @Test func aTornTailIsCutAndEveryIntactRecordKept() throws {
        let (directory, _) = try Self.makeLog(100)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try Self.segmentFiles(directory)
        let file = try #require(files.last)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        let size = try #require(attributes[.size] as? Int)
        try FileHandle(forWritingTo: URL(fileURLWithPath: file)).truncate(atOffset: UInt64(size - 5))

        let recovered = try SegmentLog(directory: directory, segmentLimit: 1 << 20)
        #expect(recovered.lastID == 99)
        #expect(recovered.recovery.truncatedBytes > 0)
        #expect(try Self.ids(recovered) == Array(1...99))
        // Appending after recovery continues cleanly.
        try recovered.append(RingRecord(id: 100, message: Self.message(100)), appendedAt: 100)
        #expect(try Self.ids(recovered) == Array(1...100))
    }

    @Test func aCorruptRecordInTheMiddleIsSkippedAndCounted() throws {
        let (directory, _) = try Self.makeLog(100)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try Self.segmentFiles(directory)
        let file = try #require(files.last)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        // Record 11: the frame whose id field (offset 8) holds 11; ids past 3 have no topic definition.
        let idBytes: [UInt8] = [11, 0, 0, 0, 0, 0, 0, 0]
        let start = try #require((0..<(bytes.count - 8)).first { Array(bytes[$0..<($0 + 8)]) == idBytes }) - 8
        bytes[start + 20] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let recovered = try SegmentLog(directory: directory, segmentLimit: 1 << 20)
        #expect(recovered.recovery.corruptRecords == 1)
        #expect(recovered.recovery.truncatedBytes == 0)
        let (records, corrupt) = try recovered.read(from: 1, limit: 1_000)
        #expect(corrupt == 1)
        #expect(records.map(\.id) == Array(1...10) + Array(12...100))
    }

    @Test func aZeroFilledBlockLosesOnlyWhatItCovers() throws {
        let (directory, _) = try Self.makeLog(200)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try Self.segmentFiles(directory)
        let file = try #require(files.last)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        for index in 1_000..<1_512 { bytes[index] = 0 }
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let recovered = try SegmentLog(directory: directory, segmentLimit: 1 << 20)
        let ids = try Self.ids(recovered)
        #expect(ids.last == 200)
        #expect(ids == ids.sorted())
        let recordSize = RecordCodec.frame(id: 100, message: Self.message(100), appendedAt: 100, topicIndex: 0).count
        #expect(ids.count >= 200 - 512 / recordSize - 2)
    }

    @Test func aMissingSegmentLeavesTheOthersReadable() throws {
        let (directory, log) = try Self.makeLog(300, segmentLimit: 1_500)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try Self.segmentFiles(directory)
        #expect(files.count >= 3)
        try FileManager.default.removeItem(atPath: files[1])
        _ = log
        let recovered = try SegmentLog(directory: directory, segmentLimit: 1_500)
        let ids = try Self.ids(recovered)
        #expect(ids.first == 1)
        #expect(ids.last == 300)
        #expect(ids == ids.sorted())
        #expect(ids.count < 300)
    }

    @Test func topicsAreDefinedOncePerSegmentAndSurviveRecoveryAndRollover() throws {
        let (directory, log) = try Self.makeLog(300, segmentLimit: 2_000)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(log.segments.count > 3)
        // Every segment reads back whole on its own: its topics are defined inside it.
        let recovered = try SegmentLog(directory: directory, segmentLimit: 2_000)
        let records = try recovered.read(from: 1, limit: 1_000).records
        #expect(records.map(\.id) == Array(1...300))
        #expect(records.allSatisfy { $0.message == Self.message($0.id) })
        // Appending after recovery reuses the recovered table (and still reads back).
        try recovered.append(RingRecord(id: 301, message: Self.message(301)), appendedAt: 301)
        #expect(try recovered.read(from: 301, limit: 10).records.map(\.message) == [Self.message(301)])
    }

    @Test func aSegmentWithNothingValidIsRemoved() throws {
        let (directory, _) = try Self.makeLog(10)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(repeating: 0, count: 4_096).write(to: URL(fileURLWithPath: String(format: "%@/%020llu.seg", directory, UInt64(11))))
        let recovered = try SegmentLog(directory: directory, segmentLimit: 1 << 20)
        #expect(recovered.lastID == 10)
        #expect(recovered.segments.count == 1)
        #expect(try Self.ids(recovered) == Array(1...10))
    }
}
