import FieldlinkCore

/// RFC 8949 CBOR: the JSON message's information in fewer bytes, for uplinks billed by the megabyte.
///
/// A map with small integer keys for the envelope (they are the bulk of a short message's JSON):
///
///     0: device (text)   1: ts (uint, Unix ms)   2: seq (uint)
///     3: values (map: point name -> value)      4: errors (map: point name -> reason; only when there are errors)
///     8: ts_quality ("unsynced": ts from a clock not known to be right; only then)
///
/// Integers stay integers (major type 0/1); floating-point values use the smallest IEEE width
/// (half, single, double) that gives back exactly the same value; booleans and text as usual.
///
/// A batch is a table rather than an array of these maps (see `encode(batch:)`): point names once,
/// decimals as integers with one exponent per column, and ts and seq as differences.
public struct CBORPayloadEncoder: PayloadEncoder {
    public init() {}

    public var contentType: String { "application/cbor" }

    public enum Key: UInt8 {
        case device = 0, ts = 1, seq = 2, values = 3, errors = 4
        /// Batches (see `encode(batch:)`).
        case points = 5, exponents = 6, rows = 7
        /// "unsynced" when the ts came from a clock not known to be right; absent otherwise.
        case tsQuality = 8
    }

    public func encode(_ reading: Reading) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32 + 16 * (reading.values.count + reading.errors.count))
        Self.appendHead(major: 5, (reading.errors.isEmpty ? 4 : 5) + (reading.hasUnsyncedTime ? 1 : 0), to: &out)
        Self.appendHead(major: 0, UInt64(Key.device.rawValue), to: &out)
        Self.appendText(reading.device, to: &out)
        Self.appendHead(major: 0, UInt64(Key.ts.rawValue), to: &out)
        Self.appendInteger(reading.timestamp, to: &out)
        Self.appendHead(major: 0, UInt64(Key.seq.rawValue), to: &out)
        Self.appendHead(major: 0, reading.sequence, to: &out)
        if reading.hasUnsyncedTime { Self.appendUnsyncedQuality(to: &out) }
        Self.appendHead(major: 0, UInt64(Key.values.rawValue), to: &out)
        Self.appendHead(major: 5, UInt64(reading.values.count), to: &out)
        for (name, value) in reading.values {
            Self.appendText(name, to: &out)
            Self.appendValue(value, to: &out)
        }
        if !reading.errors.isEmpty {
            Self.appendHead(major: 0, UInt64(Key.errors.rawValue), to: &out)
            Self.appendHead(major: 5, UInt64(reading.errors.count), to: &out)
            for (name, reason) in reading.errors {
                Self.appendText(name, to: &out)
                Self.appendText(reason, to: &out)
            }
        }
        return out
    }

    /// `8: "unsynced"`.
    static func appendUnsyncedQuality(to out: inout [UInt8]) {
        appendHead(major: 0, UInt64(Key.tsQuality.rawValue), to: &out)
        appendText("unsynced", to: &out)
    }

    /// A data item's head: major type and argument, in the shortest form (RFC 8949 section 3).
    static func appendHead(major: UInt8, _ argument: UInt64, to out: inout [UInt8]) {
        let type = major << 5
        switch argument {
        case 0..<24: out.append(type | UInt8(argument))
        case 24...0xFF: out += [type | 24, UInt8(argument)]
        case 0x100...0xFFFF: out.append(type | 25); appendBigEndian(UInt16(argument), to: &out)
        case 0x1_0000...0xFFFF_FFFF: out.append(type | 26); appendBigEndian(UInt32(argument), to: &out)
        default: out.append(type | 27); appendBigEndian(argument, to: &out)
        }
    }

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value >= 0 {
            appendHead(major: 0, UInt64(value), to: &out)
        } else {
            appendHead(major: 1, UInt64(bitPattern: -1 - value), to: &out)  // -1 - n, no overflow at Int64.min
        }
    }

    static func appendText(_ text: String, to out: inout [UInt8]) {
        let bytes = Array(text.utf8)
        appendHead(major: 3, UInt64(bytes.count), to: &out)
        out += bytes
    }

    static func appendValue(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .bool(let bool): out.append(bool ? 0xF5 : 0xF4)
        case .int(let int): appendInteger(int, to: &out)
        case .uint(let uint): appendHead(major: 0, uint, to: &out)
        case .string(let string): appendText(string, to: &out)
        case .double(let double):
            if let half = Float16(exactly: double) {
                out.append(0xF9)
                appendBigEndian(half.bitPattern, to: &out)
            } else if let single = Float(exactly: double) {
                out.append(0xFA)
                appendBigEndian(single.bitPattern, to: &out)
            } else {
                out.append(0xFB)
                appendBigEndian(double.bitPattern, to: &out)
            }
        }
    }

    static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        for shift in stride(from: T.bitWidth - 8, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }
}
