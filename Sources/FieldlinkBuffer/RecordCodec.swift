import FieldlinkCore

/// How one ring record looks on disk, little-endian:
///
///     u32 payload length | u32 CRC-32C of (id ‖ payload) | u64 id | payload
///
/// Data record (version 2):
///     u8 2 | u8 flags (qos: bits 0-1, retain: bit 2, topic by index: bit 3) | i64 appended-at (Unix ms)
///     | topic: u16 index into the segment's topic table, or u16 length + bytes
///     | u8 content-type code (0 none, 1 JSON, 2 CBOR, 3 text, 4 octet-stream, 5 protobuf; 255: u8 length + bytes)
///     | (flags bit 5) u64 seq | u8 device length | device bytes
///     | (flags bit 6) i64 monotonic ms since boot | u64 boot id (first 64 bits) | u8 1 when the
///       appended-at time came from a synchronised clock (the reading's time stamp; appended-at is its wall time)
///     | message bytes
/// Topic definition (version 2, flags bit 4), written before the first record that uses the index:
///     u8 2 | u8 0x10 | u16 index | topic bytes
/// Segment link: the first entry of every segment is a topic definition with index 0xFFFF whose
/// text is the first id of the segment before it (empty for the first segment ever), so a segment
/// that vanishes from the middle of the ring is noticed.
///
/// A gateway publishes to a handful of topics, so each segment names each topic once and records
/// refer to it by a 2-byte index: 29 bytes of framing per record instead of ~70, which is most of
/// what the SD card is spared. The checksum covers the id, so a record copied to the wrong place,
/// a zero-filled block or a torn write never passes for a good record. Version 1 records (topic
/// and content type spelled out in each) are still read.
public enum RecordCodec {
    public static let headerSize = 16
    /// Larger lengths are garbage, not records (MQTT's own limit is 256 MiB; ours is far below).
    public static let maxPayload = 16 << 20
    static let version: UInt8 = 2
    static let topicByIndex: UInt8 = 0x08
    static let definitionFlag: UInt8 = 0x10
    static let sequenceFlag: UInt8 = 0x20
    static let timeFlag: UInt8 = 0x40
    /// The topic-table index no topic gets: a segment's link to the one before it.
    static let linkIndex = UInt16.max
    static let contentTypes = ["application/json", "application/cbor", "text/plain", "application/octet-stream", "application/x-protobuf"]

    public struct Decoded: Equatable, Sendable {
        public var record: RingRecord
        /// When it entered the ring, Unix milliseconds (for `max_age`).
        public var appendedAt: Int64
        /// Bytes on disk, header included.
        public var size: Int
    }

    public enum ParseResult: Equatable, Sendable {
        case record(Decoded)
        /// A topic-table entry of the segment being read.
        case definition(index: UInt16, topic: String, size: Int)
        /// The bytes end inside a record: a torn tail, or simply the end.
        case incomplete
        /// The bytes at this position are not a valid record (or name a topic the segment never defined).
        case corrupt
    }

    /// A data record; `topicIndex` refers to a definition written earlier in the same segment.
    public static func frame(id: UInt64, message: OutboundMessage, appendedAt: Int64, topicIndex: UInt16? = nil) -> [UInt8] {
        var payload = [UInt8]()
        payload.reserveCapacity(16 + message.payload.count + (topicIndex == nil ? message.topic.utf8.count : 0))
        payload.append(version)
        payload.append(UInt8(message.qos & 0b11) | (message.retain ? 0b100 : 0) | (topicIndex != nil ? topicByIndex : 0)
                       | (message.sequence != nil ? sequenceFlag : 0) | (message.time != nil ? timeFlag : 0))
        appendLittleEndian(UInt64(bitPattern: appendedAt), to: &payload)
        if let topicIndex {
            appendLittleEndian(topicIndex, to: &payload)
        } else {
            let topic = Array(message.topic.utf8)
            appendLittleEndian(UInt16(topic.count), to: &payload)
            payload.append(contentsOf: topic)
        }
        if let contentType = message.contentType {
            if let code = contentTypes.firstIndex(of: contentType) {
                payload.append(UInt8(code + 1))
            } else {
                let bytes = Array(contentType.utf8.prefix(255))
                payload.append(255)
                payload.append(UInt8(bytes.count))
                payload.append(contentsOf: bytes)
            }
        } else {
            payload.append(0)
        }
        if let sequence = message.sequence {
            appendLittleEndian(sequence.number, to: &payload)
            let device = Array(sequence.device.utf8.prefix(255))
            payload.append(UInt8(device.count))
            payload.append(contentsOf: device)
        }
        if let time = message.time {
            appendLittleEndian(UInt64(bitPattern: time.monotonic), to: &payload)
            appendLittleEndian(time.boot, to: &payload)
            payload.append(time.trusted ? 1 : 0)
        }
        payload.append(contentsOf: message.payload)
        return framed(id: id, payload: payload)
    }

    /// A topic-table entry: from here on in this segment, `index` means `topic`.
    public static func frameDefinition(id: UInt64, index: UInt16, topic: String) -> [UInt8] {
        var payload: [UInt8] = [version, definitionFlag]
        appendLittleEndian(index, to: &payload)
        payload.append(contentsOf: topic.utf8)
        return framed(id: id, payload: payload)
    }

    private static func framed(id: UInt64, payload: [UInt8]) -> [UInt8] {
        var idBytes = [UInt8]()
        appendLittleEndian(id, to: &idBytes)
        var out = [UInt8]()
        out.reserveCapacity(headerSize + payload.count)
        appendLittleEndian(UInt32(payload.count), to: &out)
        appendLittleEndian(CRC32C.checksum(payload, continuing: CRC32C.checksum(idBytes)), to: &out)
        out.append(contentsOf: idBytes)
        out.append(contentsOf: payload)
        return out
    }

    /// Parses the record that starts at `offset` in `bytes`; `topics` is the segment's table so far.
    public static func parse(_ bytes: [UInt8], at offset: Int, topics: [UInt16: String] = [:]) -> ParseResult {
        guard bytes.count - offset >= headerSize else { return .incomplete }
        let length = Int(readLittleEndian(UInt32.self, bytes, offset))
        guard length <= maxPayload, length >= 4 else { return .corrupt }
        guard bytes.count - offset >= headerSize + length else { return .incomplete }
        let crc = readLittleEndian(UInt32.self, bytes, offset + 4)
        let end = offset + headerSize + length
        guard CRC32C.checksum(bytes[(offset + 8)..<end]) == crc else { return .corrupt }
        let id = readLittleEndian(UInt64.self, bytes, offset + 8)
        let start = offset + headerSize
        let flags = bytes[start + 1]
        switch bytes[start] {
        case 1:
            return parseVersion1(bytes, start: start, end: end, id: id, flags: flags)
        case version where flags & definitionFlag != 0:
            let index = readLittleEndian(UInt16.self, bytes, start + 2)
            return .definition(index: index, topic: String(decoding: bytes[(start + 4)..<end], as: UTF8.self), size: end - offset)
        case version:
            guard end - start >= 13 else { return .corrupt }
            let appendedAt = Int64(bitPattern: readLittleEndian(UInt64.self, bytes, start + 2))
            var cursor = start + 10
            let topic: String
            if flags & topicByIndex != 0 {
                guard let known = topics[readLittleEndian(UInt16.self, bytes, cursor)] else { return .corrupt }
                topic = known
                cursor += 2
            } else {
                let topicLength = Int(readLittleEndian(UInt16.self, bytes, cursor))
                guard cursor + 2 + topicLength < end else { return .corrupt }
                topic = String(decoding: bytes[(cursor + 2)..<(cursor + 2 + topicLength)], as: UTF8.self)
                cursor += 2 + topicLength
            }
            guard cursor < end else { return .corrupt }
            let code = bytes[cursor]
            cursor += 1
            var contentType: String?
            switch code {
            case 0: contentType = nil
            case 255:
                guard cursor < end, cursor + 1 + Int(bytes[cursor]) <= end else { return .corrupt }
                contentType = String(decoding: bytes[(cursor + 1)..<(cursor + 1 + Int(bytes[cursor]))], as: UTF8.self)
                cursor += 1 + Int(bytes[cursor])
            case 1...UInt8(contentTypes.count): contentType = contentTypes[Int(code) - 1]
            default: return .corrupt
            }
            var sequence: MessageSequence?
            if flags & sequenceFlag != 0 {
                guard cursor + 9 <= end, cursor + 9 + Int(bytes[cursor + 8]) <= end else { return .corrupt }
                let number = readLittleEndian(UInt64.self, bytes, cursor)
                let length = Int(bytes[cursor + 8])
                sequence = MessageSequence(device: String(decoding: bytes[(cursor + 9)..<(cursor + 9 + length)], as: UTF8.self), number: number)
                cursor += 9 + length
            }
            var time: TimeStamp?
            if flags & timeFlag != 0 {
                guard cursor + 17 <= end else { return .corrupt }
                time = TimeStamp(wall: appendedAt, monotonic: Int64(bitPattern: readLittleEndian(UInt64.self, bytes, cursor)),
                                 boot: readLittleEndian(UInt64.self, bytes, cursor + 8), trusted: bytes[cursor + 16] != 0)
                cursor += 17
            }
            let message = OutboundMessage(topic: topic, payload: Array(bytes[cursor..<end]), qos: Int(flags & 0b11),
                                          retain: flags & 0b100 != 0, contentType: contentType, sequence: sequence, time: time)
            return .record(Decoded(record: RingRecord(id: id, message: message), appendedAt: appendedAt, size: end - offset))
        default:
            return .corrupt
        }
    }

    /// Version 1: `u8 1 | u8 flags | i64 appended-at | u16 topic length | topic | u8 content-type length | content type | bytes`.
    private static func parseVersion1(_ bytes: [UInt8], start: Int, end: Int, id: UInt64, flags: UInt8) -> ParseResult {
        guard end - start >= 13 else { return .corrupt }
        let appendedAt = Int64(bitPattern: readLittleEndian(UInt64.self, bytes, start + 2))
        let topicLength = Int(readLittleEndian(UInt16.self, bytes, start + 10))
        var cursor = start + 12
        guard cursor + topicLength + 1 <= end else { return .corrupt }
        let topic = String(decoding: bytes[cursor..<(cursor + topicLength)], as: UTF8.self)
        cursor += topicLength
        let contentTypeLength = Int(bytes[cursor])
        cursor += 1
        guard cursor + contentTypeLength <= end else { return .corrupt }
        let contentType = contentTypeLength == 0 ? nil : String(decoding: bytes[cursor..<(cursor + contentTypeLength)], as: UTF8.self)
        cursor += contentTypeLength
        let message = OutboundMessage(topic: topic, payload: Array(bytes[cursor..<end]), qos: Int(flags & 0b11),
                                      retain: flags & 0b100 != 0, contentType: contentType)
        return .record(Decoded(record: RingRecord(id: id, message: message), appendedAt: appendedAt, size: end - start + headerSize))
    }

    /// After a corrupt record: the offset of the next record or definition that checks out. Ids only
    /// grow (a definition carries the id of the record after it), so a candidate must have an id
    /// above `after`, and not absurdly far above.
    public static func resynchronise(_ bytes: [UInt8], from offset: Int, after id: UInt64,
                                     topics: [UInt16: String] = [:]) -> (offset: Int, result: ParseResult)? {
        var position = offset
        while position + headerSize <= bytes.count {
            let candidate = readLittleEndian(UInt64.self, bytes, position + 8)
            if candidate > id, candidate - id < 1 << 32 {
                let result = parse(bytes, at: position, topics: topics)
                switch result {
                case .record, .definition: return (position, result)
                case .incomplete, .corrupt: break
                }
            }
            position += 1
        }
        return nil
    }

    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        var value = value.littleEndian
        for _ in 0..<MemoryLayout<T>.size {
            out.append(UInt8(truncatingIfNeeded: value))
            value >>= 8
        }
    }

    static func readLittleEndian<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
        var value: T = 0
        for index in (0..<MemoryLayout<T>.size).reversed() {
            value = value << 8 | T(bytes[offset + index])
        }
        return value
    }
}
