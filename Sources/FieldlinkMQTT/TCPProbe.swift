import FieldlinkPOSIX
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Can a TCP connection to a broker be opened right now? For failback: cheap, no MQTT session.
enum TCPProbe {
    /// Tries every address `host` resolves to (`getaddrinfo`, non-blocking `connect`, `poll`); blocks
    /// up to `timeout` per address, so call it on a thread of its own.
    static func reachable(host: String, port: Int, timeout: Duration) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), address.pointee.ai_protocol)
            if fd >= 0 {
                defer { close(fd) }
                // A connect is not restarted after a signal: it goes on in the background, as after EINPROGRESS.
                let connecting = Result { () throws(Errno) in
                    try valueOrErrno(retryOnInterrupt: false) { connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) }
                }
                if case .success = connecting { return true }
                if case .failure(let error) = connecting, error.rawValue == EINPROGRESS || error == .interrupted {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if (try? valueOrErrno({ poll(&descriptor, 1, Int32(timeout.milliseconds)) })) == 1 {
                        var failure: Int32 = 0
                        var length = socklen_t(MemoryLayout<Int32>.size)
                        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0, failure == 0 { return true }
                    }
                }
            }
            entry = address.pointee.ai_next
        }
        return false
    }
}
