import Foundation
import Testing
import TestSupport

/// The Debian package (`scripts/build-deb.sh`, `make deb`) and `make install`, checked the way a
/// system sees them: dpkg-deb's view of the archive, then dpkg installing, upgrading over an edited
/// conffile, removing and purging it in a scratch root.
///
/// The package under test is `$FIELDLINK_DEB` when set (e.g. `make deb`'s release package);
/// otherwise the test builds one from the binary under test (`$FIELDLINK_BIN`, the debug build) with
/// `scripts/build-deb.sh --binary`, which packages exactly as `make deb` does minus the 2-4 minute
/// release build. (A debug binary links the toolchain's Swift runtime, which no package provides: such
/// a .deb is for this test only.)
@Suite("Packaging")
struct PackageTests {
    static let expectedFiles: Set<String> = {
        var files: Set<String> = [
            "/usr/bin/fieldlink", "/lib/systemd/system/fieldlink.service", "/usr/lib/sysusers.d/fieldlink.conf",
            "/etc/fieldlink/fieldlink.yaml", "/usr/share/doc/fieldlink/README.md", "/usr/share/doc/fieldlink/copyright",
            "/usr/share/man/man1/fieldlink.1.gz", "/usr/share/man/man5/fieldlink.yaml.5.gz",
        ]
        for profile in (try? FileManager.default.subpathsOfDirectory(atPath: "\(packageRoot)/devices")) ?? [] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(packageRoot)/devices/\(profile)", isDirectory: &isDirectory), !isDirectory.boolValue {
                files.insert("/usr/share/fieldlink/devices/\(profile)")
            }
        }
        return files
    }()

    @Test("the .deb declares the right control fields, files, modes and conffile", .timeLimit(.minutes(8)))
    func archive() throws {
        let workspace = try Workspace("deb-archive")
        defer { workspace.remove() }
        let deb = try Self.package()
        #expect(URL(fileURLWithPath: deb).lastPathComponent.hasPrefix("fieldlink_"), "\(deb) is not named fieldlink_<version>_<arch>.deb")

        // Control: dpkg-deb --info (the fields), against what the packaged binary says of itself.
        let info = try Self.check("dpkg-deb", ["--info", deb], in: workspace)
        let fields = Self.controlFields(info)
        let extracted = try workspace.subdirectory("extracted")
        _ = try Self.check("dpkg-deb", ["-x", deb, extracted], in: workspace)
        let version = try Self.check("\(extracted)/usr/bin/fieldlink", ["--version"], in: workspace)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let architecture = try Self.check("dpkg", ["--print-architecture"], in: workspace).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(fields["Package"] == "fieldlink")
        #expect(fields["Version"] == version, "Version: \(fields["Version"] ?? "-") but the binary says \(version)")
        #expect(fields["Architecture"] == architecture)
        #expect(!(fields["Maintainer"] ?? "").isEmpty && !(fields["Description"] ?? "").isEmpty, "\(info)")
        let depends = (fields["Depends"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0] }
        for library in ["libmodbus5", "libmosquitto1", "libssl3", "libsystemd0", "libyaml-0-2"] {
            #expect(depends.contains(Substring(library)), "Depends: \(fields["Depends"] ?? "-") lacks \(library)")
        }
        #expect(URL(fileURLWithPath: deb).lastPathComponent == "fieldlink_\(version)_\(architecture).deb")

        // Contents: exactly the expected files, owned by root, with the right modes.
        let listing = try Self.check("dpkg-deb", ["--contents", deb], in: workspace)
        var files: [String: String] = [:]
        for line in listing.split(separator: "\n") {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count >= 6 else { continue }
            #expect(columns[1] == "root/root", "not owned by root: \(line)")
            let path = String(columns[5].dropFirst())   // "./usr/bin/fieldlink"
            if columns[0].hasPrefix("-") { files[path] = String(columns[0]) }
        }
        #expect(Set(files.keys) == Self.expectedFiles,
                "missing: \(Self.expectedFiles.subtracting(files.keys).sorted()), unexpected: \(Set(files.keys).subtracting(Self.expectedFiles).sorted())")
        for (path, mode) in files {
            #expect(mode == (path == "/usr/bin/fieldlink" ? "-rwxr-xr-x" : "-rw-r--r--"), "\(path) has mode \(mode)")
        }

        // The files are the repository's, the config with every comment, and it validates as shipped.
        for (installed, source) in [("etc/fieldlink/fieldlink.yaml", "config/example.yaml"),
                                    ("lib/systemd/system/fieldlink.service", "systemd/fieldlink.service"),
                                    ("usr/lib/sysusers.d/fieldlink.conf", "systemd/fieldlink.sysusers"),
                                    ("usr/share/doc/fieldlink/README.md", "README.md")] {
            #expect(FileManager.default.contentsEqual(atPath: "\(extracted)/\(installed)", andPath: "\(packageRoot)/\(source)"),
                    "/\(installed) differs from \(source)")
        }
        let config = try String(contentsOfFile: "\(extracted)/etc/fieldlink/fieldlink.yaml", encoding: .utf8)
        #expect(config.contains("\n  state_dir: /var/lib/fieldlink "), "state_dir is not the unit's StateDirectory= (/var/lib/fieldlink)")
        let unit = try String(contentsOfFile: "\(extracted)/lib/systemd/system/fieldlink.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/bin/fieldlink run --config /etc/fieldlink/fieldlink.yaml"))
        #expect(unit.contains("\nStateDirectory=fieldlink\n"))
        let check = try runTool("\(extracted)/usr/bin/fieldlink", ["check", "--config", "\(extracted)/etc/fieldlink/fieldlink.yaml"],
                                in: workspace.path, name: "fieldlink-check")
        #expect(check.status == 0, "the shipped config does not validate:\n\(check.stdout)\(check.stderr)")

        // The man pages: see PackageContentTests.

        // DEBIAN/: the conffile list and the maintainer scripts.
        let control = try workspace.subdirectory("DEBIAN")
        _ = try Self.check("dpkg-deb", ["-e", deb, control], in: workspace)
        let conffiles = try String(contentsOfFile: "\(control)/conffiles", encoding: .utf8)
        #expect(conffiles.split(separator: "\n") == ["/etc/fieldlink/fieldlink.yaml"], "conffiles: \(conffiles)")
        for script in ["postinst", "prerm", "postrm"] {
            let path = "\(control)/\(script)"
            #expect(FileManager.default.isExecutableFile(atPath: path), "DEBIAN/\(script) is missing or not executable")
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            #expect(text.hasPrefix("#!/bin/sh\n"), "DEBIAN/\(script) is not a /bin/sh script")
            let syntax = try runTool("sh", ["-n", path], in: workspace.path, name: "sh-n-\(script)")
            #expect(syntax.status == 0, "sh -n DEBIAN/\(script):\n\(syntax.stderr)")
        }
    }

    @Test("dpkg installs it into a scratch root, keeps an edited conffile, removes and purges it", .timeLimit(.minutes(8)))
    func installRemovePurge() throws {
        let workspace = try Workspace("deb-install")
        defer { workspace.remove() }
        let deb = try Self.package()
        let root = try workspace.subdirectory("root")
        let systemctl = try FakeTools(["systemctl"], in: workspace)
        for folder in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"] {
            _ = try workspace.subdirectory("root/\(folder)")
        }
        try workspace.write("", to: "root/var/lib/dpkg/status")
        // --force-script-chrootless: the maintainer scripts run here with DPKG_ROOT=root (the scratch
        // root has no /bin/sh to chroot into); --force-depends: its status file knows no libraries.
        func dpkg(_ arguments: [String]) throws -> String {
            let options = ["--root=\(root)", "--log=\(workspace.path)/dpkg.log", "--force-depends", "--force-not-root",
                           "--force-script-chrootless", "--force-unsafe-io"]
            return try Self.check("dpkg", options + arguments, in: workspace, environment: systemctl.environment, timeout: .seconds(120))
        }
        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: "\(root)\(path)") }

        _ = try dpkg(["--install", deb])
        for file in Self.expectedFiles { #expect(exists(file), "\(file) not installed") }
        #expect(try Self.check("\(root)/usr/bin/fieldlink", ["--version"], in: workspace).isEmpty == false)
        // The postinst created the unit's i2c group (systemd-sysusers) in the scratch root, not here.
        let group = (try? String(contentsOfFile: "\(root)/etc/group", encoding: .utf8)) ?? ""
        #expect(group.split(separator: "\n").contains { $0.hasPrefix("i2c:") }, "no i2c group in the scratch root's /etc/group: \(group)")

        // An edited conffile survives a reinstall (an upgrade to the same version).
        let config = "\(root)/etc/fieldlink/fieldlink.yaml"
        let edited = try String(contentsOfFile: config, encoding: .utf8) + "# edited by the operator\n"
        try edited.write(toFile: config, atomically: true, encoding: .utf8)
        _ = try dpkg(["--install", deb])
        #expect(try String(contentsOfFile: config, encoding: .utf8) == edited, "the reinstall replaced the edited conffile")

        // Remove: the program goes, the conffile stays; purge: the conffile and the state go too.
        _ = try workspace.subdirectory("root/var/lib/private/fieldlink/buffer")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/var/lib/fieldlink", withDestinationPath: "private/fieldlink")
        _ = try dpkg(["--remove", "fieldlink"])
        #expect(!exists("/usr/bin/fieldlink") && !exists("/lib/systemd/system/fieldlink.service"))
        #expect(exists("/etc/fieldlink/fieldlink.yaml"), "remove deleted the conffile")
        #expect(try dpkg(["--status", "fieldlink"]).contains("Status: deinstall ok config-files"))
        _ = try dpkg(["--purge", "fieldlink"])
        for path in ["/etc/fieldlink/fieldlink.yaml", "/var/lib/private/fieldlink", "/var/lib/fieldlink"] {
            #expect(!exists(path) && (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(root)\(path)")) == nil,
                    "\(path) survived the purge")
        }

        // Installing into another root never touches this system's systemd: systemctl only with --root.
        let calls = systemctl.calls
        #expect(calls.contains { $0.hasPrefix("systemctl --root=") && $0.hasSuffix(" disable fieldlink.service") },
                "prerm did not disable the unit: \(calls)")
        #expect(calls.allSatisfy { $0.hasPrefix("systemctl --root=") }, "systemctl called on the running system: \(calls)")
    }

    @Test("maintainer scripts outside dpkg: systemctl only where systemd runs, sysusers always", .timeLimit(.minutes(8)))
    func maintainerScripts() throws {
        let workspace = try Workspace("deb-scripts")
        defer { workspace.remove() }
        let deb = try Self.package()
        let control = try workspace.subdirectory("DEBIAN")
        _ = try Self.check("dpkg-deb", ["-e", deb, control], in: workspace)
        // Both tools faked: the scripts run against this machine (no DPKG_ROOT), as in a container or a
        // chroot. Purge is left out: it deletes /var/lib/fieldlink (the installRemovePurge test covers it).
        let tools = try FakeTools(["systemctl", "systemd-sysusers"], in: workspace)
        let live = FileManager.default.fileExists(atPath: "/run/systemd/system")
        let cases: [(script: String, arguments: [String], live: [String], offline: [String])] = [
            ("postinst", ["configure", ""], ["systemd-sysusers fieldlink.conf", "systemctl daemon-reload"], ["systemd-sysusers fieldlink.conf"]),
            ("postinst", ["configure", "0.0.1"],
             ["systemd-sysusers fieldlink.conf", "systemctl daemon-reload", "systemctl try-restart fieldlink.service"],
             ["systemd-sysusers fieldlink.conf"]),
            ("prerm", ["upgrade", "0.0.2"], [], []),
            ("prerm", ["remove"], ["systemctl stop fieldlink.service", "systemctl disable fieldlink.service"],
             ["systemctl disable fieldlink.service"]),
            ("postrm", ["remove"], ["systemctl daemon-reload"], []),
            ("postrm", ["upgrade", "0.0.2"], [], []),
        ]
        for entry in cases {
            tools.reset()
            let result = try runTool("\(control)/\(entry.script)", entry.arguments, in: workspace.path,
                                     name: "\(entry.script)-\(entry.arguments.joined(separator: "-"))",
                                     environment: tools.environment.merging(["DPKG_ROOT": ""]) { _, new in new })
            #expect(result.status == 0, "\(entry.script) \(entry.arguments) exited \(result.status):\n\(result.stderr)")
            #expect(tools.calls == (live ? entry.live : entry.offline),
                    "\(entry.script) \(entry.arguments) (systemd \(live ? "running" : "not running")) called \(tools.calls)")
        }
    }

    @Test("make install DESTDIR=… PREFIX=… installs the binary, a unit pointing at it and the config; uninstall removes all but the config",
          .timeLimit(.minutes(3)))
    func makeInstall() throws {
        let workspace = try Workspace("make-install")
        defer { workspace.remove() }
        let destination = try workspace.subdirectory("dest")
        let prefix = "/opt/fieldlink"
        let variables = ["DESTDIR=\(destination)", "PREFIX=\(prefix)", "BINARY=\(try fieldlinkBinary())"]
        func make(_ target: String) throws -> String {
            try Self.check("make", ["--no-print-directory", "-C", packageRoot, target] + variables, in: workspace, timeout: .seconds(60))
        }
        func regularFiles() -> Set<String> {
            let all = (try? FileManager.default.subpathsOfDirectory(atPath: destination)) ?? []
            return Set(all.filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: "\(destination)/\(path)", isDirectory: &isDirectory) && !isDirectory.boolValue
            }.map { "/" + $0 })
        }

        _ = try make("install")
        var expected: Set<String> = [
            "\(prefix)/bin/fieldlink", "\(prefix)/lib/systemd/system/fieldlink.service", "\(prefix)/lib/sysusers.d/fieldlink.conf",
            "\(prefix)/share/doc/fieldlink/README.md", "/etc/fieldlink/fieldlink.yaml",
        ]
        for file in Self.expectedFiles where file.hasPrefix("/usr/share/fieldlink/") {
            expected.insert(prefix + file.dropFirst("/usr".count))
        }
        #expect(regularFiles() == expected)
        #expect(FileManager.default.isExecutableFile(atPath: "\(destination)\(prefix)/bin/fieldlink"))
        let unit = try String(contentsOfFile: "\(destination)\(prefix)/lib/systemd/system/fieldlink.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=\(prefix)/bin/fieldlink run --config /etc/fieldlink/fieldlink.yaml"))
        #expect(!unit.contains("/usr/bin/fieldlink"), "the unit still refers to /usr/bin/fieldlink")
        let config = "\(destination)/etc/fieldlink/fieldlink.yaml"
        #expect(FileManager.default.contentsEqual(atPath: config, andPath: "\(packageRoot)/config/example.yaml"))

        // A second install keeps the operator's config.
        try "# mine\n".write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try make("install").contains("keeping the existing"))
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "# mine\n")

        _ = try make("uninstall")
        #expect(regularFiles() == ["/etc/fieldlink/fieldlink.yaml"])
    }

    // MARK: - Helpers

    /// The .deb under test: `$FIELDLINK_DEB`, or one built from the binary under test, once per run.
    static func package() throws -> String {
        if let deb = ProcessInfo.processInfo.environment["FIELDLINK_DEB"] {
            guard FileManager.default.fileExists(atPath: deb) else { throw MissingPrerequisite("FIELDLINK_DEB=\(deb) does not exist (make deb builds it)") }
            return deb
        }
        return try built.get()
    }

    /// Built by the first test that asks (the others wait for it), next to the binary: build output,
    /// replaced by the next run. With --binary the script runs no `swift build` (`swift test` holds
    /// the scratch path's lock); gzip instead of xz saves ~10 s on a 25 MB debug binary.
    static let built: Result<String, any Error> = Result {
        let binary = try fieldlinkBinary()
        let folder = URL(fileURLWithPath: binary).deletingLastPathComponent().path
        let output = "\(folder)/package-tests"
        let workspace = try Workspace("deb-build")
        defer { workspace.remove() }
        let printed = try check(packageRoot + "/scripts/build-deb.sh",
                                ["--binary", binary, "--output", output],
                                in: workspace, environment: ["DPKG_DEB_COMPRESSOR_TYPE": "gzip"], timeout: .seconds(300))
        let deb = printed.split(separator: "\n").last.map(String.init) ?? ""
        guard deb.hasSuffix(".deb"), FileManager.default.fileExists(atPath: deb) else {
            throw MissingPrerequisite("scripts/build-deb.sh printed no .deb path:\n\(printed)")
        }
        return deb
    }

    /// Runs a tool that must succeed; its stdout.
    static func check(_ tool: String, _ arguments: [String], in workspace: Workspace, environment: [String: String] = [:],
                      timeout: Duration = .seconds(30)) throws -> String {
        // A name without slashes: runTool's default (the tool as given) would put a path's output files in missing folders.
        let name = "\(URL(fileURLWithPath: tool).lastPathComponent)-\(UUID().uuidString.prefix(6))"
        let result = try runTool(tool, arguments, in: workspace.path, name: name, environment: environment, timeout: timeout)
        guard result.status == 0 else {
            throw MissingPrerequisite("\(tool) \(arguments.joined(separator: " ")) exited \(result.status):\n\(result.stdout)\(result.stderr)")
        }
        return result.stdout
    }

    /// `Key: value` lines of `dpkg-deb --info` (continuation lines left out).
    static func controlFields(_ info: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in info.split(separator: "\n") where line.hasPrefix(" ") && !line.hasPrefix("  ") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard !key.contains(" ") else { continue }
            fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}

/// Stand-ins for system tools, first on PATH: each records `name args…` as one line and succeeds.
final class FakeTools: Sendable {
    let folder: String
    let log: String
    let environment: [String: String]

    init(_ names: [String], in workspace: Workspace) throws {
        folder = try workspace.subdirectory("fake-bin")
        log = "\(folder)/calls.log"
        for name in names {
            let path = try workspace.write("#!/bin/sh\necho \"\(name) $*\" >>'\(log)'\n", to: "fake-bin/\(name)")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        // sbin too: dpkg wants ldconfig and start-stop-daemon on PATH.
        environment = ["PATH": "\(folder):" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"]
    }

    var calls: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func reset() { try? FileManager.default.removeItem(atPath: log) }
}
