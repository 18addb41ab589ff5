import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Something a test needs but cannot find: a failure with the fix in its message, never a skip.
public struct MissingPrerequisite: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A process started by a test: its output goes to files in the test's folder, and it is stopped
/// by PID (SIGTERM, then SIGKILL) when the test is done with it, whatever happened.
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    public let process: Process
    public let stdoutPath: String
    public let stderrPath: String

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Starts `executable` (a path, or a name looked up on PATH).
    public init(_ executable: String, _ arguments: [String], in directory: String, name: String? = nil,
                environment: [String: String] = [:]) throws {
        let path = try Self.locate(executable)
        self.name = name ?? URL(fileURLWithPath: executable).lastPathComponent
        stdoutPath = "\(directory)/\(self.name).stdout"
        stderrPath = "\(directory)/\(self.name).stderr"
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        try Self.withEmptySignalMask { try process.run() }
        launched = true
    }

    /// False when `run()` threw: there is no process to stop or ask for a status.
    private var launched = false

    /// Runs `body` with no signal blocked on this thread.
    ///
    /// `Process` spawns on the calling thread and the child inherits that thread's signal mask. Test
    /// code runs on libdispatch worker threads, which block nearly every signal: a child started
    /// from there never sees SIGTERM, so mosquitto would not save its sessions, and nothing would
    /// shut down gracefully. This is the clean mask a daemon gets from systemd.
    private static func withEmptySignalMask<T>(_ body: () throws -> T) rethrows -> T {
        var empty = sigset_t()
        var previous = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        return try body()
    }

    deinit { stop() }

    public static func locate(_ executable: String) throws -> String {
        if executable.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                throw MissingPrerequisite("\(executable) is missing or not executable")
            }
            return executable
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        // `String` elements: with a bare `split(...) + [...]` the type checker picks `[[Character]]`,
        // and every candidate then reads `["/", "u", "s", "r", ...]/name`.
        let directories: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for directory in directories {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw MissingPrerequisite("\(executable) not found on PATH: run `make test-deps` (README) to install what the tests need")
    }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) {
        if process.isRunning { kill(pid, number) }
    }

    /// SIGTERM (or `signal`), then SIGKILL if it is still running after `grace`; returns the exit status.
    @discardableResult
    public func stop(signal number: Int32 = SIGTERM, grace: Duration = .seconds(5)) -> Int32 {
        guard launched else { return -1 }
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, number)
        if !waitForExit(timeout: grace) {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: .seconds(5))
        }
        return process.isRunning ? -1 : process.terminationStatus
    }

    /// Waits for the process to exit by itself; false on timeout.
    public func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return false }
            usleep(20_000)
        }
        return true
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
public func eventually(timeout: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

/// A fresh folder under the system temp dir, removed by the caller's `defer`.
public func makeTemporaryDirectory(_ prefix: String = "fieldlink-test") throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The package root, for scripts and the built binary.
public let packageRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The fieldlink binary under test: `$FIELDLINK_BIN`, or the debug build.
public func fieldlinkBinary() throws -> String {
    let path = ProcessInfo.processInfo.environment["FIELDLINK_BIN"] ?? "\(packageRoot)/.build/debug/fieldlink"
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw MissingPrerequisite("fieldlink binary not found at \(path): run `swift build` first (the README's test command does)")
    }
    return path
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw MissingPrerequisite("socket(): errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw MissingPrerequisite("bind(127.0.0.1:0): errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
public func isListening(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
