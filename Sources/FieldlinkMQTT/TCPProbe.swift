import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Can a TCP connection to a broker be opened right now? Bounds the TCP part of a connect attempt
/// (libmosquitto's own connect blocks for the kernel's SYN retries, two minutes to a dead host).
enum TCPProbe {
    enum Outcome: Equatable {
        case reachable
        /// Refused, no route, unresolvable: the error's words.
        case failed(String)
        /// No answer within the timeout: a dead host or a cut link.
        case timedOut
    }

    static func reachable(host: String, port: Int, timeout: Duration) -> Bool {
        connect(host: host, port: port, timeout: timeout) == .reachable
    }

    /// Tries every address `host` resolves to (`getaddrinfo`, non-blocking `connect`, `poll`); blocks
    /// up to `timeout` per address, so call it where blocking is allowed.
    static func connect(host: String, port: Int, timeout: Duration) -> Outcome {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else { return .failed(String(cString: gai_strerror(resolved))) }
        defer { freeaddrinfo(list) }
        var outcome = Outcome.failed("no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), address.pointee.ai_protocol)
            if fd >= 0 {
                defer { close(fd) }
                // A connect is not restarted after a signal: it goes on in the background, as after EINPROGRESS.
                let connecting = Result { () throws(Errno) in
                    try valueOrErrno(retryOnInterrupt: false) { Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) }
                }
                switch connecting {
                case .success: return .reachable
                case .failure(let error) where error.rawValue == EINPROGRESS || error == .interrupted:
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if (try? valueOrErrno({ poll(&descriptor, 1, Int32(timeout.milliseconds)) })) == 1 {
                        var failure: Int32 = 0
                        var length = socklen_t(MemoryLayout<Int32>.size)
                        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 {
                            if failure == 0 { return .reachable }
                            outcome = .failed(String(cString: strerror(failure)))
                        }
                    } else {
                        outcome = .timedOut
                    }
                case .failure(let error):
                    outcome = .failed(String(cString: strerror(error.rawValue)))
                }
            }
            entry = address.pointee.ai_next
        }
        return outcome
    }
}
