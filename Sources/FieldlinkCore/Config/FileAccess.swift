import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A file-system failure in words a user can act on: which config key, which path, the errno in
/// words, and what to do. Never Foundation's text (`NSCocoaErrorDomain Code=513 ...`).
public struct FileSystemProblem: Error, Sendable, CustomStringConvertible {
    /// The config key the path comes from (`gateway.state_dir`).
    public var key: String
    public var path: String
    /// "cannot create", "cannot write in", "cannot read".
    public var operation: String
    public var errno: Errno
    public var remedy: String

    public init(key: String, path: String, operation: String, errno: Errno, remedy: String) {
        self.key = key
        self.path = path
        self.operation = operation
        self.errno = errno
        self.remedy = remedy
    }

    public var description: String { "\(key): \(operation) \(path): \(errno.text); \(remedy)" }
}

/// Plain POSIX look-ups that keep the errno (Foundation's `FileManager` keeps only a boolean or its own text).
public enum FileAccess {
    /// Why `path` cannot be opened for reading, or nil when it can. Wraps `open(2)`; with
    /// O_NONBLOCK, so a FIFO without a writer answers at once instead of waiting for one.
    public static func whyUnreadable(_ path: String) -> Errno? {
        do {
            let descriptor = try valueOrErrno { open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
            close(descriptor)
            return nil
        } catch {
            return error
        }
    }

    /// Why `path` cannot be read and written, or nil when it can; does not open it (opening a tty
    /// can block, or toggle its modem lines). Wraps `access(2)`.
    public static func whyNotReadWrite(_ path: String) -> Errno? {
        do {
            try nothingOrErrno { access(path, R_OK | W_OK) }
            return nil
        } catch {
            return error
        }
    }

    /// Why a file that should hold text (a config, a profile, a password) could not be read.
    public enum ReadFailure: Error, Sendable, Equatable {
        case errno(Errno)
        /// A directory, FIFO, device or socket, in words ("a named pipe (FIFO)").
        case notRegular(String)
        case tooLarge(bytes: Int, limit: Int)

        public var text: String {
            switch self {
            case .errno(let error): error.text
            case .notRegular(let kind): "it is \(kind), not a regular file"
            case .tooLarge(let bytes, let limit): "it is \(bytes) bytes, more than the \(limit) a file here may have (is it the right file?)"
            }
        }
    }

    /// The whole of a regular file of at most `limit` bytes, or why not. Never blocks on a FIFO and
    /// never reads an endless device (`/dev/zero`). Wraps `open(2)` and `fstat(2)`.
    public static func contents(of path: String, limit: Int) -> Result<Data, ReadFailure> {
        let descriptor: Int32
        do {
            descriptor = try valueOrErrno { open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
        } catch {
            return .failure(.errno(error))
        }
        defer { Descriptor.close(descriptor) }
        var info = stat()
        do {
            try nothingOrErrno { fstat(descriptor, &info) }
        } catch {
            return .failure(.errno(error))
        }
        if let kind = specialKind(info.st_mode) { return .failure(.notRegular(kind)) }
        guard Int(info.st_size) <= limit else { return .failure(.tooLarge(bytes: Int(info.st_size), limit: limit)) }
        do {
            // One byte past the limit: a file that grew since fstat is still refused, not read whole.
            let bytes = try Descriptor.read(descriptor, upTo: limit + 1)
            guard bytes.count <= limit else { return .failure(.tooLarge(bytes: bytes.count, limit: limit)) }
            return .success(Data(bytes))
        } catch {
            return .failure(.errno(error))
        }
    }

    /// A file type other than a regular file, in words; nil for a regular file.
    static func specialKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe (FIFO)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// The errno inside a Foundation file error (its underlying `POSIXError`), so the user reads
    /// "Permission denied", not `NSCocoaErrorDomain Code=513`; EIO when it carries none.
    public static func errno(of error: any Error) -> Errno {
        if let posix = error as? Errno { return posix }
        if let posix = error as? POSIXError { return Errno(posix.code.rawValue) }
        if let cocoa = error as? CocoaError, let underlying = cocoa.underlying as? POSIXError {
            return Errno(underlying.code.rawValue)
        }
        return Errno(EIO)
    }

    /// Whether users other than the owner (and its group) may read `path`. Wraps `stat(2)`.
    public static func isReadableByOthers(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & S_IROTH != 0
    }

    /// Whether `path` exists and is a directory; the errno of `stat(2)` when it cannot be looked at.
    static func isDirectory(_ path: String) -> Result<Bool, Errno> {
        var info = stat()
        do {
            _ = try valueOrErrno { stat(path, &info) }
        } catch {
            return .failure(error)
        }
        return .success(info.st_mode & S_IFMT == S_IFDIR)
    }
}

/// `gateway.state_dir`: sequence numbers and the buffer ring live there, so it must be writable.
public enum StateDirectory {
    public static let key = "gateway.state_dir"

    public static let remedy = "run fieldlink under its systemd unit (its StateDirectory= creates /var/lib/fieldlink for the fieldlink user), "
        + "or set gateway.state_dir to a directory this user can write (e.g. state_dir: ./state, relative to the config file)"

    /// What `run` does first: creates the directory and its parents, and checks that it can be written.
    public static func prepare(_ path: String) throws(FileSystemProblem) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/\(component)"
            do {
                try nothingOrErrno { mkdir(prefix, 0o750) }
            } catch where error == Errno(EEXIST) {
                continue  // a file in the way shows as ENOTDIR one level down, or in verify
            } catch {
                throw FileSystemProblem(key: key, path: prefix == path ? path : "\(path) (at \(prefix))", operation: "cannot create",
                                        errno: error, remedy: remedy)
            }
        }
        try verify(path)
    }

    /// What `check` does: the verdict `prepare` would reach, without creating anything. Wraps `access(2)`.
    public static func verify(_ path: String) throws(FileSystemProblem) {
        var existing = path
        while true {
            switch FileAccess.isDirectory(existing) {
            case .success(true):
                do {
                    try nothingOrErrno { access(existing, W_OK | X_OK) }
                } catch {
                    throw FileSystemProblem(key: key, path: existing == path ? path : "\(path) (in \(existing))",
                                            operation: existing == path ? "cannot write in" : "cannot create", errno: error, remedy: remedy)
                }
                return
            case .success(false):
                throw FileSystemProblem(key: key, path: existing == path ? path : "\(path) (\(existing) is a file)",
                                        operation: existing == path ? "cannot use" : "cannot create", errno: Errno(ENOTDIR), remedy: remedy)
            case .failure(let error) where error == Errno(ENOENT) && existing != "/":
                existing = URL(fileURLWithPath: existing).deletingLastPathComponent().path
            case .failure(let error):
                throw FileSystemProblem(key: key, path: path, operation: "cannot create", errno: error, remedy: remedy)
            }
        }
    }
}
