#if canImport(Glibc)
import Glibc
#endif

/// The errno a failed system call left, typed, so a family maps it to its own error by value and
/// never reads the global `errno` itself (after another call may have changed it).
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno, right after a call that failed.
    public static var current: Errno { Errno(Glibc.errno) }

    public static let interrupted = Errno(EINTR)
    public static let wouldBlock = Errno(EAGAIN)

    /// The errno in words, e.g. "No such file or directory". Wraps `strerror`.
    public var text: String { String(cString: strerror(rawValue)) }

    public var description: String { text }
}

/// Runs `call` (a C function returning -1, or any negative value, and setting errno on failure)
/// again while it fails with EINTR; its result, or the errno of its failure. With
/// `retryOnInterrupt: false` an EINTR is returned like any other failure. The one place fieldlink
/// turns errno into a Swift error (swift-system's `valueOrErrno`).
@inlinable
public func valueOrErrno<Result: SignedInteger>(retryOnInterrupt: Bool = true, _ call: () -> Result) throws(Errno) -> Result {
    while true {
        let result = call()
        if result >= 0 { return result }
        let error = Errno.current
        if retryOnInterrupt, error == .interrupted { continue }
        throw error
    }
}

/// `valueOrErrno` for calls whose result means nothing beyond success (`fsync`, `ftruncate`).
@inlinable
public func nothingOrErrno<Result: SignedInteger>(retryOnInterrupt: Bool = true, _ call: () -> Result) throws(Errno) {
    _ = try valueOrErrno(retryOnInterrupt: retryOnInterrupt, call)
}

/// For libraries that return `-errno` instead of setting it (libsystemd's `sd_*`): the result when
/// it is not negative, else that errno; -EINTR is retried like EINTR.
@inlinable
public func valueOrNegatedErrno<Result: SignedInteger>(_ call: () -> Result) throws(Errno) -> Result {
    while true {
        let result = call()
        if result >= 0 { return result }
        let error = Errno(Int32(truncatingIfNeeded: -result))
        if error == .interrupted { continue }
        throw error
    }
}

/// `valueOrErrno`, its errno turned into the caller's own typed error by `failure`.
@inlinable
public func valueOrErrno<Result: SignedInteger, Failure: Error>(retryOnInterrupt: Bool = true, _ call: () -> Result,
                                                                orThrow failure: (Errno) -> Failure) throws(Failure) -> Result {
    do throws(Errno) {
        return try valueOrErrno(retryOnInterrupt: retryOnInterrupt, call)
    } catch {
        throw failure(error)
    }
}
