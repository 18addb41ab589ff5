import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The on-disk part of the ring: append-only segment files in one folder, each named by the id of
/// its first record (`00000000000000001234.seg`), deleted whole once every record in it is acknowledged.
///
/// Not thread-safe: the `DiskRing` that owns it serialises every call.
final class SegmentLog {
    struct Segment {
        var firstID: UInt64
        var path: String
        var bytes: Int
        /// Newest append, Unix ms (file mtime for segments found at startup), for `max_age`.
        var newestAppend: Int64
        /// The newest record's time stamp, for `max_age` by elapsed time; nil for segments found at
        /// startup until their records are read (`DiskRing.newestTime`).
        var newestTime: TimeStamp?
    }

    /// What startup recovery found and repaired.
    struct Recovery: Equatable {
        var truncatedBytes = 0
        var corruptRecords = 0
        /// Entries that could not be read as segments (a directory, a FIFO, unreadable): moved aside.
        var quarantined: [String] = []
    }

    let directory: String
    let segmentLimit: Int
    private(set) var segments: [Segment] = []
    /// The highest id ever written (this run or recovered); ids on disk never exceed it.
    private(set) var lastID: UInt64?
    private var writer: PosixFile?
    /// The last segment's topic table: each topic is defined once per segment, then referred to by index.
    private var activeTopics: [String: UInt16] = [:]
    /// Bytes appended since the last `sync()`.
    private(set) var unsynced = 0
    private(set) var recovery = Recovery()

    static let suffix = ".seg"

    init(directory: String, segmentLimit: Int) throws(FileError) {
        self.directory = directory
        self.segmentLimit = segmentLimit
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError(path: directory, operation: "mkdir", errno: FileAccess.errno(of: error).rawValue)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(Self.suffix) {
            guard let first = UInt64(name.dropLast(Self.suffix.count)) else { continue }
            let path = "\(directory)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                quarantine(path)  // never opened: a FIFO would block, a directory cannot be read
                continue
            }
            let modified = Int64(info.st_mtim.tv_sec) * 1_000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
            segments.append(Segment(firstID: first, path: path, bytes: Int(info.st_size), newestAppend: modified))
        }
        segments.sort { $0.firstID < $1.firstID }
        try recoverTail()
    }

    /// What reading a segment found at startup told about its newest record.
    func remember(newestTime: TimeStamp, ofSegmentAt index: Int) {
        segments[index].newestTime = newestTime
    }

    var totalBytes: Int { segments.reduce(0) { $0 + $1.bytes } }
    var isEmpty: Bool { segments.isEmpty }

    /// Scans the last segment, cuts a torn or corrupt tail, and learns the last id on disk.
    /// A corrupt record followed by good ones is skipped (counted); only an unreadable tail is cut.
    private func recoverTail() throws(FileError) {
        while let last = segments.last {
            let bytes: [UInt8]
            do {
                bytes = try PosixFile(path: last.path, mode: .readOnly).read(at: 0, count: last.bytes)
            } catch {
                quarantine(last.path)
                segments.removeLast()
                continue
            }
            let scan = Self.scan(bytes, after: last.firstID &- 1)
            recovery.corruptRecords += scan.corrupt
            if scan.validEnd < bytes.count {
                recovery.truncatedBytes += bytes.count - scan.validEnd
                let file = try PosixFile(path: last.path, mode: .append)
                try file.truncate(to: scan.validEnd)
                try file.sync()
                segments[segments.count - 1].bytes = scan.validEnd
            }
            if let id = scan.lastID {
                lastID = id
                activeTopics = Dictionary(scan.topics.map { ($0.value, $0.key) }) { first, _ in first }
                return
            }
            // Nothing valid in it at all: remove it and look at the one before.
            try PosixFile.remove(last.path)
            segments.removeLast()
        }
    }

    /// Walks records from the start of `bytes`: the end of the last good record, its id, how many
    /// corrupt stretches were skipped on the way, the records, and the segment's topic table.
    static func scan(_ bytes: [UInt8], after previous: UInt64)
        -> (validEnd: Int, lastID: UInt64?, corrupt: Int, records: [RecordCodec.Decoded], topics: [UInt16: String]) {
        var offset = 0
        var validEnd = 0
        var lastID: UInt64?
        var corrupt = 0
        var records: [RecordCodec.Decoded] = []
        var topics: [UInt16: String] = [:]
        while offset < bytes.count {
            var result = RecordCodec.parse(bytes, at: offset, topics: topics)
            if result == .incomplete || result == .corrupt {
                guard let (next, found) = RecordCodec.resynchronise(bytes, from: offset + 1, after: lastID ?? previous, topics: topics) else {
                    return (validEnd, lastID, corrupt, records, topics)
                }
                corrupt += 1
                offset = next
                result = found
            }
            switch result {
            case .record(let decoded):
                records.append(decoded)
                lastID = decoded.record.id
                offset += decoded.size
            case .definition(let index, let topic, let size):
                topics[index] = topic
                offset += size
            case .incomplete, .corrupt:
                break
            }
            validEnd = offset
        }
        return (validEnd, lastID, corrupt, records, topics)
    }

    /// Bytes `record` will take on disk at most (for the size limit, before it is framed).
    static func estimatedSize(of message: OutboundMessage) -> Int {
        2 * RecordCodec.headerSize + 32 + 2 * message.topic.utf8.count + message.payload.count
    }

    /// Appends one record, starting a new segment when the current one is full; a topic new to the
    /// segment gets its definition first (both in one write).
    func append(_ record: RingRecord, appendedAt: Int64) throws(FileError) {
        let estimate = Self.estimatedSize(of: record.message)
        if segments.isEmpty || segments[segments.count - 1].bytes + estimate > segmentLimit && segments[segments.count - 1].bytes > 0 {
            try startSegment(firstID: record.id)
        }
        if writer == nil {
            writer = try PosixFile(path: segments[segments.count - 1].path, mode: .append)
        }
        var bytes: [UInt8] = []
        var newTopic: (String, UInt16)?
        var index = activeTopics[record.message.topic]
        if index == nil, activeTopics.count < Int(UInt16.max) {
            let next = UInt16(activeTopics.count)
            bytes = RecordCodec.frameDefinition(id: record.id, index: next, topic: record.message.topic)
            newTopic = (record.message.topic, next)
            index = next
        }
        bytes += RecordCodec.frame(id: record.id, message: record.message, appendedAt: appendedAt, topicIndex: index)
        try writer!.append(bytes, currentSize: segments[segments.count - 1].bytes)
        if let (topic, next) = newTopic { activeTopics[topic] = next }
        segments[segments.count - 1].bytes += bytes.count
        segments[segments.count - 1].newestAppend = appendedAt
        segments[segments.count - 1].newestTime = record.message.time
        unsynced += bytes.count
        lastID = record.id
    }

    /// `DIR/00000000000000001234.seg`: twenty digits, so names sort as the ids do.
    static func path(directory: String, firstID: UInt64) -> String {
        let digits = String(firstID)
        return "\(directory)/\(String(repeating: "0", count: max(0, 20 - digits.count)))\(digits)\(suffix)"
    }

    private func startSegment(firstID: UInt64) throws(FileError) {
        if unsynced > 0 { try sync() }
        writer = nil
        activeTopics = [:]
        let path = Self.path(directory: directory, firstID: firstID)
        let file = try PosixFile(path: path, mode: .append)
        // The link to the segment before: a vanished middle segment is then noticed at the next start.
        let link = RecordCodec.frameDefinition(id: firstID, index: RecordCodec.linkIndex, topic: segments.last.map { "\($0.firstID)" } ?? "")
        try file.append(link, currentSize: 0)
        writer = file
        segments.append(Segment(firstID: firstID, path: path, bytes: link.count, newestAppend: 0))
        try PosixFile.syncDirectory(directory)
    }

    /// Moves an entry that cannot be a segment aside (`NAME.quarantined`), so the ring goes on with the rest.
    private func quarantine(_ path: String) {
        let target = path + ".quarantined"
        if rename(path, target) != 0 { _ = unlink(path) }
        recovery.quarantined.append(path)
    }

    /// The first id of the segment written before `segment`, from its link; nil for the first ever,
    /// or a segment from before links (or one that cannot be read).
    static func previousFirstID(of segment: Segment) -> UInt64? {
        guard let bytes = try? PosixFile(path: segment.path, mode: .readOnly).read(at: 0, count: min(segment.bytes, 64)),
              case .definition(RecordCodec.linkIndex, let text, _) = RecordCodec.parse(bytes, at: 0) else { return nil }
        return UInt64(text)
    }

    /// Records lost with segments that vanished (deleted by hand, a file system repair): per gap,
    /// the ids that were in them and are above `watermark`. An upper bound, since ids acknowledged
    /// before a spill never reach the disk.
    func vanishedRanges(above watermark: UInt64) -> [ClosedRange<UInt64>] {
        Self.vanishedRanges(in: segments, above: watermark)
    }

    static func vanishedRanges(in segments: [Segment], above watermark: UInt64) -> [ClosedRange<UInt64>] {
        var ranges: [ClosedRange<UInt64>] = []
        for (index, segment) in segments.enumerated() {
            guard let previous = previousFirstID(of: segment), segment.firstID > 0 else { continue }
            let lower: UInt64
            if index == 0 {
                lower = previous  // the segment before the oldest is gone: fine if it was all acknowledged
            } else if previous != segments[index - 1].firstID {
                let before = segments[index - 1]
                let bytes = (try? PosixFile(path: before.path, mode: .readOnly).read(at: 0, count: before.bytes)) ?? []
                lower = (Self.scan(bytes, after: before.firstID &- 1).lastID ?? before.firstID) + 1
            } else {
                continue
            }
            let from = max(lower, watermark + 1)
            if from <= segment.firstID - 1 { ranges.append(from...(segment.firstID - 1)) }
        }
        return ranges
    }

    /// Group commit: one `fdatasync` for everything appended since the last.
    func sync() throws(FileError) {
        guard unsynced > 0, let writer else { return }
        try writer.sync()
        unsynced = 0
    }

    /// Deletes the segments whose every record has an id at or below `watermark`.
    func removeSegments(through watermark: UInt64) throws(FileError) {
        while !segments.isEmpty {
            let lastInSegment = segments.count > 1 ? segments[1].firstID - 1 : (lastID ?? 0)
            guard lastInSegment <= watermark else { return }
            try removeOldest()
        }
    }

    /// Drops the oldest segment; returns the records in it with an id above `watermark` (lost data).
    @discardableResult
    func dropOldest(above watermark: UInt64) throws(FileError) -> (records: Int, lastID: UInt64) {
        guard let first = segments.first else { return (0, watermark) }
        let bytes = try PosixFile(path: first.path, mode: .readOnly).read(at: 0, count: first.bytes)
        let scan = Self.scan(bytes, after: first.firstID &- 1)
        let upper = segments.count > 1 ? segments[1].firstID - 1 : (lastID ?? first.firstID)
        try removeOldest()
        return (scan.records.filter { $0.record.id > watermark }.count, upper)
    }

    private func removeOldest() throws(FileError) {
        let first = segments.removeFirst()
        // A segment of the same name may be started again later: never read it through a stale cursor.
        if cursor?.firstID == first.firstID { cursor = nil }
        if segments.isEmpty {
            writer = nil
            unsynced = 0
            activeTopics = [:]
        }
        try PosixFile.remove(first.path)
    }

    /// Where sequential reading stopped: the segment's bytes (it is small) and the next offset in them.
    private struct ReadCursor {
        var firstID: UInt64
        var bytes: [UInt8]
        var offset: Int
        var lastID: UInt64
        var topics: [UInt16: String] = [:]
    }

    private var cursor: ReadCursor?

    /// Up to `limit` records with ids at or above `from`, in order, and how many corrupt stretches were skipped.
    /// Continues where the previous read stopped when it can, so draining a backlog reads each byte once.
    func read(from id: UInt64, limit: Int) throws(FileError) -> (records: [RingRecord], corrupt: Int) {
        var records: [RingRecord] = []
        var corrupt = 0
        // A cursor already past `id`, or in a deleted segment, cannot be used: start again where `id` is.
        if let current = cursor, current.lastID >= id || !segments.contains(where: { $0.firstID == current.firstID }) {
            cursor = nil
        }
        if cursor == nil {
            guard let segment = segments.last(where: { $0.firstID <= id }) ?? segments.first else { return ([], 0) }
            cursor = try load(segment)
        }
        while records.count < limit, var current = cursor,
              let index = segments.firstIndex(where: { $0.firstID == current.firstID }) {
            let isActive = index == segments.count - 1
            if segments[index].bytes > current.bytes.count {
                // The active segment grew since it was read.
                let file = try PosixFile(path: segments[index].path, mode: .readOnly)
                current.bytes += try file.read(at: current.bytes.count, count: segments[index].bytes - current.bytes.count)
            }
            parsing: while records.count < limit, current.offset < current.bytes.count {
                switch RecordCodec.parse(current.bytes, at: current.offset, topics: current.topics) {
                case .record(let decoded):
                    current.offset += decoded.size
                    current.lastID = decoded.record.id
                    if decoded.record.id >= id { records.append(decoded.record) }
                case .definition(let index, let topic, let size):
                    current.topics[index] = topic
                    current.offset += size
                case .incomplete where isActive:
                    break parsing  // an append still arriving
                case .incomplete, .corrupt:
                    corrupt += 1
                    current.offset = RecordCodec.resynchronise(current.bytes, from: current.offset + 1, after: current.lastID,
                                                               topics: current.topics)?.offset ?? current.bytes.count
                }
            }
            cursor = current
            guard records.count < limit, !isActive, current.offset >= current.bytes.count else { break }
            cursor = try load(segments[index + 1])
        }
        return (records, corrupt)
    }

    private func load(_ segment: Segment) throws(FileError) -> ReadCursor {
        let bytes = try PosixFile(path: segment.path, mode: .readOnly).read(at: 0, count: segment.bytes)
        return ReadCursor(firstID: segment.firstID, bytes: bytes, offset: 0, lastID: segment.firstID &- 1)
    }
}
