/// YAML 1.1's implicit typing of plain scalars, the rules Yams' default `Resolver` applies (same
/// order, same patterns): `yes` is a bool, `0x1F` an int, `1e3` a float, `~` null, `<<` a merge key.
/// Written with the standard library's `Regex`, so no ICU-backed regular expression is linked.
public enum ScalarResolver {
    nonisolated(unsafe) private static let bool = #/yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF/#
    nonisolated(unsafe) private static let int = #/
        [-+]?0b[0-1_]+
        | [-+]?0o?[0-7_]+
        | [-+]?(?:0|[1-9][0-9_]*)
        | [-+]?0x[0-9a-fA-F_]+
        | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        /#
    nonisolated(unsafe) private static let float = #/
        [-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
        | \.[0-9_]+(?:[eE][-+][0-9]+)?
        | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        | [-+]?\.(?:inf|Inf|INF)
        | \.(?:nan|NaN|NAN)
        /#
    nonisolated(unsafe) private static let null = #/~|null|Null|NULL|/#
    nonisolated(unsafe) private static let timestamp = #/
        [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        | [0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
          (?:[Tt]|[\ \t]+)[0-9][0-9]?
          :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
          (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
        /#

    /// The tag a plain scalar's text resolves to; `!!str` when no rule matches.
    public static func tag(of text: String) -> Tag.Name {
        // Yams' order: the first rule that matches wins.
        if text.wholeMatch(of: bool) != nil { return .bool }
        if text.wholeMatch(of: int) != nil { return .int }
        if text.wholeMatch(of: float) != nil { return .float }
        if text == "<<" { return .merge }
        if text.wholeMatch(of: null) != nil { return .null }
        if text.wholeMatch(of: timestamp) != nil { return .timestamp }
        if text == "=" { return .value }
        return .str
    }

    /// `true`/`yes`/`on` and `false`/`no`/`off`, in any case.
    public static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": true
        case "false", "no", "off": false
        default: nil
        }
    }

    /// An `!!int`'s value: `_` separators dropped, `0x`/`0b`/`0o`/leading-`0` radixes, `1:30` base 60.
    public static func int(_ text: String) -> Int? {
        let signed = text.filter { $0 != "_" }
        if signed == "0" || signed == "+0" || signed == "-0" { return 0 }
        let negative = signed.hasPrefix("-")
        let digits = signed.dropFirst(negative || signed.hasPrefix("+") ? 1 : 0)
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where digits.hasPrefix(prefix) {
            return Int((negative ? "-" : "") + digits.dropFirst(prefix.count), radix: radix)
        }
        if digits.contains(":") {
            return sexagesimal(digits, negative: negative) { Int($0, radix: 10) }
        }
        return Int(signed)
    }

    /// A `!!float`'s value: `.inf`, `-.inf`, `.nan`, `_` separators dropped, `1:30.5` base 60.
    public static func float(_ text: String) -> Double? {
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        let signed = text.filter { $0 != "_" }
        if signed.contains(":") {
            let negative = signed.hasPrefix("-")
            return sexagesimal(signed.dropFirst(negative || signed.hasPrefix("+") ? 1 : 0), negative: negative) { Double($0) }
        }
        return Double(signed)
    }

    private static func sexagesimal<Number: Numeric>(_ digits: Substring, negative: Bool, _ parse: (Substring) -> Number?) -> Number? {
        var value: Number = 0
        for part in digits.split(separator: ":", omittingEmptySubsequences: false) {
            guard let number = parse(part) else { return nil }
            value = value * 60 + number
        }
        return negative ? 0 - value : value
    }
}
