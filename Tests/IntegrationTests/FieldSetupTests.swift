import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 18: what a field engineer meets between a clone and a running Pi, through the real binary.
@Suite("Field set-up")
struct FieldSetupTests {
    static func config(state: String, buses: String = "  - {name: line1, type: modbus-rtu, port: /dev/null}",
                       mqtt: String = "", extra: String = "") -> String {
        """
        \(extra)gateway:
          id: gw-setup
          state_dir: \(state)
        time: {trust: always}
        mqtt:
          url: mqtt://127.0.0.1:1883
        \(mqtt)buses:
        \(buses)
        devices:
          - {name: meter, bus: line1, unit: 1, interval: 1s, points: [{name: voltage, address: 0}]}

        """
    }

    /// Foundation's own words must never reach a user.
    static func expectNoFoundationText(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.contains("NSCocoaErrorDomain") && !text.contains("Error Domain=") && !text.contains("UserInfo="),
                "Foundation error text in:\n\(text)", sourceLocation: sourceLocation)
    }

    @Test("a state_dir under a file: check and run name the key, the path, the errno in words and what to do; exit 73",
          .timeLimit(.minutes(2)))
    func stateDirectoryUnderAFile() throws {
        let workspace = try Workspace("setup-state-file")
        defer { workspace.remove() }
        try workspace.write("not a folder", to: "plain")
        let state = "\(workspace.path)/plain/state"
        let file = try workspace.write(Self.config(state: state), to: "site.yaml")
        for command in [["check"], ["run", "--log-target", "stderr"]] {
            let result = try runFieldlink(command + ["--config", file], in: workspace.path, name: command[0], timeout: .seconds(15))
            #expect(result.status == 73, "\(command[0]): \(result.stderr)")
            #expect(result.stderr.contains("gateway.state_dir: cannot create \(state)"), "\(command[0]): \(result.stderr)")
            #expect(result.stderr.contains("Not a directory"), "\(command[0]): \(result.stderr)")
            #expect(result.stderr.contains("set gateway.state_dir to a directory this user can write"), "\(command[0]): \(result.stderr)")
            Self.expectNoFoundationText(result.stderr)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(workspace.path)/plain/state"))
    }

    @Test("as a plain user, /var/lib-style state_dir: Permission denied, how to fix it, never NSCocoaErrorDomain",
          .timeLimit(.minutes(2)))
    func stateDirectoryAsAPlainUser() throws {
        let setpriv = try #require(["/usr/bin/setpriv", "/bin/setpriv"].first(where: FileManager.default.isExecutableFile),
                                   "setpriv (util-linux) is needed to run fieldlink as nobody")
        let workspace = try Workspace("setup-state-user")
        defer { workspace.remove() }
        chmod(workspace.path, 0o755)
        let locked = try workspace.subdirectory("var-lib")  // root's, 0755: nobody cannot create in it
        chmod(locked, 0o755)
        let state = "\(locked)/fieldlink"
        let file = try workspace.write(Self.config(state: state), to: "site.yaml")
        chmod(file, 0o644)
        for command in [["check"], ["run", "--log-target", "stderr"]] {
            let nobody = try runTool(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", try fieldlinkBinary()]
                                     + command + ["--config", file], in: workspace.path, name: "nobody-\(command[0])", timeout: .seconds(15))
            #expect(nobody.status == 73, "\(command[0]): \(nobody.stderr)")
            for fragment in ["gateway.state_dir: cannot create \(state)", "Permission denied", "run fieldlink under its systemd unit"] {
                #expect(nobody.stderr.contains(fragment), "\(command[0]): \(nobody.stderr)")
            }
            Self.expectNoFoundationText(nobody.stderr)
        }
    }

    @Test("check warns about missing serial ports and I2C adapters (with how to enable I2C) and still exits 0",
          .timeLimit(.minutes(2)))
    func missingDeviceNodesAreWarnings() throws {
        let workspace = try Workspace("setup-nodes")
        defer { workspace.remove() }
        let buses = """
              - {name: line1, type: modbus-rtu, port: /dev/ttyFIELDLINK-NOPE}
              - {name: header, type: i2c, device: /dev/i2c-97}
            """
        let text = Self.config(state: "\(workspace.path)/state", buses: buses)
            + "  - {name: room, bus: header, driver: bme280, interval: 10s, points: [{name: temperature}]}\n"
        let file = try workspace.write(text, to: "site.yaml")
        let check = try runFieldlink(["check", "--config", file], in: workspace.path, name: "check")
        #expect(check.status == 0, "\(check.stderr)")
        let warnings = check.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        let serial = warnings.first { $0.contains("/dev/ttyFIELDLINK-NOPE") }
        #expect(serial?.contains("buses.line1") == true, "\(check.stderr)")
        #expect(serial?.contains("No such file or directory") == true, "\(check.stderr)")
        let i2c = try #require(warnings.first { $0.contains("/dev/i2c-97") }, "\(check.stderr)")
        for advice in ["raspi-config", "dtparam=i2c_arm=on", "modprobe i2c-dev"] {
            #expect(i2c.contains(advice), "no \(advice) in: \(i2c)")
        }
        #expect(check.stdout.contains(": valid"))
    }

    @Test("check --quiet prints nothing for a good config and only the problems otherwise", .timeLimit(.minutes(2)))
    func quietCheck() throws {
        let workspace = try Workspace("setup-quiet")
        defer { workspace.remove() }
        let good = try workspace.write(Self.config(state: "\(workspace.path)/state"), to: "good.yaml")
        let quiet = try runFieldlink(["check", "--quiet", "--config", good], in: workspace.path, name: "quiet")
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stdout.isEmpty, "\(quiet.stdout)")
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
        let loud = try runFieldlink(["check", "--config", good], in: workspace.path, name: "loud")
        #expect(loud.stdout.contains("device meter"), "the plain check lists the config")

        let warned = try workspace.write(Self.config(state: "\(workspace.path)/state",
                                                     buses: "  - {name: line1, type: modbus-rtu, port: /dev/ttyFIELDLINK-NOPE}"), to: "warned.yaml")
        let warning = try runFieldlink(["check", "-q", "--config", warned], in: workspace.path, name: "warned")
        #expect(warning.status == 0)
        #expect(warning.stdout.isEmpty)
        #expect(warning.stderr.contains("warning: ") && warning.stderr.contains("/dev/ttyFIELDLINK-NOPE"), "\(warning.stderr)")
    }

    @Test("a password file others can read is a warning naming it and chmod 600; an unreadable one says why",
          .timeLimit(.minutes(2)))
    func passwordFilePermissions() throws {
        let workspace = try Workspace("setup-password")
        defer { workspace.remove() }
        let secret = try workspace.write("hunter2\n", to: "mqtt-password")
        let mqtt = "  username: field\n  password_file: mqtt-password\n"
        let file = try workspace.write(Self.config(state: "\(workspace.path)/state", mqtt: mqtt), to: "site.yaml")

        chmod(secret, 0o644)
        let open = try runFieldlink(["check", "--quiet", "--config", file], in: workspace.path, name: "open")
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.stderr.contains("warning: ") && open.stderr.contains("password file \(secret) can be read by other users: chmod 600 \(secret)"),
                "\(open.stderr)")

        chmod(secret, 0o600)
        let closed = try runFieldlink(["check", "--quiet", "--config", file], in: workspace.path, name: "closed")
        #expect(closed.status == 0, "\(closed.stderr)")
        #expect(closed.stderr.isEmpty, "\(closed.stderr)")

        try FileManager.default.removeItem(atPath: secret)
        let missing = try runFieldlink(["check", "--config", file], in: workspace.path, name: "missing")
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("cannot read password file \(secret): No such file or directory"), "\(missing.stderr)")
        Self.expectNoFoundationText(missing.stderr)
    }

    @Test("profiles outside the repository: FIELDLINK_PROFILES or profiles: adds a directory; the error says how",
          .timeLimit(.minutes(2)))
    func profileSearchPath() throws {
        let workspace = try Workspace("setup-profiles")
        defer { workspace.remove() }
        let shelf = try workspace.subdirectory("shelf")
        try workspace.write("""
            model: Test meter
            points:
              - {name: volts, address: 0, type: float32, unit: V}

            """, to: "shelf/shelf-meter.yaml")
        let devices = "  - {name: m1, bus: line1, unit: 1, interval: 1s, profile: shelf-meter}\n"
        let base = Self.config(state: "\(workspace.path)/state").components(separatedBy: "devices:\n")[0] + "devices:\n" + devices
        let plain = try workspace.write(base, to: "site/plain.yaml")

        let missing = try runFieldlink(["check", "--config", plain], in: workspace.path, name: "missing")
        #expect(missing.status == 78)
        #expect(missing.stderr.contains(#"no profile "shelf-meter""#), "\(missing.stderr)")
        #expect(missing.stderr.contains("FIELDLINK_PROFILES=") && missing.stderr.contains("profiles: ["), "\(missing.stderr)")

        let process = try runTool(try fieldlinkBinary(), ["check", "--config", plain], in: workspace.path, name: "env",
                                  environment: ["FIELDLINK_PROFILES": "/nonexistent:\(shelf)"])
        #expect(process.status == 0, "\(process.stderr)")
        #expect(process.stdout.contains("profile shelf-meter: Test meter (\(shelf)/shelf-meter.yaml)"), "\(process.stdout)")

        let keyed = try workspace.write("profiles: [../shelf]\n" + base, to: "site/keyed.yaml")
        let key = try runFieldlink(["check", "--config", keyed], in: workspace.path, name: "key")
        #expect(key.status == 0, "\(key.stderr)")
        #expect(key.stdout.contains("(\(shelf)/shelf-meter.yaml)"), "\(key.stdout)")
    }

    @Test("merge keys and x- anchors load; check lists disabled devices and buses as disabled", .timeLimit(.minutes(2)))
    func mergeKeysAndDisabledEntries() throws {
        let workspace = try Workspace("setup-merge")
        defer { workspace.remove() }
        let text = """
            x-meter: &meter {bus: line1, interval: 5s, points: [{name: voltage, address: 0}]}
            gateway: {id: gw-merge, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "mqtt://127.0.0.1:1883"}
            buses:
              - {name: line1, type: modbus-rtu, port: /dev/null}
              - {name: line2, type: modbus-rtu, port: /dev/zero, enabled: false}
            devices:
              - {<<: *meter, name: m1, unit: 1}
              - {<<: *meter, name: m2, unit: 2, enabled: false}
              - {<<: *meter, name: m3, unit: 3, bus: line2}

            """
        let file = try workspace.write(text, to: "merge.yaml")
        let check = try runFieldlink(["check", "--config", file], in: workspace.path, name: "check")
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("1 bus, 1 device, 1 point"), "\(check.stdout)")
        #expect(check.stdout.contains("disabled (enabled: false; checked, not run): bus(es) line2; device(s) m2, m3"), "\(check.stdout)")
        #expect(check.stdout.contains("  device m1 (unit 1) every 5s"), "\(check.stdout)")
    }
}

/// A stock mosquitto (Receive Maximum 20) below the gateway's max_inflight: the NOTICE once per run.
@Suite("Quiet logs")
struct QuietLogTests {
    @Test("the Receive Maximum NOTICE is logged once per broker per run, not at every reconnect", .timeLimit(.minutes(2)))
    func receiveMaximumNoticeOnce() throws {
        let workspace = try Workspace("setup-receive-maximum")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path, extraConfig: "max_inflight_messages 5")
        defer { broker.stop() }
        let config = try workspace.write(configHead(gateway: "gw-rm", stateDirectory: "\(workspace.path)/state", broker: broker)
            .replacingOccurrences(of: "  version: 5\n", with: "  version: 5\n  max_inflight: 50\n") + """
            buses:
              - {name: line1, type: modbus-rtu, port: /dev/ttyFIELDLINK-NOPE}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 1s, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        func connections() -> Int { gateway.stderr.components(separatedBy: "connected to mqtt://127.0.0.1:\(broker.port)").count - 1 }
        try #require(eventually(timeout: .seconds(15)) { connections() >= 1 }, "never connected; log:\n\(gateway.stderr)")
        for round in 2...3 {
            try broker.restart()
            try #require(eventually(timeout: .seconds(20)) { connections() >= round }, "no reconnect \(round); log:\n\(gateway.stderr)")
        }
        let notices = gateway.logLines(level: "NOTICE", containing: "Receive Maximum")
        #expect(notices.count == 1, "expected one Receive Maximum NOTICE over 3 connections; log:\n\(gateway.stderr)")
        #expect(notices.first?.contains("accepts only 5 unacknowledged messages") == true, "\(notices)")
    }
}

/// `scan`'s timeout is what its help says.
@Suite("Commissioning defaults")
struct ScanTimeoutTests {
    @Test("scan uses --timeout, else a configured bus's timeout, else 100ms, as scan --help says", .timeLimit(.minutes(2)))
    func scanTimeout() throws {
        let workspace = try Workspace("setup-scan")
        defer { workspace.remove() }
        let help = try runFieldlink(["scan", "--help"], in: workspace.path, name: "help")
        #expect(help.stdout.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: #" +"#, with: " ", options: .regularExpression)
            .contains("default: with --config the bus's; otherwise 500ms for probe, 100ms for scan"), "\(help.stdout)")
        let file = try workspace.write("""
            gateway: {id: gw, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "mqtt://127.0.0.1"}
            buses: [{name: line1, type: modbus-rtu, port: /dev/null, timeout: 300ms}]
            devices: [{name: m, bus: line1, unit: 1, interval: 1s, points: [{name: x, address: 0}]}]

            """, to: "site.yaml")
        // /dev/null is no serial port, so each scan stops after its first line, which names the timeout.
        for (arguments, expected) in [(["--config", file, "--bus", "line1"], "timeout 300ms"), (["--port", "/dev/null"], "timeout 100ms"),
                                      (["--config", file, "--bus", "line1", "--timeout", "50ms"], "timeout 50ms")] {
            let scan = try runFieldlink(["scan", "--units", "1"] + arguments, in: workspace.path, name: "scan")
            let first = scan.stdout.split(separator: "\n").first ?? ""
            #expect(first.hasPrefix("scanning 1 unit(s)") && first.hasSuffix(expected), "\(arguments): \(scan.stdout)\(scan.stderr)")
        }
    }
}
