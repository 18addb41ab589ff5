import FieldlinkCore
import Foundation
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's pthread id, comparable across threads.
private func threadID() -> UInt { UInt(pthread_self()) }

/// What the loop did, seen from the polls.
private final class Trace: Sendable {
    let polls = Mutex<[(device: Int, thread: UInt, at: ContinuousClock.Instant)]>([])
    let lastPollEnded = Mutex<ContinuousClock.Instant?>(nil)

    /// Blocks until `count` polls happened (the test task itself may start late on a busy pool).
    func waitForPolls(_ count: Int, timeout: Duration = .seconds(30)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while polls.withLock({ $0.count }) < count {
            if ContinuousClock.now > deadline { return false }
            usleep(1_000)
        }
        return true
    }
    let created = Mutex<UInt?>(nil)
    let released = Mutex<UInt?>(nil)
    let releasedAt = Mutex<ContinuousClock.Instant?>(nil)
}

/// A stand-in for a C handle: not Sendable, created and released on the bus thread.
private final class Handle {
    let trace: Trace
    var count = 0
    init(trace: Trace) {
        self.trace = trace
        trace.created.withLock { $0 = threadID() }
    }
    deinit {
        trace.released.withLock { $0 = threadID() }
        trace.releasedAt.withLock { $0 = .now }
    }
}

@Suite struct BusLoopTests {
    private static func loop(_ trace: Trace, intervals: [Duration], pollTime: Duration = .zero) -> BusLoop<Handle> {
        BusLoop(name: "fl-test", devices: intervals.enumerated().map { .init(name: "d\($0.offset)", interval: $0.element) },
                logger: Logger(label: "test"), makeResource: { Handle(trace: trace) }) { device, handle in
            handle.count += 1
            trace.polls.withLock { $0.append((device, threadID(), .now)) }
            if pollTime > .zero { usleep(UInt32(pollTime.milliseconds * 1_000)) }
            trace.lastPollEnded.withLock { $0 = .now }
        }
    }

    @Test func pollsRunOnOneThreadThatOwnsTheResource() async {
        let trace = Trace()
        let loop = Self.loop(trace, intervals: [.milliseconds(10)])
        let caller = threadID()
        loop.start()
        #expect(trace.waitForPolls(5))
        loop.stop()
        await loop.waitUntilStopped()
        let polls = trace.polls.withLock { $0 }
        let threads = Set(polls.map(\.thread))
        #expect(threads.count == 1)
        #expect(!threads.contains(caller))
        #expect(trace.created.withLock { $0 } == threads.first)
        #expect(trace.released.withLock { $0 } == threads.first)
    }

    @Test func eachDeviceKeepsItsOwnFixedRate() async throws {
        let trace = Trace()
        let loop = Self.loop(trace, intervals: [.milliseconds(20), .milliseconds(100)])
        loop.start()
        // Measured on the polls' own timestamps: a late test task does not change what is counted.
        #expect(trace.waitForPolls(70, timeout: .seconds(30)))
        loop.stop()
        await loop.waitUntilStopped()
        let polls = trace.polls.withLock { $0 }
        let start = try #require(polls.first?.at)
        let window = polls.filter { start.duration(to: $0.at) < .seconds(1) }
        let fast = window.filter { $0.device == 0 }, slow = window.filter { $0.device == 1 }
        // 1 s at 20 ms and 100 ms: 50 and 10 polls; a little slack for a busy machine.
        #expect((45...50).contains(fast.count), "fast device polled \(fast.count) times in 1 s")
        #expect((9...10).contains(slow.count), "slow device polled \(slow.count) times in 1 s")
        // Fixed rate: the n-th poll is near start + n * interval, not drifting by the time polls take.
        let lastSlow = try #require(slow.last)
        let span = start.duration(to: lastSlow.at)
        #expect(span >= .milliseconds(100 * (slow.count - 1) - 5) && span <= .milliseconds(100 * (slow.count - 1) + 60))
    }

    @Test func stopLetsThePollInProgressFinishAndStartsNoOther() async {
        let trace = Trace()
        let loop = Self.loop(trace, intervals: [.seconds(30)], pollTime: .milliseconds(300))
        loop.start()
        #expect(trace.waitForPolls(1))  // the first poll has started and takes 300 ms
        loop.stop()
        await loop.waitUntilStopped()
        let returned = ContinuousClock.now
        #expect(trace.polls.withLock { $0.count } == 1)
        let ended = trace.lastPollEnded.withLock { $0 }
        #expect(ended != nil, "run() returned before the poll in progress finished")
        #expect(ended.map { $0 <= returned } == true)
    }

    @Test func stopWakesALongSleep() async {
        let trace = Trace()
        let loop = Self.loop(trace, intervals: [.seconds(60)])
        loop.start()
        #expect(trace.waitForPolls(1))
        let stoppedAt = ContinuousClock.now
        loop.stop()
        await loop.waitUntilStopped()
        // When the thread let go of its resource, not when this (possibly busy) task resumed.
        let released = trace.releasedAt.withLock { $0 }
        #expect(released.map { stoppedAt.duration(to: $0) < .seconds(1) } == true)
        #expect(trace.polls.withLock { $0.count } == 1)
    }
}

@Suite struct BusLoopIdleTests {
    @Test("idle work runs on the bus thread, is told the time left before the next poll, and fits in it", .timeLimit(.minutes(1)))
    func idleGetsTheTimeBeforeTheNextPoll() async {
        let offers = Mutex<[(available: Duration, thread: UInt)]>([])
        let polls = Mutex<[(thread: UInt, at: ContinuousClock.Instant)]>([])
        let loop = BusLoop<Int>(name: "fl-idle", devices: [.init(name: "d", interval: .milliseconds(200))], logger: Logger(label: "test"),
                                makeResource: { 0 },
                                idle: { available, _ in
                                    offers.withLock { $0.append((available, threadID())) }
                                    // Idle work that takes half of what it was offered.
                                    usleep(UInt32(available.milliseconds * 500))
                                    return false
                                }) { _, _ in
            polls.withLock { $0.append((threadID(), .now)) }
        }
        loop.start()
        let deadline = ContinuousClock.now + .seconds(20)
        while polls.withLock({ $0.count }) < 6, ContinuousClock.now < deadline { usleep(5_000) }
        loop.stop()
        await loop.waitUntilStopped()
        let seen = offers.withLock { $0 }
        let times = polls.withLock { $0 }
        #expect(!seen.isEmpty)
        #expect(seen.allSatisfy { $0.available > .zero && $0.available <= .milliseconds(200) }, "\(seen.map(\.available))")
        #expect(Set(seen.map(\.thread) + times.map(\.thread)).count == 1, "idle work and polls on one thread")
        let gaps = zip(times, times.dropFirst()).map { $0.at.duration(to: $1.at) }
        #expect(gaps.allSatisfy { $0 >= .milliseconds(180) && $0 <= .milliseconds(260) }, "poll gaps \(gaps)")
    }
}

/// Commands into a running loop (write-back): taken between polls, on the bus thread, at once.
@Suite struct BusLoopInboxTests {
    @Test func aCommandWakesASleepingLoopAndRunsOnItsThreadBetweenPolls() async throws {
        let trace = Trace()
        let inPoll = Atomic<Bool>(false)
        let served = Mutex<[(thread: UInt, duringPoll: Bool, at: ContinuousClock.Instant)]>([])
        let inbox = WriteInbox()
        let loop = BusLoop(name: "fl-inbox", devices: [.init(name: "slow", interval: .seconds(60)), .init(name: "busy", interval: .milliseconds(50))],
                           logger: Logger(label: "test"), makeResource: { Handle(trace: trace) }, inbox: inbox,
                           serve: { job, _ in
                               served.withLock { $0.append((threadID(), inPoll.load(ordering: .acquiring), .now)) }
                               job.reply([])
                           }) { device, _ in
            inPoll.store(true, ordering: .releasing)
            trace.polls.withLock { $0.append((device, threadID(), .now)) }
            usleep(20_000)
            inPoll.store(false, ordering: .releasing)
        }
        loop.start()
        #expect(trace.waitForPolls(3))
        let replies = Mutex(0)
        for _ in 0..<20 {
            inbox.submit(WriteJob(request: WriteRequest(device: "slow", values: [], source: "test")) { _ in replies.withLock { $0 += 1 } })
            usleep(7_000)
        }
        #expect(eventually { replies.withLock { $0 } == 20 })
        loop.stop()
        await loop.waitUntilStopped()
        let serves = served.withLock { $0 }
        let pollThreads = Set(trace.polls.withLock { $0.map(\.thread) })
        #expect(serves.count == 20)
        #expect(serves.allSatisfy { !$0.duringPoll }, "a command ran beside a poll")
        #expect(Set(serves.map(\.thread)) == pollThreads, "commands run on the bus thread")
        // Stopped: the inbox refuses at once instead of queueing for nobody.
        let late = Mutex<[PointWriteResult]?>(nil)
        inbox.submit(WriteJob(request: WriteRequest(device: "slow", values: [("p", .int(1))], source: "test")) { results in late.withLock { $0 = results } })
        #expect(late.withLock { $0 }?.first?.outcome == .refused("the bus is not running"))
    }

    private func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            usleep(1_000)
        }
        return true
    }
}
