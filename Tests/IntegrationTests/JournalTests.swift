import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `--log-target journal` against a real, standalone systemd-journald.
///
/// libsystemd writes to the fixed path /run/systemd/journal/socket, and a journald may already run
/// on the machine (or in a parallel test run). So the test gives itself a private mount namespace
/// (`unshare --mount`, which needs root, like journald itself) with empty tmpfs over /run/systemd,
/// /run/log and /var/log/journal, and runs journald, fieldlink and journalctl inside it through
/// `nsenter`, which execs in place: every PID the test stops is the real process. When the holder
/// process ends, the namespace and its journal go with it; the host's journal is never touched.
@Suite("journald")
struct JournalTests {
    @Test("a failing device's warning is in the journal with DEVICE=, BUS=, PRIORITY= and SYSLOG_IDENTIFIER=",
          .timeLimit(.minutes(2)))
    func structuredFields() throws {
        let workspace = try Workspace("journal")
        defer { workspace.remove() }
        let namespace = try PrivateJournal(in: workspace.path)
        defer { namespace.stop() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        // Unit 1 answers; unit 9 is not served, so `dead` gets no reply at all.
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let dead = "dead-\(UUID().uuidString.prefix(6).lowercased())"
        let config = try workspace.write(configHead(gateway: "gw-journal", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 200ms}
            devices:
              - {name: good, bus: rs485, unit: 1, interval: 300ms, points: [{name: x, address: 0}]}
              - {name: \(dead), bus: rs485, unit: 9, interval: 300ms, points: [{name: y, address: 0}]}

            """, to: "fieldlink.yaml")
        let gateway = try namespace.start(try fieldlinkBinary(), ["run", "--config", config, "--log-target", "journal"], name: "fieldlink")
        defer { gateway.stop() }

        var entries: [[String: Any]] = []
        let found = try eventually(timeout: .seconds(20)) {
            entries = try namespace.query(["DEVICE=\(dead)", "-p", "warning"])
            return !entries.isEmpty
        }
        try #require(found, "no warning for \(dead) in the journal; fieldlink stderr:\n\(gateway.stderr)")
        pause(.seconds(2))  // several more failed polls: still one entry (state changes are logged, not repeats)
        entries = try namespace.query(["DEVICE=\(dead)", "-p", "warning"])
        #expect(entries.count == 1, "\(entries)")
        let entry = try #require(entries.first)
        #expect(entry["DEVICE"] as? String == dead)
        #expect(entry["BUS"] as? String == "rs485")
        #expect(entry["PRIORITY"] as? String == "4")
        #expect(entry["SYSLOG_IDENTIFIER"] as? String == "fieldlink")
        #expect(entry["_TRANSPORT"] as? String == "journal", "not the native protocol: \(entry)")
        #expect(entry["_PID"] as? String == "\(gateway.pid)")
        #expect((entry["MESSAGE"] as? String)?.contains("no response") == true, "\(entry)")

        // The healthy neighbour has no warnings, only its info line, with its own DEVICE= field.
        #expect(try namespace.query(["DEVICE=good", "-p", "warning"]).isEmpty)
        let good = try namespace.query(["DEVICE=good", "SYSLOG_IDENTIFIER=fieldlink"])
        #expect(good.contains { ($0["MESSAGE"] as? String)?.contains("reading all 1 point(s)") == true && $0["PRIORITY"] as? String == "6" },
                "\(good)")
        // The broker's lines carry BROKER= (metadata `broker`), upper-cased like every key.
        let broker_ = try namespace.query(["SYSLOG_IDENTIFIER=fieldlink", "BROKER=\(broker.url)"])
        #expect(!broker_.isEmpty, "no entry with BROKER=\(broker.url)")

        #expect(gateway.stop() == 0)
        // Everything went to the journal: nothing on stderr.
        #expect(gateway.stderr.isEmpty, "stderr:\n\(gateway.stderr)")
    }
}

/// A private mount namespace with its own journald; see `JournalTests`.
final class PrivateJournal: @unchecked Sendable {
    let directory: String
    let holder: ChildProcess
    private(set) var journald: ChildProcess?

    init(in directory: String) throws {
        self.directory = directory
        guard getuid() == 0 else {
            throw MissingPrerequisite("the journald test needs root (unshare --mount, journald's sockets); run the suite as root")
        }
        let script = """
            set -e
            mount -t tmpfs tmpfs /run/systemd
            mkdir -p /run/systemd/journal
            mount -t tmpfs tmpfs /run/log
            if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
            echo ready
            exec sleep 600
            """
        if !FileManager.default.fileExists(atPath: "/run/systemd") {
            try FileManager.default.createDirectory(atPath: "/run/systemd", withIntermediateDirectories: true)
        }
        holder = try ChildProcess("unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script], in: directory,
                                  name: "namespace")
        let holder = self.holder
        guard eventually(timeout: .seconds(5), { holder.stdout.contains("ready") || !holder.isRunning }), holder.isRunning else {
            holder.stop()
            throw MissingPrerequisite("cannot make a private mount namespace (unshare --mount; util-linux, root): \(holder.stderr)")
        }
        let journald = try start("/lib/systemd/systemd-journald", [], name: "journald")
        self.journald = journald
        // /proc/PID/root sees the namespace's mounts: wait for the socket fieldlink will write to.
        let socket = "/proc/\(holder.pid)/root/run/systemd/journal/socket"
        guard eventually(timeout: .seconds(10), { FileManager.default.fileExists(atPath: socket) || !journald.isRunning }),
              journald.isRunning else {
            stop()
            throw MissingPrerequisite("systemd-journald did not create its socket (apt install systemd): \(journald.stderr)")
        }
    }

    /// Starts `executable` inside the namespace; the returned process is the executable itself.
    func start(_ executable: String, _ arguments: [String], name: String) throws -> ChildProcess {
        try ChildProcess("nsenter", ["--target", "\(holder.pid)", "--mount", "--", executable] + arguments, in: directory, name: name)
    }

    /// `journalctl MATCHES -o json` inside the namespace, one object per entry.
    func query(_ matches: [String]) throws -> [[String: Any]] {
        let process = try start("journalctl", ["--no-pager", "-o", "json"] + matches, name: "journalctl-\(UUID().uuidString.prefix(6))")
        defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
        guard process.waitForExit(timeout: .seconds(10)) else {
            Issue.record("journalctl \(matches) did not exit within 10 s")
            return []
        }
        return process.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    func stop() {
        journald?.stop()
        holder.stop(signal: SIGKILL, grace: .seconds(1))
    }
}
