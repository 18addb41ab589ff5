import Foundation
import Testing
import TestSupport

/// `systemd/fieldlink.service` as systemd sees it, offline (no running manager needed).
@Suite("The systemd unit")
struct SystemdUnitTests {
    static let unit = "\(packageRoot)/systemd/fieldlink.service"

    @Test("systemd-analyze security --offline scores the unit at 2.0 or better", .timeLimit(.minutes(1)))
    func securityScore() throws {
        let workspace = try Workspace("unit-security")
        defer { workspace.remove() }
        let result = try runTool("systemd-analyze", ["security", "--offline=true", "--no-pager", Self.unit], in: workspace.path)
        // "→ Overall exposure level for fieldlink.service: 1.5 OK"
        let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") },
                                "no score in:\n\(result.stdout)\n\(result.stderr)")
        let number = line.split(separator: ":").last.flatMap { $0.split(separator: " ").first }.flatMap { Double($0) }
        let score = try #require(number, "cannot read the score in \(line)")
        #expect(score <= 2.0, "exposure \(score) > 2.0:\n\(result.stdout)")
    }

    @Test("systemd-analyze verify finds nothing to complain about", .timeLimit(.minutes(1)))
    func verify() throws {
        let workspace = try Workspace("unit-verify")
        defer { workspace.remove() }
        // verify checks that ExecStart's binary exists: the copy points it at the binary under test.
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/bin/fieldlink", with: try fieldlinkBinary())
        #expect(text.contains("ExecStart=\(try fieldlinkBinary()) run"), "the unit no longer runs /usr/bin/fieldlink")
        let copy = try workspace.write(text, to: "fieldlink.service")
        let result = try runTool("systemd-analyze", ["verify", copy], in: workspace.path)
        #expect(result.status == 0 && result.stderr.isEmpty && result.stdout.isEmpty,
                "exit \(result.status):\n\(result.stdout)\n\(result.stderr)")
    }

    @Test("the unit declares what the deployment relies on", arguments: [
        "Type=notify", "WatchdogSec=", "DynamicUser=yes", "StateDirectory=fieldlink", "ConfigurationDirectory=fieldlink",
        "SupplementaryGroups=dialout i2c", "DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-i2c rw",
        "LoadCredential=mqtt-password:", "SetCredential=mqtt-password:", "ProtectSystem=strict", "NoNewPrivileges=yes", "SystemCallFilter=@system-service",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet=\n", "Restart=on-failure",
        "RestartPreventExitStatus=78",
    ])
    func declares(line: String) throws {
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
        #expect(text.contains("\n" + line), "missing \(line.debugDescription)")
    }
}

/// Runs a tool to completion (bounded), with its exit status and output.
func runTool(_ tool: String, _ arguments: [String], in directory: String, name: String? = nil,
             environment: [String: String] = [:], timeout: Duration = .seconds(30)) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = try ChildProcess(tool, arguments, in: directory, name: name ?? "\(tool)-\(UUID().uuidString.prefix(6))",
                                   environment: environment)
    defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
    guard process.waitForExit(timeout: timeout) else {
        Issue.record("\(tool) \(arguments.joined(separator: " ")) did not exit within \(timeout)")
        return (-1, process.stdout, process.stderr)
    }
    return (process.process.terminationStatus, process.stdout, process.stderr)
}
