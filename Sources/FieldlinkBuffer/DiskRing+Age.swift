import FieldlinkCore

extension DiskRing {
    /// The oldest segment's newest record time, for `max_age`. A segment found at startup is read
    /// once, when it first comes up here: its records' stamps say which boot they come from, where
    /// the file's mtime is only a wall time that may have been wrong.
    func newestTime(ofOldestSegment state: inout State) -> TimeStamp {
        guard let segment = state.log.segments.first else { return settings.clock.now() }
        if let known = segment.newestTime { return known }
        var newest = TimeStamp.legacy(wall: segment.newestAppend)
        if let bytes = try? PosixFile(path: segment.path, mode: .readOnly).read(at: 0, count: segment.bytes),
           let last = SegmentLog.scan(bytes, after: segment.firstID &- 1).records.last {
            // Records written before stamps existed carry only the wall time the old versions trusted.
            newest = last.record.message.time ?? .legacy(wall: last.appendedAt)
        }
        state.log.remember(newestTime: newest, ofSegmentAt: 0)
        return newest
    }
}
