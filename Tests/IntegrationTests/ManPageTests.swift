import Foundation
import Testing
import TestSupport

/// fieldlink.yaml(5) comes from the same key tables as `check`: for every section, the keys on the
/// page are exactly the keys the loader accepts (its "expected one of" list for an unknown key).
@Suite("Man pages")
struct ManPageTests {
    /// A config with an unknown key `zzz` in every section; `check` then lists, per section, what it accepts.
    static let probe = """
        zzz: 1
        gateway: {id: g, state_dir: STATE, zzz: 1}
        mqtt: {url: "mqtts://h", zzz: 1, tls: {zzz: 1}}
        buffer: {zzz: 1}
        payload: {zzz: 1}
        sparkplug: {group_id: g, zzz: 1}
        homeassistant: {enabled: true, zzz: 1}
        metrics: {textfile: STATE/m.prom, zzz: 1}
        time: {zzz: 1}
        buses:
          - {name: b, type: modbus-rtu, port: /dev/null, zzz: 1}
          - {name: t, type: modbus-tcp, host: h, zzz: 1}
          - {name: s, type: serial, port: /dev/zero, zzz: 1}
          - {name: i, type: i2c, device: /dev/i2c-1, zzz: 1}
        devices:
          - {name: d, bus: b, unit: 1, interval: 1s, zzz: 1, points: [{name: p, address: 0, zzz: 1}]}
          - {name: f, bus: s, interval: 1s, parser: keyvalue, zzz: 1, points: [{name: T, zzz: 1}]}
          - {name: g, bus: i, driver: bme280, interval: 1s, zzz: 1, points: [{name: temperature, zzz: 1}]}

        """

    /// Loader path prefix -> the page's sections whose keys together must equal the loader's list.
    static let sections: [(path: String, page: [String])] = [
        ("zzz", ["(top level)"]), ("gateway.zzz", ["gateway"]), ("mqtt.zzz", ["mqtt"]), ("mqtt.tls.zzz", ["mqtt.tls"]),
        ("buffer.zzz", ["buffer"]), ("payload.zzz", ["payload"]), ("sparkplug.zzz", ["sparkplug"]),
        ("homeassistant.zzz", ["homeassistant"]), ("metrics.zzz", ["metrics"]), ("time.zzz", ["time"]),
        ("buses[0].zzz", ["buses[]", "buses[] (type: modbus-rtu)"]), ("buses[1].zzz", ["buses[]", "buses[] (type: modbus-tcp)"]),
        ("buses[2].zzz", ["buses[]", "buses[] (type: serial)"]), ("buses[3].zzz", ["buses[]", "buses[] (type: i2c)"]),
        ("devices[0].zzz", ["devices[]", "devices[] (Modbus)"]), ("devices[1].zzz", ["devices[]", "devices[] (serial)"]),
        ("devices[2].zzz", ["devices[]", "devices[] (I2C)"]),
        ("devices[0].points[0].zzz", ["devices[].points[]", "devices[].points[] (Modbus)"]),
        ("devices[1].points[0].zzz", ["devices[].points[]", "devices[].points[] (serial)"]),
        ("devices[2].points[0].zzz", ["devices[].points[]", "devices[].points[] (I2C)"]),
    ]

    /// `.SS "section"` -> the `\fBkey\fR` after each `.TP` in it.
    static func keysBySection(_ page: String) -> [String: [String]] {
        var result: [String: [String]] = [:]
        var section: String?
        var afterTP = false
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(".SS ") {
                section = String(line.dropFirst(4)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            } else if line.hasPrefix(".SH ") {
                section = nil
            } else if line == ".TP" {
                afterTP = true
                continue
            } else if afterTP, let section, line.hasPrefix("\\fB"), let end = line.range(of: "\\fR") {
                result[section, default: []].append(String(line[line.index(line.startIndex, offsetBy: 3)..<end.lowerBound]))
            }
            afterTP = false
        }
        return result
    }

    @Test("fieldlink.yaml(5) lists exactly the keys check accepts, section by section", .timeLimit(.minutes(2)))
    func yamlPageMatchesTheLoader() throws {
        let workspace = try Workspace("man-keys")
        defer { workspace.remove() }
        let file = try workspace.write(Self.probe.replacingOccurrences(of: "STATE", with: "\(workspace.path)/state"), to: "probe.yaml")
        let check = try runFieldlink(["check", "--config", file], in: workspace.path, name: "check")
        #expect(check.status == 78)
        let reference = try runFieldlink(["reference", "--date", "2026-01-01"], in: workspace.path, name: "reference")
        #expect(reference.status == 0, "\(reference.stderr)")
        #expect(reference.stdout.hasPrefix(".TH FIELDLINK.YAML 5 \"2026-01-01\""))
        let page = Self.keysBySection(reference.stdout)
        for (path, sections) in Self.sections {
            let line = try #require(check.stderr.split(separator: "\n").first { $0.contains(": \(path): unknown key \"zzz\"") },
                                    "no unknown-key report for \(path) in:\n\(check.stderr)")
            let list = try #require(line.range(of: "(expected one of ").map { line[$0.upperBound...].dropLast() })
            let accepted = Set(list.components(separatedBy: ", "))
            let documented = sections.map { try? #require(page[$0], "no section \($0) on the page") }
            let onPage = Set(documented.compactMap { $0 }.joined())
            #expect(accepted == onPage, "\(path): missing on the page \(accepted.subtracting(onPage).sorted()), not accepted \(onPage.subtracting(accepted).sorted())")
        }
        #expect(Set(page.keys) == Set(Self.sections.flatMap(\.page)), "a section on the page that no test holds against the loader")
    }
}
