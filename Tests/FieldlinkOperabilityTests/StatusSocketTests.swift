import FieldlinkOperability
import Foundation
import Logging
import Testing

/// The status socket on its own: a server with a fixed document, the client's answers and failures.
struct StatusSocketTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "status-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(.timeLimit(.minutes(1))) func answersWithTheDocumentThenStopsWhenCancelled() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = StatusSocketPath.daemon(stateDirectory: directory, environment: [:])
        let document = sampleDocument()
        let server = StatusSocketServer(path: path, logger: Logger(label: "test")) { document }
        let task = Task { try await server.run() }
        var answer: Data?
        for _ in 0..<200 where answer == nil {
            answer = try? StatusClient.fetch(candidates: [path])
            if answer == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let data = try #require(answer, "no answer on \(path)")
        #expect(try StatusDocument.decode(data) == document)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        task.cancel()
        try await task.value
        #expect(!FileManager.default.fileExists(atPath: path), "the socket is removed when the server stops")
    }

    @Test func noSocketAndAStaleSocketAreNamed() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/status.sock"
        #expect {
            try StatusClient.fetch(candidates: [path])
        } throws: { error in
            "\(error)" == "no daemon is running: no status socket at \(path)"
        }
        // A socket file nobody listens on, as a crashed daemon leaves it.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])", path]
        try process.run()
        process.waitUntilExit()
        try #require(FileManager.default.fileExists(atPath: path))
        #expect {
            try StatusClient.fetch(candidates: [path])
        } throws: { error in
            "\(error)".contains("no daemon listens")
        }
    }

    @Test func theDaemonUsesSystemdsRuntimeDirectoryAndTheClientLooksThereToo() {
        let environment = ["RUNTIME_DIRECTORY": "/run/fieldlink:/run/other"]
        #expect(StatusSocketPath.daemon(stateDirectory: "/var/lib/fieldlink", environment: environment) == "/run/fieldlink/status.sock")
        #expect(StatusSocketPath.daemon(stateDirectory: "/srv/fl", environment: [:]) == "/srv/fl/status.sock")
        #expect(StatusSocketPath.candidates(stateDirectory: "/srv/fl", environment: [:]) == ["/srv/fl/status.sock", "/run/fieldlink/status.sock"])
    }
}
