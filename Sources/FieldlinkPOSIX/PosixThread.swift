import CLinuxIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A detached OS thread for one long-lived owner (a bus, the ring's worker, the status socket):
/// one `pthread_create`, where Foundation's `Thread` would link all of Foundation, and with it
/// ICU's 30 MB of locale data, into the binary.
public enum PosixThread {
    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Runs `body` on a new detached thread named `name` (the kernel keeps 15 characters, which
    /// `top -H` and `/proc/PID/task/*/comm` show). A process that cannot start a thread cannot do
    /// its job, so a failure stops it with the errno, as Foundation's `Thread.start()` did.
    /// Wraps `pthread_create`, `pthread_detach` and `pthread_setname_np` (through CLinuxIO).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Start(name: String(name.prefix(15)), body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            _ = CLinuxIO_set_thread_name(start.name)
            start.body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(context).release()
            fatalError("cannot start thread \(name): \(Errno(result))")
        }
        pthread_detach(thread)
    }

    /// Blocks the calling thread for `duration` (at least; a signal does not cut it short).
    /// Wraps `nanosleep`.
    public static func sleep(_ duration: Duration) {
        guard duration > .zero else { return }
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, Errno.current == .interrupted {
            request = remaining
        }
    }
}
