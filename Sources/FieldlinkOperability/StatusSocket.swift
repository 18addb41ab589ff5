import CLinuxIO
import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Synchronization

/// Where the status socket is: `$RUNTIME_DIRECTORY` under systemd (`RuntimeDirectory=`), the state
/// directory otherwise.
public enum StatusSocketPath {
    public static let fileName = "status.sock"
    /// systemd's runtime directory of the unit (`RuntimeDirectory=fieldlink`).
    public static let systemdRuntimeDirectory = "/run/fieldlink"

    /// Where the daemon listens.
    public static func daemon(stateDirectory: String, environment: [String: String]) -> String {
        // systemd passes several directories colon-separated when the unit names several.
        if let runtime = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first, !runtime.isEmpty {
            return "\(runtime)/\(fileName)"
        }
        return "\(stateDirectory)/\(fileName)"
    }

    /// Where `fieldlink status` looks, in order: a shell has no `$RUNTIME_DIRECTORY`, so it also
    /// tries the unit's runtime directory.
    public static func candidates(stateDirectory: String, environment: [String: String]) -> [String] {
        var paths = [daemon(stateDirectory: stateDirectory, environment: environment), "\(stateDirectory)/\(fileName)",
                     "\(systemdRuntimeDirectory)/\(fileName)"]
        var seen = Set<String>()
        paths.removeAll { !seen.insert($0).inserted }
        return paths
    }
}

/// Answers `fieldlink status`: each connection gets the current `StatusDocument` as JSON, then
/// the socket closes. Only the daemon's own user and root are answered (the socket is 0600, and
/// the peer's uid is checked with SO_PEERCRED as well, should the mode ever be loosened).
///
/// Blocks in accept(2) on its own thread: no timer, no wake-up while nobody asks.
public final class StatusSocketServer: Service, Sendable {
    private let path: String
    private let document: @Sendable () -> StatusDocument
    private let logger: Logger
    private let listener = Mutex<Int32>(-1)

    /// How long a slow reader may hold the server's thread.
    static let clientTimeoutMilliseconds: Int32 = 2_000

    public init(path: String, logger: Logger, document: @escaping @Sendable () -> StatusDocument) {
        self.path = path
        self.document = document
        self.logger = logger
    }

    public func run() async throws {
        // A socket left by a crash refuses connections and is replaced; one that answers belongs to
        // another daemon on the same state directory, which keeps it.
        let other = CLinuxIO_unix_connect(path)
        if other >= 0 {
            close(other)
            logger.error("another process answers on the status socket \(path); this daemon's `fieldlink status` is not available")
            try? await gracefulShutdown()
            return
        }
        unlink(path)
        let fd: Int32
        do {
            fd = try valueOrErrno { CLinuxIO_unix_listen(path, 8) }
        } catch {
            // Not a reason to stop polling: the gateway runs on without `fieldlink status`.
            logger.error("status socket \(path): \(error); `fieldlink status` will not answer")
            try? await gracefulShutdown()
            return
        }
        listener.withLock { $0 = fd }
        logger.info("status socket at \(path)")
        let finished = AsyncStream<Void>.makeStream()
        PosixThread.start(name: "fieldlink-status") { [self] in
            acceptLoop(fd)
            finished.continuation.finish()
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                for await _ in finished.stream {}
            } onCancel: { self.stop() }
        } onGracefulShutdown: { self.stop() }
        close(fd)
        unlink(path)
    }

    /// Wakes accept(2) with EINVAL: shutdown(2) on a listening socket ends the loop.
    private func stop() {
        listener.withLock { fd in
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop(_ fd: Int32) {
        let own = getuid()
        while true {
            let client: Int32
            do {
                client = try valueOrErrno { CLinuxIO_accept(fd) }
            } catch {
                if error == Errno(ECONNABORTED) { continue }
                return  // EINVAL after shutdown(2), or the socket is gone
            }
            defer { close(client) }
            _ = CLinuxIO_socket_timeouts(client, Self.clientTimeoutMilliseconds)
            var peer: uid_t = 0
            guard CLinuxIO_peer_uid(client, &peer) == 0, peer == own || peer == 0 else {
                logger.warning("status socket: refused uid \(peer) (only uid \(own) and root are answered)")
                send("error: permission denied: only the daemon's user and root may ask\n", to: client)
                continue
            }
            var text = String(decoding: document().json(pretty: false), as: UTF8.self)
            text += "\n"
            send(text, to: client)
        }
    }

    private func send(_ text: String, to client: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = try? bytes[offset...].withUnsafeBytes { buffer in
                try valueOrErrno { Glibc.send(client, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
            }
            guard let written, written > 0 else { return }
            offset += written
        }
    }
}

/// The client side of `fieldlink status`.
public enum StatusClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The peer refused us (EACCES on the socket, or the daemon's answer), not absent.
        public var permission: Bool
    }

    /// The daemon's answer (a JSON document) from the first candidate socket that exists.
    public static func fetch(candidates: [String], timeoutMilliseconds: Int32 = 5_000) throws(Failure) -> Data {
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw Failure(description: "no daemon is running: no status socket at \(candidates.joined(separator: ", "))", permission: false)
        }
        let fd: Int32
        do {
            fd = try valueOrErrno { CLinuxIO_unix_connect(path) }
        } catch {
            let permission = error == Errno(EACCES) || error == Errno(EPERM)
            let hint = permission ? " (only the daemon's user and root may ask)" : error == Errno(ECONNREFUSED) ? " (a socket left behind: no daemon listens)" : ""
            throw Failure(description: "no answer from the daemon at \(path): \(error)\(hint)", permission: permission)
        }
        defer { close(fd) }
        _ = CLinuxIO_socket_timeouts(fd, timeoutMilliseconds)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { raw in try valueOrErrno { recv(fd, raw.baseAddress, raw.count, 0) } }
            } catch {
                throw Failure(description: "no answer from the daemon at \(path): \(error)", permission: false)
            }
            if count == 0 { break }
            data.append(contentsOf: buffer[..<count])
        }
        if data.starts(with: Data("error:".utf8)) {
            let line = String(decoding: data, as: UTF8.self).trimmingWhitespaceAndNewlines()
            throw Failure(description: "the daemon at \(path) refused: \(line.dropFirst(7))", permission: true)
        }
        guard !data.isEmpty else {
            throw Failure(description: "the daemon at \(path) closed the connection without an answer", permission: false)
        }
        return data
    }
}
