@testable import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// A generated corpus of broken configs (issue 19 §3): every key of a config that sets nearly every
/// key, at every level, given the wrong kind of value, an out-of-range one, an unknown neighbour and
/// taken away; YAML syntax errors on every line; tags, alias bombs and huge inputs. Each one must be
/// refused with located problems (file:line:column and, where a key is at fault, its key path) in our
/// own words. Time and memory per config are measured in bench/config.sh, not asserted here.
@Suite struct ConfigCorpusTests {
    static let file = "/etc/fieldlink/corpus.yaml"
    static let loader = ConfigLoader(families: [ModbusFamily()], profileDirectories: [])

    /// Block style, one key a line, so a line edit changes exactly one key.
    static let base = """
        gateway:
          id: gw-corpus
          state_dir: /nonexistent/fieldlink-corpus
        mqtt:
          url: mqtt://127.0.0.1:1883
          client_id: corpus
          username: fieldlink
          password: s3cret
          status_topic: fieldlink/gw-corpus/status
          version: auto
          keepalive: 30s
          max_inflight: 20
          reconnect_delay: 1s
          reconnect_delay_max: 30s
          drain_timeout: 2s
        buffer:
          max_bytes: 16MiB
          max_age: 1h
          durability: always
          sync_interval: 1s
          replay_rate: 100
        payload:
          format: json
        homeassistant:
          enabled: true
          prefix: homeassistant
        metrics:
          textfile: /nonexistent/fieldlink.prom
          interval: 30s
        buses:
          -
            name: rtu
            type: modbus-rtu
            port: /dev/ttyCORPUS0
            baud: 9600
            parity: even
            data_bits: 8
            stop_bits: 1
            timeout: 300ms
            retries: 1
          -
            name: tcp
            type: modbus-tcp
            host: 127.0.0.1
            port: 1502
        devices:
          -
            name: meter
            bus: rtu
            unit: 1
            interval: 1s
            topic: site/{gateway}/{device}
            qos: 1
            retain: false
            report: on-change
            deadband: 1%
            heartbeat: 1m
            points:
              -
                name: voltage
                address: 0
                type: float32
                order: ABCD
                unit: V
                scale: 1
                precision: 1
              -
                name: mode
                address: 10
                writable: true
                min: 0
                max: 3
                map:
                  0: off
                  1: on
          -
            name: plc
            bus: tcp
            unit: 2
            interval: 500ms
            batch:
              max_messages: 10
              max_delay: 5s
            points:
              -
                name: flag
                table: coil
                address: 3

        """

    static let foundationTexts = ["NSCocoaErrorDomain", "The operation could not be completed", "You don't have permission", "NSError",
                                  "Foundation.", "Swift.", "Optional("]

    /// The problems of `yaml`, or an issue when it loads.
    static func refusal(_ yaml: String, _ what: String, environment: [String: String] = [:]) -> [ConfigProblem] {
        do {
            _ = try loader.parse(yaml: yaml, file: file, environment: environment)
            Issue.record("accepted: \(what)")
            return []
        } catch {
            return error.problems
        }
    }

    /// Every problem located in the file, in our words; returns them for more specific checks.
    @discardableResult
    static func checkRefused(_ yaml: String, _ what: String) -> [ConfigProblem] {
        let problems = refusal(yaml, what)
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).count
        for problem in problems {
            #expect(problem.location.file == file && (1...lines + 1).contains(problem.location.line) && problem.location.column >= 1,
                    "\(what): \(problem) is not located in the file")
            for text in foundationTexts where problem.description.contains(text) {
                Issue.record("\(what): \(problem) has Foundation's text \(text)")
            }
        }
        return problems
    }

    /// A key of the base config: its path, its line (0-based), its column, what its value is, and
    /// the lines its value spans after its own.
    struct Key {
        enum Kind { case scalar(String), block }
        var path: String
        var parent: String
        var name: String
        var line: Int
        var column: Int
        var value: Kind
        var childLines: Int
    }

    /// The base's keys, found from its layout (block style, `-` alone on an item's first line), so
    /// the corpus does not depend on the YAML library it tests.
    static let keys: [Key] = {
        let lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var open: [(column: Int, path: String, items: Int)] = []
        var found: [Key] = []
        for (number, line) in lines.enumerated() {
            guard let first = line.firstIndex(where: { $0 != " " }) else { continue }
            let column = line.distance(from: line.startIndex, to: first) + 1
            while let top = open.last, top.column >= column { open.removeLast() }
            let parent = open.last?.path ?? ""
            let rest = line[first...]
            if rest == "-" {
                let index = open[open.count - 1].items
                open[open.count - 1].items += 1
                open.append((column, "\(parent)[\(index)]", 0))
                continue
            }
            guard let colon = rest.firstIndex(of: ":") else { continue }
            let name = String(rest[..<colon])
            let text = rest[rest.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let path = parent.isEmpty ? name : "\(parent).\(name)"
            var extent = 0
            while number + extent + 1 < lines.count, let next = lines[number + extent + 1].firstIndex(where: { $0 != " " }),
                  lines[number + extent + 1].distance(from: lines[number + extent + 1].startIndex, to: next) >= column {
                extent += 1
            }
            found.append(Key(path: path, parent: parent, name: name, line: number, column: column,
                             value: text.isEmpty ? .block : .scalar(text), childLines: extent))
            if text.isEmpty { open.append((column, path, 0)) }
        }
        return found
    }()

    static func replacing(_ key: Key, with replacement: [String]) -> String {
        var lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.replaceSubrange(key.line...(key.line + key.childLines), with: replacement)
        return lines.joined(separator: "\n")
    }

    static func keyLine(_ key: Key, _ value: String) -> String {
        let line = base.split(separator: "\n", omittingEmptySubsequences: false)[key.line]
        return String(line.prefix(key.column - 1 + key.name.count + 1)) + " " + value
    }

    /// Keys whose section in the reference page says "(required)", by the mapping they are in.
    static let required: [String: Set<String>] = {
        var sections: [String: Set<String>] = [:]
        for section in ConfigReference.common + ModbusFamily.reference {
            sections[section.path, default: []].formUnion(section.keys.filter { $0.defaultText == "(required)" }.map(\.name))
        }
        return sections
    }()

    /// The reference sections a mapping's keys are in: `buses[0]` is `buses[]` and `buses[] (type: modbus-rtu)`.
    static func isRequired(_ key: Key) -> Bool {
        let generic = key.parent.replacingOccurrences(of: #"\[\d+\]"#, with: "[]", options: .regularExpression)
        var names = [generic.isEmpty ? "(top level)" : generic]
        if generic == "buses[]" {
            let type = key.parent == "buses[0]" ? "modbus-rtu" : "modbus-tcp"
            names.append("buses[] (type: \(type))")
        } else if generic.hasPrefix("devices[]") {
            names.append("\(generic) (Modbus)")
        }
        return names.contains { required[$0]?.contains(key.name) == true }
    }

    @Test func theBaseLoads() throws {
        _ = try Self.loader.parse(yaml: Self.base, file: Self.file, environment: [:])
        #expect(Self.keys.count > 80, "the walk found \(Self.keys.count) keys")
    }

    /// A scalar where a mapping or list goes, a list where a scalar goes.
    @Test func everyKeyWithTheWrongKindOfValue() {
        for key in Self.keys {
            let wrong: String
            switch key.value {
            case .scalar: wrong = "[wrong, kind]"
            case .block: wrong = "7"
            }
            let yaml = Self.replacing(key, with: [Self.keyLine(key, wrong)])
            let problems = Self.checkRefused(yaml, "\(key.path): \(wrong)")
            #expect(problems.contains { $0.path == key.path && $0.location.line == key.line + 1 }, "\(key.path): \(wrong) gave \(problems)")
        }
    }

    /// Integers far past any range, durations past any span, names out of the name alphabet, words
    /// outside their set: every scalar that has such a form.
    @Test func everyScalarOutOfRange() {
        let numbersAnything: Set = ["scale", "offset", "min", "max"]
        var tried = 0
        for key in Self.keys {
            guard case .scalar(let text) = key.value else { continue }
            let wrong: String
            if Int(text) != nil, !numbersAnything.contains(key.name), !key.parent.hasSuffix("map") {
                wrong = "99999999999999999999"
            } else if Duration(configText: text) != nil, text.last?.isLetter == true {
                wrong = "99999999999999h"
            } else if ["id", "name", "bus"].contains(key.name) {
                wrong = "\"two words\""
            } else if ["version", "durability", "format", "parity", "type", "order", "table", "report"].contains(key.name) {
                wrong = "sideways"
            } else {
                continue
            }
            tried += 1
            let yaml = Self.replacing(key, with: [Self.keyLine(key, wrong)] + Self.childLines(key))
            let problems = Self.checkRefused(yaml, "\(key.path): \(wrong)")
            #expect(problems.contains { $0.path == key.path && $0.location.line == key.line + 1 }, "\(key.path): \(wrong) gave \(problems)")
        }
        #expect(tried > 30)
    }

    static func childLines(_ key: Key) -> [String] {
        let lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return Array(lines[(key.line + 1)..<(key.line + 1 + key.childLines)])
    }

    /// An unknown key beside every key (the `x-` prefix is known at the top only).
    @Test func anUnknownKeyBesideEveryKey() {
        for key in Self.keys where key.name != "map" && !key.parent.hasSuffix(".map") {
            let indent = String(repeating: " ", count: key.column - 1)
            let yaml = Self.replacing(key, with: Self.base.split(separator: "\n", omittingEmptySubsequences: false)[key.line...(key.line + key.childLines)]
                .map(String.init) + ["\(indent)colour_key: 1"])
            let expected = key.parent.isEmpty ? "colour_key" : "\(key.parent).colour_key"
            let problems = Self.checkRefused(yaml, "\(expected) beside \(key.path)")
            #expect(problems.contains { $0.path == expected && $0.message.hasPrefix("unknown key \"colour_key\"") },
                    "\(expected) gave \(problems)")
        }
    }

    /// Every required key taken away is missing, at its mapping.
    @Test func everyRequiredKeyTakenAway() {
        var tried = 0
        for key in Self.keys where Self.isRequired(key) {
            tried += 1
            let problems = Self.checkRefused(Self.replacing(key, with: []), "without \(key.path)")
            #expect(problems.contains { $0.path == key.parent && $0.message.hasPrefix("missing required key \"\(key.name)\"") },
                    "without \(key.path): \(problems)")
        }
        #expect(tried >= 15, "only \(tried) required keys found")
    }

    /// An explicit tag on every value that YAML reads as something else than text.
    @Test func aForeignTagOnEveryValue() {
        for key in Self.keys {
            guard case .scalar(let text) = key.value else { continue }
            let tag = key.line % 2 == 0 ? "!!binary" : "!custom"
            let yaml = Self.replacing(key, with: [Self.keyLine(key, "\(tag) \(text)")])
            let problems = Self.checkRefused(yaml, "\(key.path): \(tag)")
            #expect(problems.contains { $0.path == key.path && $0.message.hasPrefix("YAML tag \(tag) is not read") }, "\(key.path): \(problems)")
        }
    }

    /// Syntax errors on every line: an unclosed flow list, a tab, an undefined alias, an unclosed quote.
    @Test func syntaxErrorsOnEveryLine() {
        let lines = Self.base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (number, line) in lines.enumerated() where line.contains(": ") {
            let broken: [(String, String)] = [
                ("unclosed list", line.replacingOccurrences(of: ": ", with: ": [a, ", options: [], range: line.range(of: ": "))),
                ("tab", "\t" + line),
                ("undefined alias", line.replacingOccurrences(of: ": ", with: ": *nowhere ", options: [], range: line.range(of: ": "))),
                ("unclosed quote", line.replacingOccurrences(of: ": ", with: ": \"", options: [], range: line.range(of: ": "))),
            ]
            for (what, replacement) in broken {
                var edited = lines
                edited[number] = replacement
                let problems = Self.checkRefused(edited.joined(separator: "\n"), "line \(number + 1): \(what)")
                #expect(!problems.isEmpty)
            }
        }
    }

    /// Inputs built to exhaust memory or time: refused after a bounded amount of work.
    @Test(.timeLimit(.minutes(2))) func hugeAndExplosiveInputs() {
        var laughs = "x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            laughs += "x-a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let bomb = Self.checkRefused(Self.base + laughs, "billion laughs")
        #expect(bomb.contains { $0.message.contains("expands to over") })
        #expect(Self.checkRefused(Self.base + "x-big: " + String(repeating: "a", count: 200_000) + "\n", "a 200 kB scalar")
            .contains { $0.path == "x-big" && $0.message.contains("200000 bytes is longer than any setting") })
        #expect(Self.checkRefused(String(repeating: "a", count: ConfigLimits.fileBytes + 1), "a file over the limit")
            .map(\.message) == ["the config is over \(ConfigLimits.fileBytes >> 20) MiB; a config may be at most that (is it the right file?)"])
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(!Self.checkRefused(Self.base + "x-deep: " + deep + "\n", "100,000 nested lists").isEmpty)
        let indented = (0..<2_000).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        #expect(!Self.checkRefused(Self.base + "x-deep:\n" + indented + " 1\n", "2,000 nested mappings").isEmpty)
        let wide = "x-wide: [" + Array(repeating: "1", count: 1_500_000).joined(separator: ",") + "]\n"
        #expect(Self.checkRefused(Self.base + wide, "1.5 million values").contains { $0.message.contains("lines and values; a config that large is a mistake") })
    }

    /// Text the terminal would act on comes back escaped; a problem never carries a raw control character.
    @Test func controlCharactersNeverReachTheTerminal() {
        for character in ["\\e[31m", "\\a", "\\x9B", "\\b", "\\r"] {
            let yaml = Self.base.replacingOccurrences(of: "  client_id: corpus\n", with: "  client_id: corpus\n  \"col\(character)our\": 1\n")
            for problem in Self.checkRefused(yaml, "a key with \(character)") {
                #expect(!problem.description.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                        "\(problem.description.debugDescription)")
            }
        }
    }
}
