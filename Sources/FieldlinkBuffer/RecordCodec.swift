import FieldlinkCore

/// How one ring record looks on disk, little-endian:
///
///     u32 payload length | u32 CRC-32C of (id ‖ payload) | u64 id | payload
///     payload = u8 version | u8 flags (qos: bits 0-1, retain: bit 2) | i64 appended-at (Unix ms)
///             | u16 topic length | topic | u8 content-type length | content type | message bytes
///
/// The checksum covers the id, so a record copied to the wrong place, a zero-filled block or a torn
/// write never passes for a good record.
public enum RecordCodec {
    public static let headerSize = 16
    /// Larger lengths are garbage, not records (MQTT's own limit is 256 MiB; ours is far below).
    public static let maxPayload = 16 << 20
    static let version: UInt8 = 1

    public struct Decoded: Equatable, Sendable {
        public var record: RingRecord
        /// When it entered the ring, Unix milliseconds (for `max_age`).
        public var appendedAt: Int64
        /// Bytes on disk, header included.
        public var size: Int
    }

    public enum ParseResult: Equatable, Sendable {
        case record(Decoded)
        /// The bytes end inside a record: a torn tail, or simply the end.
        case incomplete
        /// The bytes at this position are not a valid record.
        case corrupt
    }

    public static func frame(id: UInt64, message: OutboundMessage, appendedAt: Int64) -> [UInt8] {
        let topic = Array(message.topic.utf8)
        let contentType = Array((message.contentType ?? "").utf8.prefix(255))
        var payload = [UInt8]()
        payload.reserveCapacity(14 + topic.count + contentType.count + message.payload.count)
        payload.append(version)
        payload.append(UInt8(message.qos & 0b11) | (message.retain ? 0b100 : 0))
        appendLittleEndian(UInt64(bitPattern: appendedAt), to: &payload)
        appendLittleEndian(UInt16(topic.count), to: &payload)
        payload.append(contentsOf: topic)
        payload.append(UInt8(contentType.count))
        payload.append(contentsOf: contentType)
        payload.append(contentsOf: message.payload)

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

    /// Parses the record that starts at `offset` in `bytes`.
    public static func parse(_ bytes: [UInt8], at offset: Int) -> ParseResult {
        guard bytes.count - offset >= headerSize else { return .incomplete }
        let length = Int(readLittleEndian(UInt32.self, bytes, offset))
        guard length <= maxPayload, length >= 13 else { return .corrupt }
        guard bytes.count - offset >= headerSize + length else { return .incomplete }
        let crc = readLittleEndian(UInt32.self, bytes, offset + 4)
        let body = bytes[(offset + 8)..<(offset + headerSize + length)]
        guard CRC32C.checksum(body) == crc else { return .corrupt }
        let id = readLittleEndian(UInt64.self, bytes, offset + 8)
        var cursor = offset + headerSize
        guard bytes[cursor] == version else { return .corrupt }
        let flags = bytes[cursor + 1]
        let appendedAt = Int64(bitPattern: readLittleEndian(UInt64.self, bytes, cursor + 2))
        let topicLength = Int(readLittleEndian(UInt16.self, bytes, cursor + 10))
        cursor += 12
        let end = offset + headerSize + length
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
        return .record(Decoded(record: RingRecord(id: id, message: message), appendedAt: appendedAt, size: headerSize + length))
    }

    /// After a corrupt record: the offset of the next record that checks out, and it, or nil.
    /// Ids only grow, so a candidate must have an id above `after` (and not absurdly far above).
    public static func resynchronise(_ bytes: [UInt8], from offset: Int, after id: UInt64) -> (offset: Int, decoded: Decoded)? {
        var position = offset
        while position + headerSize <= bytes.count {
            let candidate = readLittleEndian(UInt64.self, bytes, position + 8)
            if candidate > id, candidate - id < 1 << 32, case .record(let decoded) = parse(bytes, at: position) {
                return (position, decoded)
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
