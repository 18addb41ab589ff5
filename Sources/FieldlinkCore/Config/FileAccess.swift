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
    /// Why `path` cannot be opened for reading, or nil when it can. Wraps `open(2)`.
    public static func whyUnreadable(_ path: String) -> Errno? {
        do {
            let descriptor = try valueOrErrno { open(path, O_RDONLY | O_CLOEXEC) }
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

    /// The whole file, or why not.
    public static func contents(of path: String) -> Result<Data, Errno> {
        if let error = whyUnreadable(path) { return .failure(error) }
        guard let data = FileManager.default.contents(atPath: path) else { return .failure(Errno(EIO)) }
        return .success(data)
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
