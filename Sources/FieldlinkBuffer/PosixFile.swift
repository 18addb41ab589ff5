import FieldlinkPOSIX
#if canImport(Glibc)
import Glibc
#endif

/// A failed file operation, with the path and errno, so the log says which file and why.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errno: Int32

    public var description: String { "\(operation) \(path): \(Errno(errno).text)" }
    /// The disk is full (or over quota): the ring degrades by dropping its oldest data.
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
}

/// The ring's edge to the kernel: one owner of one file descriptor, every call retried on EINTR and
/// turned into a `FileError`; callers see `[UInt8]`, never pointers. Each method names the call it wraps.
public final class PosixFile {
    public let path: String
    private let fd: Int32

    public enum Mode {
        /// Created if missing; writes go to the end (`O_APPEND`).
        case append
        case readOnly
    }

    /// `open(2)` with `O_NONBLOCK`, then `fstat(2)`: a FIFO or a device in the ring's folder never
    /// blocks the open (a FIFO without a writer would hang it, SIGTERM included), and anything but a
    /// regular file is refused with `EISDIR` (a directory) or `EINVAL`.
    public init(path: String, mode: Mode) throws(FileError) {
        self.path = path
        let flags = switch mode {
        case .append: O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK
        case .readOnly: O_RDONLY | O_CLOEXEC | O_NONBLOCK
        }
        let fd = try Self.check("open", path) { open(path, flags, 0o640) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            let isDirectory = status.st_mode & S_IFMT == S_IFDIR
            close(fd)
            throw FileError(path: path, operation: "open (not a regular file)", errno: isDirectory ? EISDIR : EINVAL)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// `call`, retried on EINTR; a failure is a `FileError` naming `operation` and `path`.
    @discardableResult
    private static func check<Result: SignedInteger>(_ operation: String, _ path: String, _ call: () -> Result) throws(FileError) -> Result {
        try valueOrErrno(call, orThrow: { FileError(path: path, operation: operation, errno: $0.rawValue) })
    }

    /// Appends all of `bytes` (`write(2)`) to a file of `currentSize` bytes (the caller knows it, so
    /// no `fstat` per record). On a short write the file is cut back to `currentSize`, so a failed
    /// append never leaves half a record behind.
    public func append(_ bytes: [UInt8], currentSize start: Int) throws(FileError) {
        var written = 0
        while written < bytes.count {
            do throws(FileError) {
                let result = try Self.check("write", path) {
                    bytes.withUnsafeBytes { buffer in write(fd, buffer.baseAddress! + written, buffer.count - written) }
                }
                written += result
            } catch {
                _ = ftruncate(fd, off_t(start))
                throw error
            }
        }
    }

    /// Up to `count` bytes from `offset` (`pread(2)`); fewer at the end of the file.
    public func read(at offset: Int, count: Int) throws(FileError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let result = try Self.check("read", path) {
                bytes.withUnsafeMutableBytes { buffer in pread(fd, buffer.baseAddress! + filled, count - filled, off_t(offset + filled)) }
            }
            if result == 0 { break }
            filled += result
        }
        bytes.removeLast(count - filled)
        return bytes
    }

    /// `fstat(2)` size.
    public func size() throws(FileError) -> Int {
        var status = stat()
        try Self.check("stat", path) { fstat(fd, &status) }
        return Int(status.st_size)
    }

    /// Cuts the file to `length` bytes (`ftruncate(2)`).
    public func truncate(to length: Int) throws(FileError) {
        try Self.check("truncate", path) { ftruncate(fd, off_t(length)) }
    }

    /// Makes written data durable (`fdatasync(2)`).
    public func sync() throws(FileError) {
        try Self.check("fdatasync", path) { fdatasync(fd) }
    }

    /// `unlink(2)`; a file that is already gone is fine.
    public static func remove(_ path: String) throws(FileError) {
        do throws(FileError) {
            try check("unlink", path) { unlink(path) }
        } catch let error where error.errno == ENOENT {}
    }

    /// Replaces `path` with `bytes` so that a crash leaves either the old or the new content
    /// (write a temporary file, `fdatasync`, `rename(2)`, sync the directory).
    public static func replace(_ path: String, with bytes: [UInt8], directory: String) throws(FileError) {
        let temporary = path + ".tmp"
        try remove(temporary)
        do {
            let file = try PosixFile(path: temporary, mode: .append)
            try file.append(bytes, currentSize: 0)
            try file.sync()
        }
        try check("rename", path) { rename(temporary, path) }
        try syncDirectory(directory)
    }

    /// Makes creations, renames and removals in `directory` durable.
    public static func syncDirectory(_ directory: String) throws(FileError) {
        let fd = try check("open", directory) { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try check("fsync", directory) { fsync(fd) }
    }
}
