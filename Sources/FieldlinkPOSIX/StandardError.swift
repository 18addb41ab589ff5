#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Text to stderr without Foundation's `FileHandle` (which links all of Foundation and ICU).
public enum StandardError {
    /// Writes all of `text`; a closed or full stderr is ignored (there is nowhere left to say so).
    /// Wraps `write(2)`, retrying EINTR and short writes.
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { buffer in
                (try? valueOrErrno { Self.systemWrite(STDERR_FILENO, buffer.baseAddress, buffer.count) }) ?? -1
            }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    #if canImport(Glibc)
    private static let systemWrite = Glibc.write
    #else
    private static let systemWrite = Darwin.write
    #endif
}
