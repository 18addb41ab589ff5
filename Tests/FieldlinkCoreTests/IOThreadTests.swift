import FieldlinkCore
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's pthread id, comparable across threads.
private func threadID() -> UInt {
    #if canImport(Glibc)
    UInt(pthread_self())
    #else
    UInt(bitPattern: pthread_self())
    #endif
}

/// What the resource's life looked like from the inside.
private final class Trace: Sendable {
    let createdOn = Mutex<UInt?>(nil)
    let releasedOn = Mutex<UInt?>(nil)
}

/// A stand-in for a C handle: not Sendable, created and released on the I/O thread.
private final class Handle {
    let trace: Trace
    var log: [Int] = []

    init(trace: Trace) {
        self.trace = trace
        trace.createdOn.withLock { $0 = threadID() }
    }

    deinit { trace.releasedOn.withLock { $0 = threadID() } }
}

@Suite struct IOThreadTests {
    @Test func jobsRunInOrderOnOneThreadThatIsNotTheCallers() async {
        let trace = Trace()
        let io = IOThread(name: "fl-test-io") { Handle(trace: trace) }
        var callerThreads = Set<UInt>()
        var jobThreads = Set<UInt>()
        for index in 0..<50 {
            callerThreads.insert(threadID())
            let (thread, log) = await io.perform { handle in
                handle.log.append(index)
                return (threadID(), handle.log)
            }
            callerThreads.insert(threadID())
            jobThreads.insert(thread)
            #expect(log == Array(0...index))
        }
        #expect(jobThreads.count == 1)
        #expect(jobThreads.isDisjoint(with: callerThreads))
        await io.shutdown()
    }

    @Test func theResourceIsCreatedAndReleasedOnTheThread() async throws {
        let trace = Trace()
        let io = IOThread(name: "fl-test-owner") { Handle(trace: trace) }
        let jobThread = await io.perform { _ in threadID() }
        #expect(trace.createdOn.withLock { $0 } == jobThread)
        #expect(trace.releasedOn.withLock { $0 } == nil)
        await io.shutdown()
        #expect(trace.releasedOn.withLock { $0 } == jobThread)
    }

    /// `Task.immediate` enqueues each job before it returns, so the submission order is known.
    @available(macOS 26.0, *)
    @Test func queuedJobsRunInSubmissionOrder() async {
        let io = IOThread(name: "fl-test-order") { [Int]() }
        let gate = DispatchSemaphore(value: 0)
        let blocker = Task.immediate { await io.perform { _ in gate.wait(timeout: .now() + 10) == .success } }
        var jobs: [Task<[Int], Never>] = []
        for index in 0..<20 {
            jobs.append(Task.immediate { await io.perform { log in log.append(index); return log } })
        }
        gate.signal()
        #expect(await blocker.value)
        for (index, job) in jobs.enumerated() {
            #expect(await job.value == Array(0...index))
        }
        await io.shutdown()
    }

    @available(macOS 26.0, *)
    @Test func shutdownFinishesTheQueuedJobsFirst() async {
        let trace = Trace()
        let io = IOThread(name: "fl-test-drain") { Handle(trace: trace) }
        let gate = DispatchSemaphore(value: 0)
        let blocker = Task.immediate { await io.perform { _ in gate.wait(timeout: .now() + 10) == .success } }
        let jobs = (0..<10).map { index in
            Task.immediate { await io.perform { handle in handle.log.append(index); return handle.log.count } }
        }
        // Shutdown is requested while all ten jobs still wait behind the blocked one.
        let shutdown = Task.immediate { await io.shutdown() }
        #expect(trace.releasedOn.withLock { $0 } == nil)
        gate.signal()
        #expect(await blocker.value)
        await shutdown.value
        for (index, job) in jobs.enumerated() {
            #expect(await job.value == index + 1)
        }
        #expect(trace.releasedOn.withLock { $0 } == trace.createdOn.withLock { $0 })
    }

    @Test func shutdownTwiceIsHarmless() async {
        let io = IOThread(name: "fl-test-twice") { 0 }
        #expect(await io.perform { value in value += 1; return value } == 1)
        await io.shutdown()
        await io.shutdown()
    }
}
