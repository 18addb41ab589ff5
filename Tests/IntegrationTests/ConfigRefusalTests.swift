import Foundation
import Testing
import TestSupport

/// `fieldlink check` as a user runs it on what the loader's unit tests (ConfigFileTests,
/// ConfigCorpusTests) cover in-process: a FIFO, an endless device, a huge file, control characters,
/// no devices (issue 19 §3). Each is refused with exit 78, in our own words, with its location, at
/// once (a FIFO never blocks), in bounded memory, and nothing raw reaches the terminal.
@Suite("Config refusals")
struct ConfigRefusalTests {
    static let foundationTexts = ["NSCocoaErrorDomain", "The operation could not be completed", "You don't have permission"]

    /// `fieldlink check --config FILE` under python3, which reports the child's peak RSS (kB).
    func check(_ file: String, in workspace: Workspace, name: String) throws -> (status: Int32, stderr: String, peakKB: Int) {
        let measure = """
            import resource, subprocess, sys
            done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20)
            sys.stdout.write("%d %d\\n" % (done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            sys.stderr.buffer.write(done.stderr)
            """
        let process = try ChildProcess("python3", ["-c", measure, try fieldlinkBinary(), "check", "--quiet", "--config", file],
                                       in: workspace.path, name: name)
        defer { process.stop(signal: SIGKILL, grace: .seconds(1)) }
        guard process.waitForExit(timeout: .seconds(30)) else {
            Issue.record("fieldlink check --config \(file) did not finish within 30 s")
            return (-1, process.stderr, 0)
        }
        let figures = process.stdout.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        try #require(figures.count == 2, "no figures from the measuring python: \(process.stdout) \(process.stderr)")
        return (Int32(figures[0]), process.stderr, figures[1])
    }

    @Test(.timeLimit(.minutes(2))) func specialAndHugeFilesAreRefusedQuicklyInOurWords() throws {
        let workspace = try Workspace("config-refusals")
        defer { workspace.remove() }
        let fifo = "\(workspace.path)/fifo.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        // 20 MB in one scalar: refused by the file's size before any of it is parsed.
        let huge = "\(workspace.path)/huge.yaml"
        #expect(FileManager.default.createFile(atPath: huge, contents: Data("gateway: {id: \"".utf8) + Data(repeating: 0x61, count: 20_000_000)
            + Data("\"}\n".utf8)))
        let escape = try workspace.write("gateway: {id: gw, state_dir: \(workspace.path)/state}\nmqtt: {url: mqtt://127.0.0.1}\n"
            + "buses: []\ndevices: []\n\"\\e]0;owned\\a\": 1\n", to: "escape.yaml")
        let empty = try workspace.write("gateway: {id: gw, state_dir: \(workspace.path)/state}\nmqtt: {url: mqtt://127.0.0.1}\n"
            + "buses: []\ndevices: []\n", to: "no-devices.yaml")
        let cases: [(file: String, expected: String)] = [
            (fifo, "\(fifo):1:1: cannot read config file: it is a named pipe (FIFO), not a regular file"),
            ("/dev/zero", "/dev/zero:1:1: cannot read config file: it is a character device, not a regular file"),
            (huge, "\(huge):1:1: cannot read config file: it is 20000018 bytes, more than the"),
            (escape, "\(escape):5:1: \\u{1B}]0;owned\\u{7}: unknown key"),
            (empty, "\(empty):4:10: devices: no device is configured"),
        ]
        for (index, (file, expected)) in cases.enumerated() {
            let result = try check(file, in: workspace, name: "check-\(index)")
            #expect(result.status == 78, "\(file): exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains(expected), "\(file): \(result.stderr)")
            #expect(!result.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(file): a raw control character: \(result.stderr.debugDescription)")
            for text in Self.foundationTexts { #expect(!result.stderr.contains(text), "\(file): \(result.stderr)") }
            #expect(result.peakKB < 200_000, "\(file): peak RSS \(result.peakKB) kB")
            print("check \(URL(fileURLWithPath: file).lastPathComponent): exit \(result.status), peak RSS \(result.peakKB / 1024) MB")
        }
    }
}
