import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

extension DiskRing {
    /// Each device's highest `seq` on disk beyond what the state file recorded: the state file is
    /// written at each group commit, so only segments appended to since then (or all, without a
    /// state file) are read.
    static func recoverSequences(_ counters: inout RingCounters, from log: SegmentLog, directory: String, logger: Logger) {
        let statePath = "\(directory)/\(RingStateFile.name)"
        let stateWritten = (try? FileManager.default.attributesOfItem(atPath: statePath)[.modificationDate] as? Date)
            .map { Int64($0.timeIntervalSince1970 * 1_000) }
        // One second of slack for file systems with coarse timestamps.
        let since = stateWritten.map { $0 - 1_000 } ?? Int64.min
        for segment in log.segments where segment.newestAppend >= since {
            guard let bytes = try? PosixFile(path: segment.path, mode: .readOnly).read(at: 0, count: segment.bytes) else { continue }
            for decoded in SegmentLog.scan(bytes, after: segment.firstID &- 1).records {
                guard let sequence = decoded.record.message.sequence else { continue }
                if sequence.number > counters.sequences[sequence.device] ?? 0 { counters.sequences[sequence.device] = sequence.number }
            }
        }
    }

    /// Segments that vanished from the ring (deleted by hand, say): their records are lost. Logged
    /// and counted once (`missing`, shown by `buffer inspect`).
    static func countVanishedSegments(_ counters: inout RingCounters, in log: SegmentLog, logger: Logger) {
        let floor = max(counters.watermark, counters.missingThrough)
        for range in log.vanishedRanges(above: floor) {
            let count = range.upperBound - range.lowerBound + 1
            counters.missing += count
            counters.missingThrough = max(counters.missingThrough, range.upperBound)
            logger.error("ring: segment(s) holding ids \(range.lowerBound)...\(range.upperBound) are missing (deleted?): up to \(count) record(s) lost (\(counters.missing) since the ring was created)")
        }
    }
}
