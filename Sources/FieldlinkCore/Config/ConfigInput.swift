import FieldlinkPOSIX
import FieldlinkYAML
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// How much config the loader reads: a config names a few thousand points in well under 1 MiB, so
/// anything past these bounds is a mistake (a wrong file, a pasted blob, an alias bomb) that would
/// otherwise cost memory and time before it is refused.
public enum ConfigLimits {
    /// The config file (and each profile): 20,000 points take about 1.5 MB (about 300,000 nodes).
    public static let fileBytes = 8 << 20
    /// One scalar: room for the longest MQTT topic (65,535 bytes) and any certificate path.
    public static let scalarBytes = 65_536
    /// Nodes in the document with every alias expanded: an alias bomb stops here, not in memory.
    public static let expandedNodes = 1_000_000
    /// MQTT's limit for a topic name (a two-byte length, MQTT 3.1.1 §1.5.3).
    public static let topicBytes = 65_535
    /// Problems reported by the document walk before it stops (a file of a million bad tags).
    static let walkProblems = 50
    /// Flow collections (`[` and `{`) open at once, and columns of block indentation: a config
    /// nests a handful of levels; thousands would exhaust the stack of the (recursive) composer.
    public static let flowDepth = 64
    public static let indentation = 256
    /// Lines and commas, each about one value: a YAML node costs a few hundred bytes of memory, so
    /// the count is bounded before the document is composed.
    public static let separators = 1_000_000
}

/// What the text looks like before YAML reads it: how deep it nests and about how many values it
/// has, found in one pass over its bytes, so a document that would exhaust the composer's stack or
/// memory is refused first (at the line and column where it crosses the bound).
enum TextShape {
    static func problem(_ text: String, file: String) -> ConfigProblem? {
        var line = 1, column = 1, depth = 0, indentation = 0, separators = 0
        var atLineStart = true
        func located(_ message: String) -> ConfigProblem {
            ConfigProblem(location: ConfigLocation(file: file, line: line, column: column), path: "", message: message)
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                column = 0
                separators += 1
                atLineStart = true
                indentation = 0
            case UInt8(ascii: " ") where atLineStart, UInt8(ascii: "-") where atLineStart:
                // `- - - x` nests like indentation does.
                indentation += 1
                if indentation > ConfigLimits.indentation {
                    return located("nested over \(ConfigLimits.indentation) columns deep; a config nests a few levels")
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                atLineStart = false
                depth += 1
                if depth > ConfigLimits.flowDepth {
                    return located("over \(ConfigLimits.flowDepth) lists or mappings open at once; a config nests a few levels")
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                atLineStart = false
                depth = max(0, depth - 1)
            case UInt8(ascii: ","):
                atLineStart = false
                separators += 1
            default:
                atLineStart = false
            }
            if separators > ConfigLimits.separators {
                return located("over \(ConfigLimits.separators) lines and values; a config that large is a mistake")
            }
            if byte & 0xC0 != 0x80 { column += 1 }  // columns count characters, as libyaml's do
        }
        return nil
    }
}

/// Reading the config file itself: a regular file of bounded size (`FileAccess.contents`) and UTF-8
/// text, or a problem at a line and column, in our own words (never Foundation's).
enum ConfigText {
    static func read(file: String) -> Result<String, ConfigProblem> {
        switch FileAccess.contents(of: file, limit: ConfigLimits.fileBytes) {
        case .success(let data):
            return decode(Array(data), file: file)
        case .failure(let why):
            let remedy = if case .notRegular = why { ": give the path of the YAML file itself" } else { "" }
            return .failure(ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "",
                                          message: "cannot read config file: \(why.text)\(remedy)"))
        }
    }

    /// UTF-8 text, or where the first byte that is not UTF-8 stands.
    static func decode(_ bytes: [UInt8], file: String) -> Result<String, ConfigProblem> {
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            return .failure(ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "",
                                          message: "the config file is UTF-16 (it starts with a byte order mark): save it as UTF-8"))
        }
        // The common case in one optimised pass; the byte-by-byte walk only to locate a bad byte.
        if let text = String(validating: bytes, as: UTF8.self) { return .success(text) }
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0, line = 1, column = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
                offset += encoded.count
            case .error:
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                return .failure(ConfigProblem(location: ConfigLocation(file: file, line: line, column: column), path: "",
                                              message: "the config file is not UTF-8 text: byte 0x\(byte.count == 1 ? "0" : "")\(byte) at offset \(offset) "
                                                  + "is no character; save the file as UTF-8"))
            case .emptyInput:
                return .success(String(decoding: bytes, as: UTF8.self))
            }
        }
    }
}

/// The composed document checked before it is read: no YAML tag fieldlink does not read (`!!binary`,
/// `!custom`), no scalar longer than `ConfigLimits.scalarBytes`, and no more than
/// `ConfigLimits.expandedNodes` nodes with aliases expanded. Uses only a node's tag, kind, scalar
/// text and mark, so any YAML layer with that node shape fits.
enum DocumentCheck {
    /// Tags a config may carry: those a plain value resolves to (a date resolves to timestamp, and
    /// is read as its text like any other scalar); any other was written on purpose, and means a
    /// type fieldlink would not honour.
    static let readTags = Set(["", "!"]).union(["str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp", "value"]
        .map { "tag:yaml.org,2002:\($0)" })

    /// True when the document may be read; otherwise its problems are recorded.
    static func check(_ root: Node, diagnostics: ConfigDiagnostics) -> Bool {
        // First a plain count (no key paths built): almost every document passes it.
        var pending = [root]
        var visited = 0
        var clean = true
        while let node = pending.popLast() {
            visited += 1
            guard visited <= ConfigLimits.expandedNodes else {
                diagnostics.report("the document expands to over \(ConfigLimits.expandedNodes) values (aliases of aliases?): "
                                       + "a config that large is a mistake", at: root, path: "")
                return false
            }
            switch node {
            case .scalar(let scalar):
                if !scalar.tag.description.isEmpty && !readTags.contains(scalar.tag.description) || scalar.string.utf8.count > ConfigLimits.scalarBytes {
                    clean = false
                }
            case .mapping(let mapping):
                if !readTags.contains(mapping.tag.description) { clean = false }
                for (key, value) in mapping {
                    pending.append(key)
                    pending.append(value)
                }
            case .sequence(let sequence):
                if !readTags.contains(sequence.tag.description) { clean = false }
                pending.append(contentsOf: sequence)
            }
        }
        if !clean { reportProblems(root, diagnostics: diagnostics) }
        return clean
    }

    /// The second walk, for a document with something wrong: each problem with its key path.
    private static func reportProblems(_ root: Node, diagnostics: ConfigDiagnostics) {
        var pending: [(node: Node, path: String)] = [(root, "")]
        var problems = 0
        func report(_ message: String, _ node: Node, _ path: String) {
            problems += 1
            if problems <= ConfigLimits.walkProblems { diagnostics.report(message, at: node, path: path) }
        }
        while let item = pending.popLast() {
            let (node, path) = item
            let tag = writtenTag(node)
            if !readTags.contains(tag) {
                report("YAML tag \(shortTag(tag)) is not read by fieldlink: remove it and write the value plainly", node, path)
            }
            switch node {
            case .scalar(let scalar):
                if scalar.string.utf8.count > ConfigLimits.scalarBytes {
                    report("a value of \(scalar.string.utf8.count) bytes is longer than any setting (at most \(ConfigLimits.scalarBytes))", node, path)
                }
            case .mapping(let mapping):
                for (key, value) in mapping.reversed() {
                    let child = "\(path.isEmpty ? "" : "\(path).")\(key.scalar.map { String($0.string.prefix(64)) } ?? "?")"
                    pending.append((value, child))
                    pending.append((key, child))
                }
            case .sequence(let sequence):
                for (index, element) in sequence.enumerated().reversed() { pending.append((element, "\(path)[\(index)]")) }
            }
        }
    }

    /// The tag as the document wrote it ("" for none), without resolving a plain value's type
    /// (a regular expression per value, which thousands of points would pay for).
    static func writtenTag(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.tag.description
        case .mapping(let mapping): mapping.tag.description
        case .sequence(let sequence): sequence.tag.description
        }
    }

    /// `!!binary` for YAML's own tags, the tag as written otherwise.
    static func shortTag(_ tag: String) -> String {
        tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
    }
}

extension ConfigValue {
    /// The text of a plain (unquoted) scalar YAML reads as a number, `13` or `0x0D`; nil for any
    /// other value. Where a setting is text, such a value is refused rather than read as its digits.
    public var plainNumber: String? {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return nil }
        let tag = node.tag.description
        return tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ? scalar.string : nil
    }
}

extension String {
    /// Control characters (C0, DEL, C1) as `\u{1B}`; everything else as it is.
    public var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: Self.isControl) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            if Self.isControl(scalar) {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
