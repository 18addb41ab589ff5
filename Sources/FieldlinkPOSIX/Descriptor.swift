#if canImport(Glibc)
import Glibc
#endif

/// Reading an open file descriptor into memory: the one buffer-pointer loop, kept at the C edge so
/// the layers above (the config's special-file-proof read) stay free of `Unsafe*`.
public enum Descriptor {
    /// Up to `limit` bytes from `descriptor` (fewer at end of file). A non-blocking descriptor with
    /// nothing to read gives what was read so far. Wraps `read(2)`, retrying on EINTR.
    public static func read(_ descriptor: Int32, upTo limit: Int) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count: Int
            do {
                count = try valueOrErrno { chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, wanted) } }
            } catch where error.rawValue == EAGAIN {
                break
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Closes `descriptor`, ignoring the result (nothing was written through it).
    public static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }
}
