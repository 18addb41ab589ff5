import FieldlinkCore
import FieldlinkPipeline
import Foundation
import Synchronization
import Testing

@Suite struct TelemetryPipelineTests {
    @Test func aJSONDeviceIsDescribedOnceRetainedBeforeItsData() throws {
        let fixture = try PipelineFixture([device("m", points: [point("v")])])
        let meta = fixture.ring.messages
        #expect(meta.map(\.topic) == ["fl/gw/m/meta"])
        #expect(meta.first?.retain == true && meta.first?.contentType == "application/json")
    }

    /// Every device counts on its own, from 1, with no gap: readings the on-change filter drops take
    /// no number.
    @Test func seqIsContinuousPerDeviceAndSkipsNothingForFilteredReadings() throws {
        let quiet = ReportPolicy(onChange: true)
        let fixture = try PipelineFixture([device("a", points: [point("v")]), device("b", report: quiet, points: [point("v")])])
        for second in Int64(0)..<4 {
            fixture.pipeline.deliver(reading("a", at: second * 1_000, [("v", .double(1))]))
            // b changes every other second: the polls in between are filtered out.
            fixture.pipeline.deliver(reading("b", at: second * 1_000, [("v", .double(Double(second / 2)))]))
        }
        #expect(try fixture.json(on: "fl/gw/a").map(seq) == [1, 2, 3, 4])
        let b = try fixture.json(on: "fl/gw/b")
        #expect(b.map { $0["ts"] as? Int } == [0, 2_000])
        #expect(b.map(seq) == [1, 2])
    }

    @Test func seqContinuesAcrossARestartOfThePipeline() throws {
        let devices = [device("a", points: [point("v")])]
        let fixture = try PipelineFixture(devices)
        fixture.pipeline.deliver(reading("a", at: 0, [("v", .double(1))]))
        fixture.pipeline.deliver(reading("a", at: 1_000, [("v", .double(1))]))
        try fixture.sequences.close()
        let store = try SequenceStore(directory: fixture.directory)
        let ring = MemoryRing()
        let restarted = TelemetryPipeline(devices: devices, statusTopic: "s", sparkplug: nil, sequences: store, ring: ring,
                                          logger: .init(label: "test"))
        restarted.deliver(reading("a", at: 2_000, [("v", .double(1))]))
        #expect(try ring.messages(on: "fl/gw/a").map { seq(try decodeJSON($0.payload) as! [String: Any]) } == [3])
    }

    /// Absolute deadband against the last *reported* value, a heartbeat that reports an unchanged
    /// point anyway, and errors reported when they change.
    @Test func onChangeWithDeadbandAndHeartbeat() throws {
        let policy = ReportPolicy(onChange: true, deadband: .absolute(0.5), heartbeat: .seconds(10))
        let fixture = try PipelineFixture([device("m", report: policy, points: [point("v"), point("i")])])
        let polls: [(Int64, Double, Double?)] = [
            (0, 230.0, 1),  // first: everything
            (1, 230.3, 1),  // below the deadband, i unchanged: nothing
            (2, 230.5, 1),  // 0.5 from the last reported 230.0: v only
            (3, 230.6, 2),  // i changed
            (11, 230.6, 2),  // v last reported at 2 s: the heartbeat is not due yet
            (12, 230.6, 2),  // heartbeat: v is due (10 s), i (reported at 3 s) is not
            (13, 230.6, nil),  // i fails: its error is reported
            (14, 230.6, nil),  // the same error again: nothing
        ]
        for (second, v, i) in polls {
            var values: [(String, Value)] = [("v", .double(v))]
            var errors: [(String, String)] = []
            if let i { values.append(("i", .double(i))) } else { errors.append(("i", "timeout")) }
            fixture.pipeline.deliver(reading("m", at: second * 1_000, values, errors: errors))
        }
        let sent = try fixture.json(on: "fl/gw/m")
        #expect(sent.map { $0["ts"] as? Int } == [0, 2_000, 3_000, 12_000, 13_000])
        #expect(sent.map(numbers) == [["v": 230.0, "i": 1], ["v": 230.5], ["i": 2], ["v": 230.6], [:]])
        #expect(sent.last?["errors"] as? [String: String] == ["i": "timeout"])
        #expect(sent.map(seq) == [1, 2, 3, 4, 5])
    }

    /// A point with a topic of its own goes as its own message (its route's QoS and retain), with the
    /// poll's ts and seq; the device's message no longer carries it.
    @Test func aPointWithItsOwnRouteIsItsOwnMessage() throws {
        let alarm = PublishRoute(topic: "fl/gw/alarms/m", qos: 2, retain: true)
        let fixture = try PipelineFixture([device("m", points: [point("v"), point("alarm", kind: .bool, route: alarm)])])
        fixture.pipeline.deliver(reading("m", at: 5_000, [("v", .double(230)), ("alarm", .bool(true))]))
        fixture.pipeline.deliver(reading("m", at: 6_000, [("v", .double(231))], errors: [("alarm", "timeout")]))

        let shared = try fixture.json(on: "fl/gw/m")
        #expect(shared.map(numbers) == [["v": 230], ["v": 231]])
        #expect(shared.allSatisfy { $0["errors"] as? [String: String] ?? [:] == [:] })
        let own = fixture.ring.messages(on: "fl/gw/alarms/m")
        #expect(own.map(\.qos) == [2] && own.map(\.retain) == [true])
        let message = try #require(try fixture.json(on: "fl/gw/alarms/m").first)
        #expect(message["values"] as? [String: Bool] == ["alarm": true])
        #expect(message["ts"] as? Int == 5_000 && seq(message) == 1)
        #expect(shared.map(seq) == [1, 2])
    }

    @Test func healthGoesRetainedToTheStatusTopic() throws {
        let fixture = try PipelineFixture([device("m", points: [point("v")])])
        fixture.ring.clear()
        fixture.pipeline.healthChanged(DeviceHealth(device: "m", ok: false, since: 1_000, lastSuccess: nil, failedPolls: 3, error: "timeout"))
        let status = fixture.ring.messages
        #expect(status.map(\.topic) == ["fl/gw/status/m"] && status.first?.retain == true)
        #expect(try (decodeJSON(status[0].payload) as? [String: Any])?["state"] as? String == "failing")
    }

    @Test func aReloadMovesADeviceAndDropsReadingsOfDevicesThatAreGone() throws {
        let fixture = try PipelineFixture([device("m", points: [point("v")]), device("old", points: [point("v")])])
        fixture.pipeline.update(devices: [device("m", topic: "fl/new/m", points: [point("v")])], statusTopic: "fl/new/status")
        fixture.ring.clear()
        fixture.pipeline.deliver(reading("m", at: 0, [("v", .double(1))]))
        fixture.pipeline.deliver(reading("old", at: 0, [("v", .double(1))]))
        fixture.pipeline.healthChanged(DeviceHealth(device: "m", ok: true, since: 0, lastSuccess: 0, failedPolls: 0, error: nil))
        #expect(fixture.ring.messages.map(\.topic) == ["fl/new/m", "fl/new/status/m"])
    }
}

/// `batch:` devices: several polls in one message, per topic.
@Suite struct PipelineBatchingTests {
    static let threePolls = BatchPolicy(maxMessages: 3, maxDelay: .seconds(5), maxBytes: 1 << 20)

    /// A JSON batch: the array of the single messages.
    func batches(_ fixture: PipelineFixture, on topic: String) throws -> [[[String: Any]]] {
        try fixture.ring.messages(on: topic).map { try decodeJSON($0.payload) as! [[String: Any]] }
    }

    @Test func devicesSharingATopicShareItsBatchesAndOtherTopicsKeepTheirOwn() throws {
        let shared = "fl/gw/line1"
        let fixture = try PipelineFixture([
            device("a", topic: shared, batch: Self.threePolls, points: [point("v")]),
            device("b", topic: shared, batch: Self.threePolls, points: [point("v")]),
            device("c", batch: Self.threePolls, points: [point("v")]),
        ])
        fixture.ring.clear()
        fixture.pipeline.deliver(reading("a", at: 0, [("v", .double(1))]))
        fixture.pipeline.deliver(reading("c", at: 0, [("v", .double(9))]))
        fixture.pipeline.deliver(reading("b", at: 0, [("v", .double(2))]))
        #expect(fixture.ring.messages.isEmpty, "nothing is full yet")
        fixture.pipeline.deliver(reading("a", at: 1_000, [("v", .double(3))]))

        let sent = try batches(fixture, on: shared)
        #expect(sent.count == 1)
        #expect(sent.first?.map { $0["device"] as? String } == ["a", "b", "a"])
        #expect(sent.first?.map(seq) == [1, 1, 2])
        #expect(fixture.ring.messages.map(\.topic) == [shared], "c's batch is its own, and not full")
    }

    @Test func aBatchGoesWhenItsOldestReadingHasWaitedMaxDelay() throws {
        let fixture = try PipelineFixture([device("m", batch: Self.threePolls, points: [point("v")])])
        fixture.ring.clear()
        fixture.pipeline.deliver(reading("m", at: 10_000, [("v", .double(1))]))
        fixture.pipeline.deliver(reading("m", at: 11_000, [("v", .double(2))]))
        fixture.pipeline.flushDue(now: 14_999)
        #expect(fixture.ring.messages.isEmpty)
        fixture.pipeline.flushDue(now: 15_000)
        #expect(try batches(fixture, on: "fl/gw/m").map { $0.map { $0["ts"] as? Int } } == [[10_000, 11_000]])
        fixture.pipeline.flushDue(now: 60_000)
        #expect(fixture.ring.messages.count == 1, "a batch goes once")
    }

    @Test func aReloadSendsBatchesInTheMakingUnderTheSettingsTheyWereMadeWith() throws {
        let fixture = try PipelineFixture([device("m", batch: Self.threePolls, points: [point("v")])])
        fixture.pipeline.deliver(reading("m", at: 0, [("v", .double(1))]))
        fixture.ring.clear()
        fixture.pipeline.update(devices: [device("m", topic: "fl/new/m", batch: Self.threePolls, points: [point("v")])], statusTopic: "s")
        #expect(fixture.ring.messages.map(\.topic) == ["fl/gw/m", "fl/new/m/meta"])
        #expect(try batches(fixture, on: "fl/gw/m").map(\.count) == [1])
    }

    @Test func theFlusherSendsBatchesAsTheyFallDue() async throws {
        let fixture = try PipelineFixture([device("m", batch: Self.threePolls, points: [point("v")])])
        fixture.ring.clear()
        fixture.pipeline.deliver(reading("m", at: 10_000, [("v", .double(1))]))
        let clock = Mutex<Int64>(14_999)
        let flusher = BatchFlusher(pipeline: fixture.pipeline, interval: .milliseconds(1)) { clock.withLock { $0 } }
        let running = Task { try await flusher.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(fixture.ring.messages.isEmpty, "not due before max_delay")
        clock.withLock { $0 = 15_000 }
        let deadline = ContinuousClock.now + .seconds(5)
        while fixture.ring.messages.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(try batches(fixture, on: "fl/gw/m").map(\.count) == [1])
    }

    /// With no batch in the making the flusher sleeps until one starts (no periodic wake-up), and
    /// a batch that starts after it went to sleep still goes when due.
    @Test func theFlusherWakesForABatchThatStartsWhileItWaits() async throws {
        let fixture = try PipelineFixture([device("m", batch: Self.threePolls, points: [point("v")])])
        fixture.ring.clear()
        let clock = Mutex<Int64>(15_000)
        let flusher = BatchFlusher(pipeline: fixture.pipeline, interval: .milliseconds(1)) { clock.withLock { $0 } }
        let running = Task { try await flusher.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .milliseconds(20))
        fixture.pipeline.deliver(reading("m", at: 10_000, [("v", .double(1))]))
        let deadline = ContinuousClock.now + .seconds(5)
        while fixture.ring.messages.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(try batches(fixture, on: "fl/gw/m").map(\.count) == [1])
        // The second batch, after the flusher went back to waiting.
        fixture.pipeline.deliver(reading("m", at: 14_000, [("v", .double(2))]))
        clock.withLock { $0 = 19_000 }
        while fixture.ring.messages.count < 2, ContinuousClock.now < deadline + .seconds(5) { try await Task.sleep(for: .milliseconds(1)) }
        #expect(try batches(fixture, on: "fl/gw/m").map(\.count) == [1, 1])
    }

    @Test func theFlusherSendsEveryBatchWhenItStops() async throws {
        let fixture = try PipelineFixture([device("m", batch: BatchPolicy(maxMessages: 50, maxDelay: .seconds(3_600)), points: [point("v")])])
        fixture.ring.clear()
        fixture.pipeline.deliver(reading("m", at: Int64(Date().timeIntervalSince1970 * 1_000), [("v", .double(1))]))
        let flusher = BatchFlusher(pipeline: fixture.pipeline)
        let running = Task { try await flusher.run() }
        running.cancel()
        try await running.value
        #expect(try batches(fixture, on: "fl/gw/m").map(\.count) == [1])
    }
}
