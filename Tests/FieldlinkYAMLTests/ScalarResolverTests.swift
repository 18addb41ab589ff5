import FieldlinkYAML
import Testing

/// YAML 1.1 implicit typing of plain scalars, as Yams' default resolver did it.
@Suite struct ScalarResolverTests {
    @Test(arguments: [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ])
    func boolWords(text: String) {
        #expect(ScalarResolver.tag(of: text) == .bool)
    }

    @Test(arguments: ["yEs", "y", "n", "tRUE", "enabled"])
    func otherWordsAreStrings(text: String) {
        #expect(ScalarResolver.tag(of: text) == .str)
    }

    @Test(arguments: [
        ("0", 0), ("42", 42), ("-17", -17), ("+5", 5), ("1_000", 1_000), ("0x1F", 31), ("0xff_ff", 65_535), ("-0x10", -16),
        ("017", 15), ("0o17", 15), ("0b1010", 10), ("-0b11", -3), ("1:30", 90), ("-1:00:00", -3_600),
    ])
    func integers(text: String, value: Int) {
        #expect(ScalarResolver.tag(of: text) == .int)
        #expect(ScalarResolver.int(text) == value)
        #expect(Node.scalar(.init(text)).int == value)
        #expect(Node.scalar(.init(text)).float == Double(value))
    }

    @Test(arguments: [
        ("1.5", 1.5), ("-0.25", -0.25), ("1e3", 1_000), ("1.5E-2", 0.015), (".5", 0.5), ("1.", 1), ("1_000.5", 1_000.5), ("1:30.5", 90.5),
        (".inf", .infinity), ("-.Inf", -.infinity), ("+.INF", .infinity),
    ])
    func floats(text: String, value: Double) {
        #expect(ScalarResolver.tag(of: text) == .float)
        #expect(ScalarResolver.float(text) == value)
        #expect(Node.scalar(.init(text)).float == value)
        #expect(Node.scalar(.init(text)).int == nil)
    }

    @Test func notANumber() {
        #expect(ScalarResolver.tag(of: ".nan") == .float)
        #expect(Node.scalar(.init(".NaN")).float?.isNaN == true)
    }

    @Test(arguments: ["~", "null", "Null", "NULL", ""])
    func nulls(text: String) {
        #expect(ScalarResolver.tag(of: text) == .null)
        #expect(Node.scalar(.init(text)).isNull)
    }

    @Test(arguments: [
        ("<<", FieldlinkYAML.Tag.Name.merge), ("=", .value), ("2001-12-14", .timestamp), ("2001-12-14t21:59:43.10-05:00", .timestamp),
        ("2001-12-14 21:59:43.10 Z", .timestamp), ("2001-12-14T21:59:43Z", .timestamp),
    ])
    func otherTags(text: String, tag: FieldlinkYAML.Tag.Name) {
        #expect(ScalarResolver.tag(of: text) == tag)
    }

    /// Words a config uses that must stay text: units, durations, sizes, byte orders, hosts, versions.
    @Test(arguments: ["500ms", "64MiB", "CDAB", "0x", "1.2.3", "mqtt://127.0.0.1", "12:", "0b2", "1e", "-", "nulls", "+-1", "2%", "1:60"])
    func configWordsStayStrings(text: String) {
        #expect(ScalarResolver.tag(of: text) == .str, "\(text)")
    }

    @Test func quotedOrTaggedScalarsAreNotResolved() {
        #expect(Node.scalar(.init("42", FieldlinkYAML.Tag(.str), .doubleQuoted)).int == nil)
        #expect(Node.scalar(.init("yes", FieldlinkYAML.Tag(.str), .singleQuoted)).bool == nil)
        #expect(Node.scalar(.init("yes")).bool == true)
        #expect(Node.scalar(.init("Off")).bool == false)
        #expect(Node.scalar(.init("7", FieldlinkYAML.Tag(.nonSpecific))).tag == FieldlinkYAML.Tag(.str))
    }
}
