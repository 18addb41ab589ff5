import BusTestSupport
import FieldlinkCore
import FieldlinkPipeline
import Foundation
import Logging
import Testing

/// The time stage through an injected wall clock and sync source: a board that booted with its
/// clock weeks behind and no network.
@Suite struct ClockGateTests {
    static let trueStart: Int64 = 1_795_000_000_000
    static let behind = Duration.seconds(21 * 86_400)

    final class Setup {
        let wall = TestWallClock(wall: ClockGateTests.trueStart - ClockGateTests.behind.milliseconds)
        let sync: TestSyncSource
        let lines = LogLines()
        let fixture: PipelineFixture
        let gate: ClockGate

        init(_ time: TimeConfig = TimeConfig(), synchronised: Bool = false, format: PayloadFormat = .json) throws {
            sync = TestSyncSource(synchronised)
            fixture = try PipelineFixture([device("m", format: format, points: [point("v")])])
            let lines = self.lines
            gate = ClockGate(config: time, clock: ClockWatch(clock: wall, sync: sync), next: fixture.pipeline,
                             logger: Logger(label: "test") { _ in lines })
            fixture.ring.clear()
        }

        /// One second passes, then a poll: its ts is what the board's clock says.
        func poll(_ value: Double) {
            wall.advance(.seconds(1))
            gate.deliver(reading("m", at: wall.unixMilliseconds, [("v", .double(value))]))
        }

        func published() throws -> [[String: Any]] { try fixture.json(on: "fl/gw/m") }
    }

    @Test(.timeLimit(.minutes(1))) func heldReadingsGoOutCorrectedInOrderAtSync() throws {
        let setup = try Setup()
        for value in 1...3 { setup.poll(Double(value)) }
        setup.gate.tick()
        #expect(try setup.published().isEmpty, "nothing reaches the ring with the false time")
        #expect(setup.gate.status == ClockGate.Status(synchronised: false, held: 3))

        setup.wall.advance(.milliseconds(2_500))
        setup.wall.step(Self.behind)
        setup.sync.set(true)
        setup.gate.tick()
        setup.poll(4)
        let messages = try setup.published()
        #expect(messages.compactMap(seq) == [1, 2, 3, 4])
        // The true time of poll n is trueStart + n s.
        // The true time of poll n is trueStart + n s for the held three; the fourth came 2.5 s + 1 s after the third.
        #expect(messages.compactMap(ts) == [1_000, 2_000, 3_000, 6_500].map { Self.trueStart + $0 })
        #expect(messages.allSatisfy { $0["ts_quality"] == nil })
        #expect(setup.gate.status == ClockGate.Status(synchronised: true, held: 0))
        #expect(setup.lines.all.contains { $0.contains("3 held reading(s) published with their ts corrected") })
    }

    @Test(.timeLimit(.minutes(1))) func markPublishesAtOnceMarked() throws {
        var time = TimeConfig()
        time.unsynced = .mark
        let setup = try Setup(time)
        setup.poll(1)
        let messages = try setup.published()
        #expect(messages.count == 1)
        #expect(messages.first?["ts_quality"] as? String == "unsynced")
        #expect(messages.first.flatMap(ts) == Self.trueStart - Self.behind.milliseconds + 1_000)
    }

    @Test(.timeLimit(.minutes(1))) func afterMaxWaitHeldAndLaterReadingsGoOutMarked() throws {
        var time = TimeConfig()
        time.maxWait = .seconds(10)
        let setup = try Setup(time)
        setup.poll(1)
        setup.poll(2)
        setup.gate.tick()
        #expect(try setup.published().isEmpty)
        setup.wall.advance(.seconds(7))
        setup.gate.tick()
        #expect(try setup.published().isEmpty, "2 s of polls and 7 s: not yet 10 s")
        setup.wall.advance(.seconds(1))
        setup.gate.tick()
        setup.poll(3)
        var messages = try setup.published()
        #expect(messages.compactMap(seq) == [1, 2, 3])
        #expect(messages.allSatisfy { $0["ts_quality"] as? String == "unsynced" })
        #expect(setup.lines.all.filter { $0.contains("time.max_wait") }.count == 1)

        // Sync after all: from here on unmarked, true time.
        setup.wall.step(Self.behind)
        setup.sync.set(true)
        setup.gate.tick()
        setup.poll(4)
        messages = try setup.published()
        #expect(messages.last?["ts_quality"] == nil)
        #expect(messages.last.flatMap(ts) == setup.wall.unixMilliseconds)
    }

    @Test(.timeLimit(.minutes(1))) func trustAlwaysNeverHolds() throws {
        let setup = try Setup(synchronised: true)
        setup.poll(1)
        #expect(try setup.published().first?["ts_quality"] == nil)
        #expect(setup.gate.status.held == 0)
    }

    @Test(.timeLimit(.minutes(1))) func aStopQueuesHeldReadingsMarkedWithTheBestTimeKnown() throws {
        let setup = try Setup()
        setup.poll(1)
        setup.gate.releaseHeld()
        let messages = try setup.published()
        #expect(messages.count == 1)
        #expect(messages.first?["ts_quality"] as? String == "unsynced")
    }

    @Test(.timeLimit(.minutes(1))) func aBackwardStepLogsOnceAndKeepsSeqInOrder() throws {
        let setup = try Setup(synchronised: true)
        setup.poll(1)
        setup.wall.step(.zero - .milliseconds(5_250))
        setup.gate.tick()
        setup.gate.tick()
        setup.poll(2)
        setup.poll(3)
        let messages = try setup.published()
        #expect(messages.compactMap(seq) == [1, 2, 3])
        let steps = setup.lines.all.filter { $0.contains("stepped") }
        #expect(steps.count == 1)
        #expect(steps.first?.contains("stepped back by 5.250 s") == true, "\(steps)")
        // The ring ages by the monotonic clock: the stamps' monotonic times only grow.
        let monotonic = setup.fixture.ring.messages(on: "fl/gw/m").compactMap { $0.time?.monotonic }
        #expect(monotonic.count == 3 && monotonic == monotonic.sorted())
    }

    @Test(.timeLimit(.minutes(1))) func aForwardStepLogsItsSize() throws {
        let setup = try Setup(synchronised: true)
        setup.wall.step(.seconds(30 * 86_400))
        setup.gate.tick()
        #expect(setup.lines.all.filter { $0.contains("stepped forward by 2592000.000 s (30 days)") }.count == 1, "\(setup.lines.all)")
    }
}

/// A JSON message's `ts`.
func ts(_ message: [String: Any]) -> Int64? { (message["ts"] as? Int).map(Int64.init) }
