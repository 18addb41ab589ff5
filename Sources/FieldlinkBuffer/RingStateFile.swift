/// What the ring persists besides records: how far the broker has acknowledged, and what was lost.
public struct RingCounters: Sendable, Equatable {
    public var watermark: UInt64 = 0
    public var dropped: UInt64 = 0
    public var corrupt: UInt64 = 0
    public var truncatedBytes: UInt64 = 0
    public init() {}
}

/// `{buffer}/state`: the counters, checksummed, replaced atomically.
enum RingStateFile {
    static let name = "state"

    static func read(directory: String) -> RingCounters? {
        guard let file = try? PosixFile(path: "\(directory)/\(name)", mode: .readOnly),
              let bytes = try? file.read(at: 0, count: 36), bytes.count == 36,
              CRC32C.checksum(bytes[0..<32]) == RecordCodec.readLittleEndian(UInt32.self, bytes, 32) else { return nil }
        var counters = RingCounters()
        counters.watermark = RecordCodec.readLittleEndian(UInt64.self, bytes, 0)
        counters.dropped = RecordCodec.readLittleEndian(UInt64.self, bytes, 8)
        counters.corrupt = RecordCodec.readLittleEndian(UInt64.self, bytes, 16)
        counters.truncatedBytes = RecordCodec.readLittleEndian(UInt64.self, bytes, 24)
        return counters
    }

    static func write(_ counters: RingCounters, directory: String) throws(FileError) {
        var bytes: [UInt8] = []
        for value in [counters.watermark, counters.dropped, counters.corrupt, counters.truncatedBytes] {
            RecordCodec.appendLittleEndian(value, to: &bytes)
        }
        RecordCodec.appendLittleEndian(CRC32C.checksum(bytes), to: &bytes)
        try PosixFile.replace("\(directory)/\(name)", with: bytes, directory: directory)
    }
}
