import FieldlinkCore

extension DiskRing {
    /// Dearer than `statistics` (it walks the messages in memory): asked for when someone looks.
    public var occupancy: RingOccupancy {
        state.withLock { state in
            var bytes = state.log.segments.reduce(0) { $0 + $1.bytes }
            for entry in state.memory { bytes += entry.record.message.topic.utf8.count + entry.record.message.payload.count }
            let oldest = state.watermark + 1
            guard oldest < state.nextID else { return RingOccupancy(bytes: bytes, oldestAppendedAt: nil) }
            if let first = state.memory.first, first.record.id <= oldest {
                let held = state.memory.first { $0.record.id >= oldest && !state.acknowledgedAhead.contains($0.record.id) }
                return RingOccupancy(bytes: bytes, oldestAppendedAt: held?.appendedAt)
            }
            let segment = state.log.segments.last { $0.firstID <= oldest }
            return RingOccupancy(bytes: bytes, oldestAppendedAt: segment?.newestAppend ?? state.memory.first?.appendedAt)
        }
    }
}
