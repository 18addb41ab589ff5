/// The few text helpers fieldlink needs from Foundation's `NSString` API, written on the standard
/// library: `trimmingCharacters(in:)`, `padding(toLength:)`, `CharacterSet.alphanumerics` and
/// `String(format: "%.2f")` live in Foundation proper, which links ICU's 30 MB of locale data.
extension StringProtocol {
    /// Without leading and trailing spaces and tabs (Foundation's `.whitespaces`: not newlines).
    public func trimmingWhitespace() -> String { trimming { $0.isWhitespace && !$0.isNewline } }

    /// Without leading and trailing whitespace, newlines included.
    public func trimmingWhitespaceAndNewlines() -> String { trimming(\.isWhitespace) }

    /// Without leading and trailing line breaks.
    public func trimmingNewlines() -> String { trimming(\.isNewline) }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Cut or padded with spaces on the right to exactly `length` characters (a table's column).
    public func padded(toLength length: Int) -> String {
        count >= length ? String(prefix(length)) : String(self) + String(repeating: " ", count: length - count)
    }
}

extension Unicode.Scalar {
    /// A letter, mark or number (Foundation's `CharacterSet.alphanumerics`: categories L*, M*, N*).
    public var isAlphanumeric: Bool {
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
            true
        default:
            false
        }
    }
}

extension BinaryFloatingPoint {
    /// The value with exactly `places` decimals (`String(format: "%.2f")`), ties to even as printf
    /// rounds; `nan`, `inf` and `-inf` as printf writes them.
    public func fixed(_ places: Int) -> String {
        let value = Double(self)
        guard value.isFinite else { return value.isNaN ? "nan" : value < 0 ? "-inf" : "inf" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrEven)
        guard scaled < 9.0e18 else { return String(value) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let fraction = String(units % UInt64(scale))
        let sign = value < 0 && units != 0 ? "-" : ""
        guard places > 0 else { return "\(sign)\(whole)" }
        return "\(sign)\(whole).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
    }
}

extension StringProtocol {
    /// Every occurrence of `target` replaced, matched by code units as Foundation's
    /// `replacingOccurrences(of:with:)` does (the standard library's `replacing` matches whole
    /// characters, so it would not find the `\n` inside a `\r\n`).
    public func replacingLiterally(_ target: String, with replacement: String) -> String {
        let source = Array(utf8)
        let pattern = Array(target.utf8)
        guard !pattern.isEmpty, source.count >= pattern.count else { return String(self) }
        var result: [UInt8] = []
        result.reserveCapacity(source.count)
        var index = 0
        while index < source.count {
            if index + pattern.count <= source.count, source[index..<index + pattern.count].elementsEqual(pattern) {
                result.append(contentsOf: replacement.utf8)
                index += pattern.count
            } else {
                result.append(source[index])
                index += 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
