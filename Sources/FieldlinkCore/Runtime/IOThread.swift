import Dispatch
import Foundation
import Synchronization

/// A dedicated thread that owns one resource (a serial line, a socket) and runs jobs on it in order.
///
/// Blocking calls (libmodbus, termios reads, ioctl) must not run on Swift's cooperative pool, where
/// they would starve every other task. The resource is created on this thread and never leaves it,
/// so it need not be `Sendable`; every transaction on it is serialised by construction.
public final class IOThread<Resource>: Sendable {
    private typealias Job = @Sendable (inout Resource) -> Void

    private struct Queue {
        var jobs: [Job] = []
        var stopping = false
    }

    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    public init(name: String, makeResource: @escaping @Sendable () -> Resource) {
        let thread = Thread { [self] in
            do {
                var resource = makeResource()
                while true {
                    wakeup.wait()
                    let job: Job? = queue.withLock { queue in
                        queue.jobs.isEmpty ? nil : queue.jobs.removeFirst()
                    }
                    guard let job else { break }
                    job(&resource)
                }
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Runs `job` on the thread, after everything queued before it.
    public func perform<T: Sendable>(_ job: @escaping @Sendable (inout Resource) -> T) async -> T {
        await withCheckedContinuation { continuation in
            let accepted = queue.withLock { queue -> Bool in
                guard !queue.stopping else { return false }
                queue.jobs.append { resource in continuation.resume(returning: job(&resource)) }
                return true
            }
            precondition(accepted, "IOThread used after shutdown")
            wakeup.signal()
        }
    }

    /// Finishes the queued jobs, releases the resource on its own thread and waits for the thread to end.
    public func shutdown() async {
        let first = queue.withLock { queue -> Bool in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        guard first else { return }
        wakeup.signal()  // an empty queue after the last job ends the loop
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.finished.wait()
                continuation.resume()
            }
        }
    }
}
