import FieldlinkCore

/// Turns a reading into the bytes of one MQTT message.
public protocol PayloadEncoder: Sendable {
    /// MIME type of the payload (MQTT 5 content type).
    var contentType: String { get }
    func encode(_ reading: Reading) -> [UInt8]
    /// Several polls of one device, each keeping its own ts and seq, in one message.
    func encode(batch readings: [Reading]) -> [UInt8]
    /// At most what `reading` adds to a batch, so a batch's `max_bytes` holds; no side effects.
    func batchSize(of reading: Reading) -> Int
}

extension PayloadEncoder {
    public func batchSize(of reading: Reading) -> Int { encode(reading).count + 1 }
}

/// `{"device":"meter1","ts":1764071234567,"seq":42,"values":{"voltage":230.1},"errors":{"power":"timeout"}}`
///
/// A ts from a clock not known to be right is followed by `"ts_quality":"unsynced"` (see `TimeConfig`).
///
/// Written by hand rather than through `JSONEncoder`: key order is fixed (device, ts, seq, values,
/// errors), doubles use the shortest text that reads back to the same value, and it costs
/// one allocation per message on the hot path.
public struct JSONPayloadEncoder: PayloadEncoder {
    public init() {}

    public var contentType: String { "application/json" }

    /// An array of the single messages.
    public func encode(batch readings: [Reading]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, reading) in readings.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += encode(reading)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    public func encode(_ reading: Reading) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(64 + 32 * (reading.values.count + reading.errors.count))
        out.append(contentsOf: #"{"device":"#.utf8)
        Self.appendString(reading.device, to: &out)
        out.append(contentsOf: #","ts":"#.utf8)
        out.append(contentsOf: String(reading.timestamp).utf8)
        if reading.hasUnsyncedTime { out.append(contentsOf: #","ts_quality":"unsynced""#.utf8) }
        out.append(contentsOf: #","seq":"#.utf8)
        out.append(contentsOf: String(reading.sequence).utf8)
        out.append(contentsOf: #","values":{"#.utf8)
        for (index, entry) in reading.values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendString(entry.name, to: &out)
            out.append(UInt8(ascii: ":"))
            Self.appendValue(entry.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        if !reading.errors.isEmpty {
            out.append(contentsOf: #","errors":{"#.utf8)
            for (index, entry) in reading.errors.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.appendString(entry.name, to: &out)
                out.append(UInt8(ascii: ":"))
                Self.appendString(entry.reason, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `{"device":"meter1","state":"failing","since":…,"last_success":…,"failed_polls":3,"error":"no response (timeout)"}`,
    /// plus the counters a driver keeps (`consecutive_failures`, `timeouts`, `crc_errors`, `exception`, `backed_off_since`).
    public func encode(health: DeviceHealth) -> [UInt8] {
        var out = [UInt8]()
        out.append(contentsOf: #"{"device":"#.utf8)
        Self.appendString(health.device, to: &out)
        out.append(contentsOf: #","state":"#.utf8)
        Self.appendString(health.ok ? "ok" : "failing", to: &out)
        out.append(contentsOf: #","since":\#(health.since),"last_success":"#.utf8)
        out.append(contentsOf: (health.lastSuccess.map(String.init) ?? "null").utf8)
        out.append(contentsOf: #","failed_polls":\#(health.failedPolls)"#.utf8)
        if let error = health.error {
            out.append(contentsOf: #","error":"#.utf8)
            Self.appendString(error, to: &out)
        }
        let counters: [(String, Int64?)] = [
            ("consecutive_failures", health.consecutiveFailures.map { Int64($0) }), ("timeouts", health.timeouts.map { Int64($0) }),
            ("crc_errors", health.crcErrors.map { Int64($0) }), ("exception", health.exceptionCode.map { Int64($0) }),
            ("backed_off_since", health.backedOffSince),
            ("commands_refused", health.commandsRefused.map { Int64($0) }), ("commands_failed", health.commandsFailed.map { Int64($0) }),
        ]
        for case let (key, value?) in counters {
            out.append(contentsOf: ",\"\(key)\":\(value)".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// What a JSON or CBOR device's points are, whose messages carry names and values but not units;
    /// published retained on `{device topic}/meta` at start and on reload:
    /// `{"device":"meter1","points":{"voltage":{"unit":"V","type":"float32"},"state":{"type":"uint16"}}}`.
    /// `type` is what is published: a scaled point is a float64.
    public func encode(description device: DeviceConfig) -> [UInt8] {
        var out = [UInt8]()
        out.append(contentsOf: #"{"device":"#.utf8)
        Self.appendString(device.name, to: &out)
        out.append(contentsOf: #","points":{"#.utf8)
        for (index, point) in device.points.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendString(point.name, to: &out)
            var fields: [String] = []
            if let unit = point.unit {
                var text = [UInt8]()
                Self.appendString(unit, to: &text)
                fields.append(#""unit":"# + String(decoding: text, as: UTF8.self))
            }
            let kind: ValueKind? = point.labels != nil ? .string : point.transform.isIdentity ? point.options.valueKind : .float64
            if let kind { fields.append(#""type":"\#(kind.typeName)""#) }
            out.append(contentsOf: (":{" + fields.joined(separator: ",") + "}").utf8)
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }

    static func appendValue(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .bool(let bool): out.append(contentsOf: (bool ? "true" : "false").utf8)
        case .int(let int): out.append(contentsOf: String(int).utf8)
        case .uint(let uint): out.append(contentsOf: String(uint).utf8)
        case .double(let double):
            // JSON has no NaN or infinity; drivers report those as point errors, this is the last guard.
            out.append(contentsOf: (double.isFinite ? double.description : "null").utf8)
        case .string(let string): appendString(string, to: &out)
        }
    }

    /// RFC 8259 section 7 string escaping.
    static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension ValueKind {
    /// The name a config uses for it (`int16`, `float32`, ...).
    var typeName: String {
        switch self {
        case .bool: "bool"
        case .int(let bits): "int\(bits)"
        case .uint(let bits): "uint\(bits)"
        case .float32: "float32"
        case .float64: "float64"
        case .string: "string"
        }
    }
}
