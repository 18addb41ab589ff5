#if canImport(Glibc)
import Glibc
#endif

/// A failed file operation, with the path and errno, so the log says which file and why.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errno: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
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

    /// `open(2)`.
    public init(path: String, mode: Mode) throws(FileError) {
        self.path = path
        let flags = switch mode {
        case .append: O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
        case .readOnly: O_RDONLY | O_CLOEXEC
        }
        let fd = Self.retrying { open(path, flags, 0o640) }
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
        self.fd = fd
    }

    deinit { close(fd) }

    private static func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }

    /// Appends all of `bytes` (`write(2)`) to a file of `currentSize` bytes (the caller knows it, so
    /// no `fstat` per record). On a short write the file is cut back to `currentSize`, so a failed
    /// append never leaves half a record behind.
    public func append(_ bytes: [UInt8], currentSize start: Int) throws(FileError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let failure = FileError(path: path, operation: "write", errno: errno)
                _ = ftruncate(fd, off_t(start))
                throw failure
            }
            written += result
        }
    }

    /// Up to `count` bytes from `offset` (`pread(2)`); fewer at the end of the file.
    public func read(at offset: Int, count: Int) throws(FileError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", errno: errno)
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
        guard fstat(fd, &status) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
        return Int(status.st_size)
    }

    /// Cuts the file to `length` bytes (`ftruncate(2)`).
    public func truncate(to length: Int) throws(FileError) {
        guard Self.retrying({ ftruncate(fd, off_t(length)) }) == 0 else {
            throw FileError(path: path, operation: "truncate", errno: errno)
        }
    }

    /// Makes written data durable (`fdatasync(2)`).
    public func sync() throws(FileError) {
        guard Self.retrying({ fdatasync(fd) }) == 0 else { throw FileError(path: path, operation: "fdatasync", errno: errno) }
    }

    /// `unlink(2)`; a file that is already gone is fine.
    public static func remove(_ path: String) throws(FileError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileError(path: path, operation: "unlink", errno: errno) }
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
        guard rename(temporary, path) == 0 else { throw FileError(path: path, operation: "rename", errno: errno) }
        try syncDirectory(directory)
    }

    /// Makes creations, renames and removals in `directory` durable.
    public static func syncDirectory(_ directory: String) throws(FileError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: directory, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError(path: directory, operation: "fsync", errno: errno) }
    }
}
