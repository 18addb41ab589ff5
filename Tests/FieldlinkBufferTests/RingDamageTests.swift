import FieldlinkCore
import Foundation
import Logging
import Testing

@testable import FieldlinkBuffer

#if canImport(Glibc)
import Glibc
#endif

/// A ring folder damaged by hand or by a hostile environment: the ring notices, says so, counts
/// what was lost, and keeps delivering the rest.
@Suite struct RingDamageTests {
    static func message(_ n: Int) -> OutboundMessage {
        OutboundMessage(topic: "fieldlink/gw/dev", payload: Array(#"{"n":\#(n),"pad":"\#(String(repeating: "x", count: 1_000))"}"#.utf8),
                        qos: 1, retain: false)
    }

    /// 400 records of ~1 KB while the broker is away: about six 64 KiB segments.
    static func filledRing(_ directory: String) throws {
        let ring = try DiskRing(settings: DiskRingTests.settings(directory, maxBytes: 2 << 20), logger: Logger(label: "test"))
        for n in 0..<400 { ring.append(message(n)) }
        ring.close()
    }

    static func segments(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    @Test(.timeLimit(.minutes(1))) func aDeletedMiddleSegmentIsNoticedCountedAndTheRestDelivered() throws {
        let directory = DiskRingTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.filledRing(directory)
        let names = Self.segments(directory)
        try #require(names.count >= 4, "\(names)")
        let victim = "\(directory)/\(names[2])"
        let inVictim = SegmentLog.scan(Array(try Data(contentsOf: URL(fileURLWithPath: victim))), after: 0).records.count
        try FileManager.default.removeItem(atPath: victim)

        let seen = try RingInspection(directory: directory)
        #expect(seen.missingSeen == UInt64(inVictim), "\(seen.report())")
        let ring = try DiskRing(settings: DiskRingTests.settings(directory, maxBytes: 2 << 20), logger: Logger(label: "test"))
        #expect(ring.counters.missing == UInt64(inVictim))
        let delivered = DiskRingTests.drain(ring)
        #expect(delivered.count == 400 - inVictim)
        ring.close()
        // Counted once: a second start finds nothing new.
        let again = try DiskRing(settings: DiskRingTests.settings(directory, maxBytes: 2 << 20), logger: Logger(label: "test"))
        #expect(again.counters.missing == UInt64(inVictim))
        again.close()
        let report = try RingInspection(directory: directory).report()
        #expect(report.contains("missing (segments that vanished): \(inVictim) record(s)"), "\(report)")
    }

    /// A directory and a FIFO where segments go: opening never blocks, both are moved aside with an
    /// error, and every real record is delivered.
    @Test(.timeLimit(.minutes(1))) func aDirectoryOrFIFOInPlaceOfASegmentIsQuarantined() throws {
        let directory = DiskRingTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.filledRing(directory)
        let fifo = "\(directory)/00000000000099999998.seg", folder = "\(directory)/00000000000099999999.seg"
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let inspection = try RingInspection(directory: directory)
        #expect(inspection.notSegments.count == 2, "\(inspection.report())")

        let ring = try DiskRing(settings: DiskRingTests.settings(directory, maxBytes: 2 << 20), logger: Logger(label: "test"))
        #expect(DiskRingTests.drain(ring).count == 400)
        ring.append(Self.message(400))  // new readings go on too
        #expect(DiskRingTests.drain(ring).map { String(decoding: $0.message.payload.prefix(10), as: UTF8.self) } == [#"{"n":400,""#])
        ring.close()
        #expect(FileManager.default.fileExists(atPath: fifo + ".quarantined"))
        #expect(FileManager.default.fileExists(atPath: folder + ".quarantined"))
        #expect(!FileManager.default.fileExists(atPath: fifo) && !FileManager.default.fileExists(atPath: folder))
    }

    @Test func openingAFIFONeverBlocks() throws {
        let path = NSTemporaryDirectory() + "fifo-\(UUID().uuidString.prefix(8))"
        defer { unlink(path) }
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: FileError.self) { try PosixFile(path: path, mode: .readOnly) }
        #expect(throws: FileError.self) { try PosixFile(path: NSTemporaryDirectory(), mode: .readOnly) }
    }
}
