import Foundation
import Testing
import TestSupport

/// What a newcomer finds in the installed package: the man pages, the copyright of everything
/// linked, a description that says what it does, and the profiles found without help.
@Suite("Package contents")
struct PackageContentTests {
    /// The package unpacked into a workspace.
    static func unpacked(_ name: String) throws -> (workspace: Workspace, root: String) {
        let workspace = try Workspace(name)
        let deb = try PackageTests.package()
        let root = try workspace.subdirectory("root")
        _ = try PackageTests.check("dpkg-deb", ["-x", deb, root], in: workspace)
        return (workspace, root)
    }

    @Test("fieldlink(1) has every command, the exit codes, signals and files; fieldlink.yaml(5) the key tables",
          .timeLimit(.minutes(8)))
    func manPages() throws {
        let (workspace, root) = try Self.unpacked("deb-man")
        defer { workspace.remove() }
        let binary = "\(root)/usr/bin/fieldlink"
        let version = try PackageTests.check(binary, ["--version"], in: workspace).trimmingCharacters(in: .whitespacesAndNewlines)
        let page = try PackageTests.check("gzip", ["-dc", "\(root)/usr/share/man/man1/fieldlink.1.gz"], in: workspace)
        #expect(page.contains(".TH FIELDLINK 1 ") && page.contains("\"fieldlink \(version)\""), "\(page.prefix(300))")
        #expect(!page.contains("@DATE@") && !page.contains("@VERSION@"))
        for section in ["COMMANDS", "EXIT STATUS", "SIGNALS", "ENVIRONMENT", "FILES", "SEE ALSO"] {
            #expect(page.contains(".SH \(section)"), "fieldlink(1) has no \(section) section")
        }
        // Every subcommand the binary lists in its help is described.
        let help = try PackageTests.check(binary, ["--help"], in: workspace)
        let listing = help.components(separatedBy: "SUBCOMMANDS:\n").last?.components(separatedBy: "\n\n").first ?? ""
        let subcommands = listing.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }  // not a wrapped description
            return line.split(separator: " ").first.map(String.init)
        }
        #expect(subcommands.count >= 6, "no subcommands found in:\n\(help)")
        for command in subcommands {
            #expect(page.contains("\n.B \(command)\n") || page.contains("\n.B \(command) "), "fieldlink(1) does not describe \(command)")
        }
        for fragment in ["\n.B 73\n", "\n.B 78\n", "SIGHUP", "SIGTERM", "/etc/fieldlink/mqtt-password", "password_file: mqtt-password",
                         "FIELDLINK_PROFILES", "/usr/share/fieldlink/devices/"] {
            #expect(page.contains(fragment), "fieldlink(1) lacks \(fragment.debugDescription)")
        }
        let rendered = try runTool("man", ["-l", "-Tutf8", "\(root)/usr/share/man/man1/fieldlink.1.gz"], in: workspace.path, name: "man1")
        let plain = rendered.stdout.replacingOccurrences(of: ".\u{08}", with: "", options: .regularExpression)  // bold by overstrike
        #expect(rendered.status == 0 && plain.contains("EXIT STATUS") && rendered.stderr.isEmpty, "man -l fieldlink.1: \(rendered.stderr)")

        let yaml = try PackageTests.check("gzip", ["-dc", "\(root)/usr/share/man/man5/fieldlink.yaml.5.gz"], in: workspace)
        let generated = try PackageTests.check(binary, ["reference", "--date", "x"], in: workspace)
        #expect(yaml.replacingOccurrences(of: #""\d{4}-\d\d-\d\d""#, with: "\"x\"", options: .regularExpression) == generated,
                "the packaged fieldlink.yaml(5) is not the binary's `fieldlink reference`")
        for key in ["state_dir", "password_file", "enabled", "profiles", "max_inflight"] {
            #expect(yaml.contains("\\fB\(key)\\fR"), "fieldlink.yaml(5) lacks \(key)")
        }
    }

    @Test("copyright names every package in Package.resolved; the description is not Modbus-RTU only", .timeLimit(.minutes(8)))
    func copyrightAndDescription() throws {
        let (workspace, root) = try Self.unpacked("deb-copyright")
        defer { workspace.remove() }
        let copyright = try String(contentsOfFile: "\(root)/usr/share/doc/fieldlink/copyright", encoding: .utf8)
        let resolved = try String(contentsOfFile: "\(packageRoot)/Package.resolved", encoding: .utf8)
        let identities = resolved.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("\"identity\"") else { return nil }
            return line.split(separator: "\"").dropLast().last.map(String.init)
        }
        #expect(identities.contains("swift-protobuf") && identities.contains("swift-async-algorithms"), "\(identities)")
        for identity in identities {
            #expect(copyright.lowercased().contains(identity), "copyright does not list \(identity)")
        }
        let info = try PackageTests.check("dpkg-deb", ["--field", try PackageTests.package(), "Description"], in: workspace)
        #expect(!info.contains("(Modbus-RTU to MQTT)"), "\(info)")
        for word in ["Modbus", "serial", "I2C", "MQTT"] {
            #expect(info.contains(word), "the description does not mention \(word): \(info)")
        }
    }

    @Test("the installed binary finds the packaged profiles for a config anywhere", .timeLimit(.minutes(8)))
    func packagedProfiles() throws {
        let (workspace, root) = try Self.unpacked("deb-profiles")
        defer { workspace.remove() }
        let config = try workspace.write("""
            gateway: {id: gw, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "mqtt://127.0.0.1"}
            buses: [{name: line1, type: modbus-rtu, port: /dev/null}]
            devices: [{name: m1, bus: line1, unit: 1, interval: 1s, profile: eastron-sdm120}]

            """, to: "home/pi/site.yaml")
        let check = try runTool("\(root)/usr/bin/fieldlink", ["check", "--config", config], in: workspace.path, name: "check")
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("(\(root)/usr/share/fieldlink/devices/eastron-sdm120.yaml)"), "\(check.stdout)")
    }

    @Test("make deb ARCH=arm64 without an aarch64 Swift SDK prints the one missing step", .timeLimit(.minutes(2)))
    func crossBuildSaysWhatIsMissing() throws {
        let workspace = try Workspace("deb-cross")
        defer { workspace.remove() }
        let noSDKs = try workspace.subdirectory("swift-sdks")  // an empty SDK folder, whatever this machine has installed
        let make = try runTool("make", ["-n", "-C", packageRoot, "deb", "ARCH=arm64"], in: workspace.path, name: "make-n")
        #expect(make.stdout.contains("scripts/build-deb.sh --arch arm64"), "make deb ARCH=arm64 does not pass the architecture:\n\(make.stdout)")
        let build = try runTool("\(packageRoot)/scripts/build-deb.sh", ["--arch", "arm64", "--output", "\(workspace.path)/dist"],
                                in: workspace.path, name: "build-deb", environment: ["SWIFT_SDKS_PATH": noSDKs], timeout: .seconds(60))
        #expect(build.status == 69, "exit \(build.status):\n\(build.stderr)")
        let lines = build.stderr.split(separator: "\n")
        #expect(lines.count == 1, "more than the one step:\n\(build.stderr)")
        let step = String(lines.first ?? "")
        for fragment in ["one step is missing", "--target aarch64-unknown-linux-gnu", "swift sdk install", "make deb ARCH=arm64"] {
            #expect(step.contains(fragment), "no \(fragment.debugDescription) in: \(step)")
        }
        let made = (try? FileManager.default.contentsOfDirectory(atPath: "\(workspace.path)/dist")) ?? []
        #expect(made.isEmpty, "a package was made anyway: \(made)")
    }
}
