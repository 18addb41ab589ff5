#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A read-only look at a ring's folder, safe while the daemon is running (nothing is repaired or
/// locked; a record being appended right now is simply not counted yet).
public struct RingInspection: Sendable {
    public struct Segment: Sendable {
        public var name: String
        public var bytes: Int
        public var records: Int
    }

    public var directory: String
    public var segments: [Segment] = []
    /// Records on disk not yet acknowledged by the broker.
    public var pendingRecords = 0
    public var pendingBytes = 0
    public var oldestPendingAppendedAt: Int64?
    public var counters = RingCounters()
    /// Corrupt stretches found by this inspection (not yet counted by the daemon).
    public var corruptSeen = 0
    /// Records in segments that vanished and the daemon has not counted yet.
    public var missingSeen: UInt64 = 0
    /// Entries named like segments that are not regular files (the daemon moves them aside at start).
    public var notSegments: [String] = []

    public init(directory: String) throws(FileError) {
        self.directory = directory
        counters = RingStateFile.read(directory: directory) ?? RingCounters()
        var logSegments: [SegmentLog.Segment] = []
        defer {
            missingSeen = SegmentLog.vanishedRanges(in: logSegments, above: max(counters.watermark, counters.missingThrough))
                .reduce(0) { $0 + $1.upperBound - $1.lowerBound + 1 }
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(SegmentLog.suffix) }.sorted()
        for name in names {
            guard let first = UInt64(name.dropLast(SegmentLog.suffix.count)) else { continue }
            // Read-only and never blocking: a FIFO or a directory is reported, not opened for long.
            guard let file = try? PosixFile(path: "\(directory)/\(name)", mode: .readOnly) else {
                notSegments.append(name)
                continue
            }
            let bytes = try file.read(at: 0, count: try file.size())
            let scan = SegmentLog.scan(bytes, after: first &- 1)
            corruptSeen += scan.corrupt
            segments.append(Segment(name: name, bytes: bytes.count, records: scan.records.count))
            logSegments.append(SegmentLog.Segment(firstID: first, path: "\(directory)/\(name)", bytes: bytes.count, newestAppend: 0))
            for decoded in scan.records where decoded.record.id > counters.watermark {
                pendingRecords += 1
                pendingBytes += decoded.size
                oldestPendingAppendedAt = oldestPendingAppendedAt ?? decoded.appendedAt
            }
        }
    }

    /// What `fieldlink buffer inspect` prints.
    public func report(now: Date = Date()) -> String {
        var lines = ["buffer \(directory)"]
        let bytesOnDisk = segments.reduce(0) { $0 + $1.bytes }
        lines.append("pending: \(pendingRecords) record(s), \(pendingBytes) byte(s) not yet acknowledged by the broker")
        if let oldest = oldestPendingAppendedAt {
            let age = max(0, Int64(now.timeIntervalSince1970 * 1_000) - oldest)
            lines.append("oldest pending: \(Duration.milliseconds(age).configText) old")
        }
        lines.append("segments: \(segments.count), \(bytesOnDisk) byte(s) on disk")
        for segment in segments {
            lines.append("  \(segment.name): \(segment.bytes) byte(s), \(segment.records) record(s)")
        }
        lines.append("acknowledged through id \(counters.watermark)")
        lines.append("dropped: \(counters.dropped) (size/age limits or a full disk)")
        lines.append("missing (segments that vanished): \(counters.missing + missingSeen) record(s) at most")
        if !notSegments.isEmpty { lines.append("not segment files (moved aside at the next start): \(notSegments.joined(separator: ", "))") }
        lines.append("corrupt records skipped: \(counters.corrupt + UInt64(corruptSeen)); torn bytes cut at recovery: \(counters.truncatedBytes)")
        return lines.joined(separator: "\n") + "\n"
    }
}
