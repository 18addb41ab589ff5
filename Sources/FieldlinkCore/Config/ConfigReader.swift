import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import FieldlinkYAML

/// Where something stands in a config file, so every problem can point at it.
public struct ConfigLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One thing wrong with a config: where, which key, what to do.
public struct ConfigProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: ConfigLocation
    public var path: String
    public var message: String

    public init(location: ConfigLocation, path: String, message: String) {
        self.location = location
        self.path = path
        self.message = message
    }

    /// Text from the file (a key, a value) is echoed with its control characters escaped, so a
    /// stray escape sequence cannot rewrite the terminal it is printed on.
    public var description: String {
        let text = path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
        return text.escapingControlCharacters
    }
}

/// Every problem found in one pass, so a user fixes a config in one round trip.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        return (["config has \(problems.count) \(noun):"] + problems.map { "  \($0)" }).joined(separator: "\n")
    }
}

/// Collects problems while a config is read; lives for one parse only.
public final class ConfigDiagnostics {
    public let file: String
    public private(set) var problems: [ConfigProblem] = []
    public private(set) var warnings: [ConfigProblem] = []
    /// The process environment, for `${NAME}` in values (injectable for tests).
    public let environment: [String: String]
    /// Set for a file read on behalf of another (a device profile): its problems are reported there.
    private let parent: ConfigDiagnostics?

    public init(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.file = file
        self.environment = environment
        self.parent = nil
    }

    /// Diagnostics for another file (a profile) whose problems are part of this parse.
    public init(file: String, reportingTo parent: ConfigDiagnostics) {
        self.file = file
        self.environment = parent.environment
        self.parent = parent
    }

    public func warn(_ message: String, at node: Node?, path: String) {
        let warning = ConfigProblem(location: location(of: node), path: path, message: message)
        if let parent { parent.warnings.append(warning) } else { warnings.append(warning) }
    }

    /// A problem found without a node to point at (a file that does not parse).
    public func record(_ problem: ConfigProblem) {
        if let parent { parent.record(problem) } else { problems.append(problem) }
    }

    public func location(of node: Node?) -> ConfigLocation {
        ConfigLocation(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }

    public func report(_ message: String, at node: Node?, path: String) {
        record(ConfigProblem(location: location(of: node), path: path, message: message))
    }
}

/// A value in the config together with its key path, so reading it and reporting on it are one step.
public struct ConfigValue {
    public let node: Node
    public let path: String
    public let diagnostics: ConfigDiagnostics

    public init(node: Node, path: String, diagnostics: ConfigDiagnostics) {
        self.node = node
        self.path = path
        self.diagnostics = diagnostics
    }

    public var location: ConfigLocation { diagnostics.location(of: node) }

    /// Records a problem about this value.
    public func report(_ message: String) {
        diagnostics.report(message, at: node, path: path)
    }

    /// Records a problem about this value; returns nil so callers can `return value.fail(...)`.
    @discardableResult
    public func fail<T>(_ message: String) -> T? {
        diagnostics.report(message, at: node, path: path)
        return nil
    }

    /// The scalar's text with `${NAME}` (or `${NAME:-default}`) replaced from the environment; an
    /// unset variable without a default is a problem (reported once, here).
    private var scalarText: String? {
        guard case .scalar(let scalar) = node else { return nil }
        var text = scalar.string
        var from = text.startIndex
        while let start = text[from...].firstRange(of: "${") {
            guard let end = text[start.upperBound...].firstIndex(of: "}") else {
                diagnostics.report("\"${\" starts an environment variable but has no closing \"}\" (write ${NAME})", at: node, path: path)
                return nil
            }
            let expression = text[start.upperBound..<end]
            let parts = expression.components(separatedBy: ":-")
            let name = parts[0]
            guard let value = diagnostics.environment[name] ?? (parts.count > 1 ? parts.dropFirst().joined(separator: ":-") : nil) else {
                diagnostics.report("environment variable \(name) is not set (write ${\(name):-default} for a fallback)", at: node, path: path)
                return nil
            }
            let offset = text.distance(from: text.startIndex, to: start.lowerBound) + value.count
            text.replaceSubrange(start.lowerBound...end, with: value)
            // Past the value put in: a value that itself contains "${" is not expanded again.
            from = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex) ?? text.endIndex
        }
        return text
    }

    private var kind: String {
        switch node {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// "expected X, found a list"; nil without a second problem for a scalar whose `${NAME}` was
    /// already reported.
    private func wrongKind<T>(_ expected: String) -> T? {
        if case .scalar = node { return nil }
        return fail("\(expected), found \(kind)")
    }

    public func string() -> String? {
        guard let text = scalarText else { return wrongKind("expected a string") }
        return text
    }

    public func nonEmptyString() -> String? {
        guard let text = string() else { return nil }
        guard !text.trimmingWhitespace().isEmpty else { return fail("must not be empty") }
        return text
    }

    /// A file path; a relative one is relative to the config file's folder (as `state_dir` is), not
    /// to whatever directory the daemon happens to be started from.
    ///
    /// Only `.` and `..` are folded; symlinks are kept, so a `/dev/serial/by-id/...` name still
    /// follows the adapter when it comes back as another `ttyUSB`.
    public func filePath() -> String? {
        guard let text = nonEmptyString() else { return nil }
        guard !text.hasPrefix("/") else { return text }
        let base = URL(fileURLWithPath: diagnostics.file).deletingLastPathComponent().path
        var components: [Substring] = []
        for component in "\(base)/\(text)".split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// A secret's file (password, key): a relative name is first looked for in systemd's
    /// `$CREDENTIALS_DIRECTORY` (`LoadCredential=`), then relative to the config file.
    public func secretFilePath() -> String? {
        guard let path = filePath() else { return nil }
        if let name = node.string, !name.hasPrefix("/"), let credentials = diagnostics.environment["CREDENTIALS_DIRECTORY"] {
            let candidate = URL(fileURLWithPath: credentials).appendingPathComponent(name).path
            if FileManager.default.isReadableFile(atPath: candidate) { return candidate }
        }
        return path
    }

    /// A file that must exist and be readable now (certificates, keys).
    public func readableFilePath(secret: Bool = false) -> String? {
        guard let path = secret ? secretFilePath() : filePath() else { return nil }
        if let why = FileAccess.whyUnreadable(path) {
            return fail("cannot read \(path): \(why.text)\(why == Errno(EACCES) ? " (the user fieldlink runs as must be able to read it)" : "")")
        }
        if secret, FileAccess.isReadableByOthers(path) {
            diagnostics.warn("\(path) can be read by other users: chmod 600 \(path)", at: node, path: self.path)
        }
        return path
    }

    public func bool() -> Bool? {
        guard let text = scalarText else { return wrongKind("expected true or false") }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return fail("expected true or false, found \"\(text)\"")
        }
    }

    public func int(in range: ClosedRange<Int>) -> Int? {
        guard let text = scalarText else { return wrongKind("expected an integer") }
        let parsed: Int?
        if text.lowercased().hasPrefix("0x") {
            parsed = Int(text.dropFirst(2), radix: 16)
        } else {
            parsed = Int(text)
        }
        guard let value = parsed else { return fail("expected an integer, found \"\(text)\"") }
        guard range.contains(value) else {
            return fail("\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return value
    }

    public func double() -> Double? {
        guard let text = scalarText else { return wrongKind("expected a number") }
        guard let value = Double(text), value.isFinite else { return fail("expected a number, found \"\(text)\"") }
        return value
    }

    /// Durations are written `500ms`, `5s`, `2m`, `1h` (or combined, `1m30s`).
    public func duration(minimum: Duration = .milliseconds(1)) -> Duration? {
        guard let text = scalarText else { return wrongKind("expected a duration such as 500ms, 5s, 2m or 1h") }
        guard let value = Duration(configText: text) else {
            return fail("\"\(text)\" is not a duration (write e.g. 500ms, 5s, 2m, 1h)")
        }
        guard value >= minimum else { return fail("\"\(text)\" is too short (minimum \(minimum.configText))") }
        return value
    }

    /// A size in bytes: `65536`, `64KiB`, `16MiB`, `1GiB` (or kB/MB/GB, powers of 1000).
    public func byteSize(minimum: Int = 0) -> Int? {
        guard let text = scalarText?.trimmingWhitespace() else { return wrongKind("expected a size such as 64MiB") }
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("kB", 1_000), ("KB", 1_000),
                                      ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1), ("", 1)]
        for (suffix, size) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count).trimmingWhitespace()), number >= 0,
                  number * Double(size) < Double(Int.max / 2) else { continue }
            let bytes = Int(number * Double(size))
            guard bytes >= minimum else { return fail("\"\(text)\" is too small (minimum \(minimum) bytes)") }
            return bytes
        }
        return fail("\"\(text)\" is not a size (write e.g. 64MiB, 512KiB, 1GiB)")
    }

    /// `0.5` (absolute, in the point's unit) or `2%` (relative to the last reported value).
    public func deadband() -> Deadband? {
        guard let text = scalarText?.trimmingWhitespace() else { return wrongKind("expected a deadband such as 0.5 or 2%") }
        if text.hasSuffix("%"), let percent = Double(text.dropLast()), percent.isFinite, percent >= 0 {
            return .relative(percent / 100)
        }
        if let size = Double(text), size.isFinite, size >= 0 { return .absolute(size) }
        return fail("\"\(text)\" is not a deadband (write e.g. 0.5 or 2%)")
    }

    /// A closed set of words: the message lists every valid one.
    public func oneOf<Choice: RawRepresentable & CaseIterable>(_ type: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        guard let text = scalarText else { return wrongKind("expected a string") }
        if let choice = Choice(rawValue: text) { return choice }
        let expected = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        return fail("unknown value \"\(text)\" (expected one of \(expected))")
    }

    /// A mapping's entries in file order, keys and values both locatable (e.g. `map:` of raw values to labels).
    public func entries() -> [(key: ConfigValue, value: ConfigValue)]? {
        guard case .mapping(let mapping) = node else { return fail("expected a mapping, found \(kind)") }
        return mapping.map { key, value in
            let child = "\(path).\(key.string ?? "?")"
            return (ConfigValue(node: key, path: child, diagnostics: diagnostics), ConfigValue(node: value, path: child, diagnostics: diagnostics))
        }
    }

    public func mapping() -> ConfigMapping? {
        guard case .mapping(let mapping) = node else { return fail("expected a mapping, found \(kind)") }
        return ConfigMapping(mapping: mapping, node: node, path: path, diagnostics: diagnostics)
    }

    public func list() -> [ConfigValue]? {
        guard case .sequence(let sequence) = node else { return fail("expected a list, found \(kind)") }
        return sequence.enumerated().map { index, element in
            ConfigValue(node: element, path: "\(path)[\(index)]", diagnostics: diagnostics)
        }
    }
}

/// A mapping whose keys are read one by one; whatever was not asked for is an unknown key.
///
/// It may lie over others (a device's point over a profile's point over the profile's defaults): a
/// key is taken from the topmost mapping that has it, and reported against that mapping's own file
/// and key path. An explicit null on top removes a key below.
public struct ConfigMapping {
    private let mapping: Node.Mapping
    public let node: Node
    public let path: String
    public let diagnostics: ConfigDiagnostics
    private var asked: [String] = []
    private var ignoredPrefixes: [String] = []
    private var below: [Layer] = []

    private struct Layer {
        var mapping: Node.Mapping
        var path: String
        var diagnostics: ConfigDiagnostics
    }

    init(mapping: Node.Mapping, node: Node, path: String, diagnostics: ConfigDiagnostics) {
        self.mapping = mapping
        self.node = node
        self.path = path
        self.diagnostics = diagnostics
    }

    public var location: ConfigLocation { diagnostics.location(of: node) }

    /// Records a problem about the mapping as a whole (a key that is missing given the others).
    public func report(_ message: String) {
        diagnostics.report(message, at: node, path: path)
    }

    private var layers: [Layer] { [Layer(mapping: mapping, path: path, diagnostics: diagnostics)] + below }

    private static func childPath(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// This mapping on top of `base` (and whatever lies under `base`).
    public func layered(over base: ConfigMapping) -> ConfigMapping {
        var top = self
        top.below = base.layers + below
        return top
    }

    /// The plain text under `key` in the topmost mapping, without marking the key (to match entries by name).
    public func peek(_ key: String) -> String? {
        layers.lazy.compactMap { Self.value(of: key, in: $0.mapping) }.first?.string
    }

    /// The value under the plain key `key`, compared as text (a YAML library's own lookup may
    /// resolve the probe's type with a regular expression on every call: seconds for 20,000 points).
    static func value(of key: String, in mapping: Node.Mapping) -> Node? {
        for (candidate, value) in mapping {
            if case .scalar(let scalar) = candidate, scalar.string == key { return value }
        }
        return nil
    }

    /// The value under `key`, or nil when absent (or null). Marks the key as known.
    public mutating func optional(_ key: String) -> ConfigValue? {
        if !asked.contains(key) { asked.append(key) }
        guard let found = layers.lazy.compactMap({ layer in Self.value(of: key, in: layer.mapping).map { (layer, $0) } }).first else { return nil }
        let (layer, value) = found
        if case .scalar(let scalar) = value, scalar.tag == Tag(.null) || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)) {
            return nil
        }
        return ConfigValue(node: value, path: Self.childPath(layer.path, key), diagnostics: layer.diagnostics)
    }

    /// The value under `key`; its absence is a problem reported at the mapping.
    public mutating func required(_ key: String) -> ConfigValue? {
        guard let value = optional(key) else {
            report("missing required key \"\(key)\"")
            return nil
        }
        return value
    }

    /// Keys starting with `prefix` are known and not read: top-level `x-` keys hold YAML anchors
    /// (`x-meter: &meter {...}`), as in Compose files.
    public mutating func ignoreKeys(withPrefix prefix: String) {
        ignoredPrefixes.append(prefix)
    }

    /// Reports every key nobody asked for: a typo must never be silently ignored.
    public func rejectUnknownKeys() {
        let expected = asked.joined(separator: ", ")
        for layer in layers {
            for (key, _) in layer.mapping {
                let name = key.string ?? "\(key)"
                guard !asked.contains(name), !ignoredPrefixes.contains(where: name.hasPrefix) else { continue }
                layer.diagnostics.report("unknown key \"\(name)\" (expected one of \(expected))", at: key, path: Self.childPath(layer.path, name))
            }
        }
    }
}
