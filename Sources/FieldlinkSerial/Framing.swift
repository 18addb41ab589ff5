/// How a byte stream is cut into frames.
public enum Framing: Sendable, Hashable, CustomStringConvertible {
    /// Up to (not including) the delimiter: `\n`, `\r\n`, `\r` or any byte string.
    case line(delimiter: [UInt8])
    /// Exactly `length` bytes each.
    case fixed(length: Int)
    /// Between a start and an end marker (neither included); bytes outside them are noise.
    case delimited(start: [UInt8], end: [UInt8])

    public var description: String {
        switch self {
        case .line(let delimiter): "line \(Self.escaped(delimiter))"
        case .fixed(let length): "fixed \(length) bytes"
        case .delimited(let start, let end): "start \(Self.escaped(start)) end \(Self.escaped(end))"
        }
    }

    /// Bytes as a user writes them in YAML: printable as is, the rest as escapes.
    public static func escaped(_ bytes: [UInt8]) -> String {
        "\"" + bytes.map { byte -> String in
            switch byte {
            case 0x0A: "\\n"
            case 0x0D: "\\r"
            case 0x09: "\\t"
            case 0x22: "\\\""
            case 0x5C: "\\\\"
            case 0x20...0x7E: String(UnicodeScalar(byte))
            default: "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }.joined() + "\""
    }
}

/// Cuts a byte stream into frames, holding at most `maxLength` bytes of an unfinished frame, so a
/// device that never sends a delimiter (or line noise) cannot grow memory.
///
/// Feed it whatever `read` returned, in any chunks, then take frames until `next()` is nil. A frame
/// longer than `maxLength` is dropped whole (its start, and everything up to the next delimiter) and
/// reported once as `.oversized`.
public struct FrameSplitter: Sendable {
    public enum Event: Equatable, Sendable {
        case frame(ArraySlice<UInt8>)
        /// A frame ran past the maximum length and was dropped.
        case oversized
        /// Bytes outside start/end markers were thrown away.
        case noise(count: Int)
    }

    public let framing: Framing
    public let maxLength: Int
    private var buffer: [UInt8] = []
    /// Where unconsumed bytes begin in `buffer`.
    private var head = 0
    /// Where the search for the delimiter resumes (bytes before it were already searched).
    private var scanned = 0
    /// Inside an oversized frame: everything up to the next delimiter is thrown away.
    private var discarding = false
    /// Start/end framing: a start marker has been seen.
    private var inFrame = false

    public init(framing: Framing, maxLength: Int) {
        self.framing = framing
        self.maxLength = maxLength
        buffer.reserveCapacity(min(maxLength, 1 << 16) + 4_096)
    }

    /// Bytes held for the frame in progress (bounded by about `maxLength` plus one read).
    public var pendingCount: Int { buffer.count - head }

    /// Forgets any partial frame (before a poll's request, after a reconnect).
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        head = 0
        scanned = 0
        discarding = false
        inFrame = false
    }

    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        if head > 0, head == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scanned -= head
            head = 0
        } else if head > 4_096, head * 2 > buffer.count {
            buffer.removeSubrange(0..<head)
            scanned -= head
            head = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next frame or event, or nil when more bytes are needed.
    public mutating func next() -> Event? {
        switch framing {
        case .fixed(let length):
            guard buffer.count - head >= length else { return nil }
            defer { head += length; scanned = head }
            return .frame(buffer[head..<head + length])
        case .line(let delimiter):
            return nextUntil(delimiter)
        case .delimited(let start, let end):
            if !inFrame {
                guard let found = find(start, from: head) else {
                    // Keep a possible partial marker at the end; the rest is noise.
                    let keep = min(start.count - 1, buffer.count - head)
                    let dropped = buffer.count - head - keep
                    head = buffer.count - keep
                    scanned = head
                    return dropped > 0 ? .noise(count: dropped) : nil
                }
                let dropped = found - head
                head = found + start.count
                scanned = head
                inFrame = true
                if dropped > 0 { return .noise(count: dropped) }
            }
            let event = nextUntil(end)
            if case .frame = event { inFrame = false } else if event == .oversized, !discarding { inFrame = false }
            return event
        }
    }

    private mutating func nextUntil(_ delimiter: [UInt8]) -> Event? {
        while true {
            guard let found = find(delimiter, from: max(head, scanned - delimiter.count + 1)) else {
                scanned = buffer.count
                guard buffer.count - head > maxLength else { return nil }
                // Too long: drop what is held, keep the tail that may begin the delimiter.
                let keep = delimiter.count - 1
                head = buffer.count - keep
                scanned = head
                if discarding { return nil }
                // Framing resumes after the next delimiter (end marker).
                discarding = true
                return .oversized
            }
            let frame = buffer[head..<found]
            head = found + delimiter.count
            scanned = head
            if discarding {
                // The tail of an over-long frame, already reported; the next frame starts after it.
                discarding = false
                if case .delimited = framing {
                    inFrame = false
                    return next()
                }
                continue
            }
            if frame.count > maxLength { return .oversized }
            return .frame(frame)
        }
    }

    private func find(_ pattern: [UInt8], from start: Int) -> Int? {
        guard let first = pattern.first, buffer.count - start >= pattern.count else { return nil }
        var index = start
        let last = buffer.count - pattern.count
        while index <= last {
            if buffer[index] == first {
                var matched = true
                var offset = 1
                while offset < pattern.count {
                    if buffer[index + offset] != pattern[offset] { matched = false; break }
                    offset += 1
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
