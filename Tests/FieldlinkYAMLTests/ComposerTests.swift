import FieldlinkYAML
import Testing

/// Composing with libyaml: the tree, its marks, tags, styles, anchors, and every way a text fails.
@Suite struct ComposerTests {
    static func compose(_ text: String) throws -> Node {
        try #require(try YAML.compose(yaml: text))
    }

    static func failure(_ text: String) -> YAMLError? {
        do {
            _ = try YAML.compose(yaml: text)
            return nil
        } catch {
            return error
        }
    }

    @Test func aMappingKeepsItsOrderMarksAndStyles() throws {
        let root = try Self.compose("b: 1\na: [x, 'y', \"z\"]\nc: {d: ~}\n")
        let mapping = try #require(root.mapping)
        #expect(mapping.keys.map(\.string) == ["b", "a", "c"])
        #expect(mapping.style == .block)
        #expect(root.mark == Mark(line: 1, column: 1))
        let list = try #require(mapping["a"]?.sequence)
        #expect(list.style == .flow)
        #expect(list.mark == Mark(line: 2, column: 4))
        #expect(list.map(\.string) == ["x", "y", "z"])
        #expect(list.map { $0.scalar?.style } == [.plain, .singleQuoted, .doubleQuoted])
        #expect(list.map(\.mark) == [Mark(line: 2, column: 5), Mark(line: 2, column: 8), Mark(line: 2, column: 13)])
        #expect(mapping["c"]?.mapping?["d"]?.isNull == true)
    }

    @Test func tagsAreKeptAsWrittenAndResolvedOnTheNode() throws {
        let root = try Self.compose("plain: 42\nquoted: \"42\"\nforced: !!str 42\nnothing:\nlist: !!seq []\n")
        let mapping = try #require(root.mapping)
        #expect(mapping["plain"]?.scalar?.tag == .implicit)
        #expect(mapping["plain"]?.tag == FieldlinkYAML.Tag(.int))
        #expect(mapping["quoted"]?.scalar?.tag == FieldlinkYAML.Tag(.str))
        #expect(mapping["quoted"]?.int == nil)
        #expect(mapping["forced"]?.tag == FieldlinkYAML.Tag(.str))
        #expect(mapping["nothing"]?.tag == FieldlinkYAML.Tag(.null))
        #expect(mapping["list"]?.sequence?.tag == FieldlinkYAML.Tag(.seq))
        #expect(mapping["plain"]?.tag != mapping["quoted"]?.tag)
    }

    @Test func literalAndFoldedScalarsKeepTheirStyle() throws {
        let mapping = try #require(try Self.compose("a: |\n  one\n  two\nb: >\n  one\n  two\n").mapping)
        #expect(mapping["a"]?.string == "one\ntwo\n")
        #expect(mapping["a"]?.scalar?.style == .literal)
        #expect(mapping["b"]?.string == "one two\n")
        #expect(mapping["b"]?.scalar?.style == .folded)
    }

    /// An alias is the anchored node itself, mark and all, so a problem in it points at the anchor.
    @Test func anAliasIsTheAnchoredNode() throws {
        let mapping = try #require(try Self.compose("x-meter: &meter {unit: 1}\ndevice: *meter\n").mapping)
        let anchored = try #require(mapping["x-meter"])
        #expect(mapping["device"] == anchored)
        #expect(mapping["device"]?.mark == Mark(line: 1, column: 10))
        #expect(mapping["device"]?.mapping?.anchor == "meter")
    }

    @Test func mergeKeysStayOrdinaryKeysForTheReaderToResolve() throws {
        let mapping = try #require(try Self.compose("base: &b {a: 1}\nmine: {<<: *b, c: 2}\n").mapping)
        let mine = try #require(mapping["mine"]?.mapping)
        #expect(mine.keys.map(\.string) == ["<<", "c"])
        #expect(mine.keys.first?.tag == FieldlinkYAML.Tag(.merge))
    }

    /// A key is looked up as if written plain (as Yams does): `"yes"` and `yes` are two keys.
    @Test func keysAreLookedUpAsIfWrittenPlain() throws {
        let mapping = try #require(try Self.compose("\"yes\": quoted\nyes: plain\n\"name\": n\n").mapping)
        #expect(mapping.count == 3)
        #expect(mapping["yes"]?.string == "plain")
        #expect(mapping["name"]?.string == "n")
    }

    @Test func anEmptyTextHasNoDocument() throws {
        #expect(try YAML.compose(yaml: "") == nil)
        #expect(try YAML.compose(yaml: "# only a comment\n") == nil)
        #expect(try YAML.compose(yaml: "---\n")?.isNull == true)
    }

    @Test(arguments: [
        ("gateway:\n  id: gw-1\n  state_dir: a: b\n", YAMLError.scanner(problem: "mapping values are not allowed in this context", mark: Mark(line: 3, column: 15))),
        ("a: [1, 2\n", .parser(problem: "did not find expected ',' or ']'", mark: Mark(line: 2, column: 1))),
        ("a: *nowhere\n", .composer(problem: "found undefined alias", mark: Mark(line: 1, column: 4))),
        ("--- 1\n--- 2\n", .composer(problem: "expected a single document in the stream, but found another document", mark: Mark(line: 2, column: 1))),
        ("a: 1\nb: \u{1}\n", .reader(problem: "control characters are not allowed", mark: Mark(line: 2, column: 4))),
        ("a:\n\tb: 1\n", .scanner(problem: "found character that cannot start any token", mark: Mark(line: 2, column: 1))),
    ])
    func aTextThatDoesNotComposeSaysWhyAndWhere(text: String, expected: YAMLError) {
        #expect(Self.failure(text) == expected)
    }

    @Test func duplicateKeysAreNamedAtTheirFirstOccurrence() {
        #expect(Self.failure("z: 1\nk: 2\nz: 3\nk: 4\n") == .duplicatedKeys(["k", "z"], mark: Mark(line: 2, column: 1)))
        #expect(Self.failure("outer:\n  keepalive: 45s\n  keepalive: 50s\n") == .duplicatedKeys(["keepalive"], mark: Mark(line: 2, column: 3)))
        // The same text with another resolved tag is another key.
        #expect(Self.failure("1: a\n\"1\": b\n") == nil)
    }

    @Test func nestingIsBoundedInsteadOfExhaustingTheStack() throws {
        let deep = String(repeating: "[", count: YAML.maximumDepth + 1) + String(repeating: "]", count: YAML.maximumDepth + 1)
        #expect(Self.failure(deep) == .composer(problem: "collections nested deeper than \(YAML.maximumDepth) levels",
                                                mark: Mark(line: 1, column: YAML.maximumDepth + 1)))
        let fine = String(repeating: "[", count: YAML.maximumDepth) + String(repeating: "]", count: YAML.maximumDepth)
        #expect(try YAML.compose(yaml: fine)?.sequence?.count == 1)
    }

    @Test func textIsUnicode() throws {
        let mapping = try #require(try Self.compose("name: Zähler Süd\n\"µ\": 1\n").mapping)
        #expect(mapping["name"]?.string == "Zähler Süd")
        #expect(mapping["µ"]?.int == 1)
    }
}
