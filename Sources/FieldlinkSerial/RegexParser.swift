import FieldlinkCore

/// Named capture groups (`(?<temperature>-?\d+\.\d+)`) name points (a point's `field`, or its name).
public struct RegexParser {
    let regex: Regex<AnyRegexOutput>?
    let groups: [String]
    let types: [SerialValueType]

    init(pattern: String, points: [ParserPoint]) {
        regex = try? Regex(pattern)
        groups = points.map { $0.field ?? "" }
        types = points.map(\.type)
    }

    /// The named groups of a pattern, in order (`(?<name>`, `(?P<name>`, `(?'name'`), for checking
    /// points against the pattern when the config is read.
    public static func groupNames(in pattern: String) -> [String] {
        var names: [String] = []
        var rest = Substring(pattern)
        while let open = rest.firstRange(of: "(?") {
            var after = rest[open.upperBound...]
            if after.hasPrefix("P<") { after = after.dropFirst(2) } else if after.hasPrefix("<") || after.hasPrefix("'") {
                after = after.dropFirst()
            } else {
                rest = after
                continue
            }
            let name = after.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !name.isEmpty, let close = after.dropFirst(name.count).first, close == ">" || close == "'" {
                names.append(String(name))
            }
            rest = after
        }
        return names
    }

    func parse(_ frame: ArraySlice<UInt8>, into values: inout [Value?]) -> ParseOutcome {
        let line = frame.trimmed()
        guard !line.isEmpty else { return .ignored }
        let text = String(decoding: line, as: UTF8.self)
        guard let regex, let match = try? regex.firstMatch(in: text) else {
            return .failed("\(line.quoted) does not match the pattern")
        }
        for (point, group) in groups.enumerated() {
            guard let captured = match.output[group]?.substring else { continue }
            guard let value = types[point].value(ArraySlice(captured.utf8)) else {
                return .failed("group \(group): \(ArraySlice(captured.utf8).quoted) is not \(types[point].article)")
            }
            values[point] = value
        }
        return .parsed
    }
}
