import Foundation

/// The README's documented defaults, so a test can hold them against the constants the loader uses.
public struct Readme {
    public let lines: [String]

    public init() throws {
        lines = try String(contentsOfFile: "\(packageRoot)/README.md", encoding: .utf8).components(separatedBy: "\n")
    }

    /// The lines of the section under the `## heading` (up to the next heading of that level).
    func section(_ heading: String) -> ArraySlice<String> {
        guard let start = lines.firstIndex(of: "## \(heading)") else { return [] }
        let rest = lines[(start + 1)...]
        return rest.prefix { !$0.hasPrefix("## ") }
    }

    /// The section's `index`th table: each row's first key (in backticks) to its `Default` column,
    /// backticks removed (`` `1s`, `1m` `` reads `1s, 1m`).
    public func tableDefaults(_ heading: String, table index: Int = 0) -> [String: String] {
        var rest = section(heading)
        for _ in 0..<index { rest = rest.drop { !$0.hasPrefix("|") }.drop { $0.hasPrefix("|") } }
        let rows = rest.drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
        func cells(_ row: String) -> [String] {
            row.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) }
        }
        guard let header = rows.first, let column = cells(header).firstIndex(of: "Default") else { return [:] }
        var defaults: [String: String] = [:]
        for row in rows.dropFirst(2) {
            let fields = cells(row)
            guard fields.count > column, let key = fields[0].split(separator: "`").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else { continue }
            defaults[String(key)] = fields[column].replacingOccurrences(of: "`", with: "")
        }
        return defaults
    }

    /// The first YAML example in the section: `key: value` of each line, comments and indentation dropped.
    public func exampleValues(_ heading: String) -> [String: String] {
        let block = section(heading).drop { $0 != "```yaml" }.dropFirst().prefix { $0 != "```" }
        var values: [String: String] = [:]
        for line in block {
            let content = line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? ""
            let parts = content.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, !parts[1].isEmpty { values[parts[0]] = parts[1] }
        }
        return values
    }
}
