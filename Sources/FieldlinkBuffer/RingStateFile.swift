/// What the ring persists besides records: how far the broker has acknowledged, what was lost, and
/// each device's highest `seq` that ever entered the ring.
public struct RingCounters: Sendable, Equatable {
    public var watermark: UInt64 = 0
    public var dropped: UInt64 = 0
    public var corrupt: UInt64 = 0
    public var truncatedBytes: UInt64 = 0
    /// Records lost with a segment that vanished from the middle of the ring (deleted by hand, say).
    public var missing: UInt64 = 0
    /// Ids up to here were already looked at for vanished segments (counted once, not at every start).
    public var missingThrough: UInt64 = 0
    /// Device -> highest `seq` appended; kept after its segments are acknowledged and deleted, so a
    /// restart after a crash continues right after it.
    public var sequences: [String: UInt64] = [:]
    public init() {}
}

/// `{buffer}/state`: the counters, checksummed, replaced atomically.
///
///     u64 watermark | u64 dropped | u64 corrupt | u64 truncated bytes | u32 CRC-32C of the 32 bytes
///     then (optional, newer) u64 missing | u64 missing-through id | u32 device count | per device: u8 length, bytes, u64 seq
///     | u32 CRC-32C of that tail
enum RingStateFile {
    static let name = "state"

    static func read(directory: String) -> RingCounters? {
        guard let file = try? PosixFile(path: "\(directory)/\(name)", mode: .readOnly), let size = try? file.size(),
              let bytes = try? file.read(at: 0, count: min(size, 1 << 20)), bytes.count >= 36,
              CRC32C.checksum(bytes[0..<32]) == RecordCodec.readLittleEndian(UInt32.self, bytes, 32) else { return nil }
        var counters = RingCounters()
        counters.watermark = RecordCodec.readLittleEndian(UInt64.self, bytes, 0)
        counters.dropped = RecordCodec.readLittleEndian(UInt64.self, bytes, 8)
        counters.corrupt = RecordCodec.readLittleEndian(UInt64.self, bytes, 16)
        counters.truncatedBytes = RecordCodec.readLittleEndian(UInt64.self, bytes, 24)
        readTail(Array(bytes[36...]), into: &counters)
        return counters
    }

    /// The newer part; a file without it (or with a damaged one) still gives the counters.
    private static func readTail(_ tail: [UInt8], into counters: inout RingCounters) {
        guard tail.count >= 24, CRC32C.checksum(tail[0..<(tail.count - 4)]) == RecordCodec.readLittleEndian(UInt32.self, tail, tail.count - 4) else {
            return
        }
        counters.missing = RecordCodec.readLittleEndian(UInt64.self, tail, 0)
        counters.missingThrough = RecordCodec.readLittleEndian(UInt64.self, tail, 8)
        let count = Int(RecordCodec.readLittleEndian(UInt32.self, tail, 16))
        var offset = 20
        for _ in 0..<count {
            guard offset < tail.count - 4 else { return }
            let length = Int(tail[offset])
            guard offset + 1 + length + 8 <= tail.count - 4 else { return }
            let device = String(decoding: tail[(offset + 1)..<(offset + 1 + length)], as: UTF8.self)
            counters.sequences[device] = RecordCodec.readLittleEndian(UInt64.self, tail, offset + 1 + length)
            offset += 1 + length + 8
        }
    }

    static func write(_ counters: RingCounters, directory: String) throws(FileError) {
        var bytes: [UInt8] = []
        for value in [counters.watermark, counters.dropped, counters.corrupt, counters.truncatedBytes] {
            RecordCodec.appendLittleEndian(value, to: &bytes)
        }
        RecordCodec.appendLittleEndian(CRC32C.checksum(bytes), to: &bytes)
        var tail: [UInt8] = []
        RecordCodec.appendLittleEndian(counters.missing, to: &tail)
        RecordCodec.appendLittleEndian(counters.missingThrough, to: &tail)
        RecordCodec.appendLittleEndian(UInt32(counters.sequences.count), to: &tail)
        for (device, number) in counters.sequences.sorted(by: { $0.key < $1.key }) {
            let name = Array(device.utf8.prefix(255))
            tail.append(UInt8(name.count))
            tail.append(contentsOf: name)
            RecordCodec.appendLittleEndian(number, to: &tail)
        }
        RecordCodec.appendLittleEndian(CRC32C.checksum(tail), to: &tail)
        try PosixFile.replace("\(directory)/\(name)", with: bytes + tail, directory: directory)
    }
}
