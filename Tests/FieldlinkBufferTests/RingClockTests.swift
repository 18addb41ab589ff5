import BusTestSupport
import FieldlinkCore
import Foundation
import Logging
import Testing

@testable import FieldlinkBuffer

/// `max_age` by elapsed time: a clock step never ages a message out, a reboot with an untrusted
/// clock does not either, and elapsed monotonic time still does.
@Suite struct RingClockTests {
    static let trueNow: Int64 = 1_795_000_000_000
    static let day = Duration.seconds(86_400)

    static func settings(_ directory: String, clock: ClockWatch) -> DiskRing.Settings {
        var settings = DiskRingTests.settings(directory, durability: .always, maxBytes: 1 << 20)
        settings.maxAge = day
        settings.segmentBytes = 16 << 10
        settings.clock = clock
        return settings
    }

    /// Several segments' worth: the age limit never drops the newest segment.
    static let count = 2_000

    static func fill(_ ring: DiskRing, time: (() -> TimeStamp)? = nil) {
        for n in 0..<count {
            var message = DiskRingTests.message(n)
            message.time = time?()
            ring.append(message)
        }
    }

    /// Lets the ring's thread run its commits (every 20 ms here), then asks until `done` or 5 s.
    static func settle(_ ring: DiskRing, until done: (RingStatistics) -> Bool = { _ in false }) -> RingStatistics {
        let deadline = ContinuousClock.now + .seconds(5)
        usleep(200_000)
        while !done(ring.statistics), ContinuousClock.now < deadline { usleep(20_000) }
        return ring.statistics
    }

    @Test(.timeLimit(.minutes(1))) func aThirtyDayForwardStepDropsNothing() throws {
        let directory = DiskRingTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let wall = TestWallClock(wall: Self.trueNow)
        let ring = try DiskRing(settings: Self.settings(directory, clock: ClockWatch(clock: wall, sync: TestSyncSource(true))),
                                logger: Logger(label: "test"))
        defer { ring.close() }
        Self.fill(ring)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.count > 3)
        wall.step(.seconds(30 * 86_400))
        wall.advance(.seconds(1))
        let after = Self.settle(ring)
        #expect(after.dropped == 0)
        #expect(after.depth == Self.count)

        // Two days really passing do age them out: the limit still works, by the monotonic clock.
        wall.advance(Self.day * 2)
        #expect(Self.settle(ring) { $0.dropped > 0 }.dropped > 0)
    }

    /// A ring filled in boot A (clock at `wall`, synchronised or not), closed, and opened again in
    /// boot B at `rebootWall` with a synchronised clock.
    static func reopenedInAnotherBoot(_ directory: String, wall: Int64, synchronised: Bool, rebootWall: Int64) throws -> DiskRing {
        let clock = TestWallClock(wall: wall, boot: 0xA)
        let first = ClockWatch(clock: clock, sync: TestSyncSource(synchronised))
        let ring = try DiskRing(settings: settings(directory, clock: first), logger: Logger(label: "test"))
        fill(ring) { first.now() }
        ring.close()
        clock.reboot(wall: rebootWall, boot: 0xB)
        return try DiskRing(settings: settings(directory, clock: ClockWatch(clock: clock, sync: TestSyncSource(true))), logger: Logger(label: "test"))
    }

    @Test(.timeLimit(.minutes(1))) func aRestartKeepsUncorrectedReadingsOfAnEarlierBoot() throws {
        let directory = DiskRingTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Boot A: the clock 21 days behind, never synchronised; readings stamped untrusted. Boot B, a
        // month later, synchronised: an earlier boot's untrusted time cannot be aged.
        let ring = try Self.reopenedInAnotherBoot(directory, wall: Self.trueNow - 21 * Self.day.milliseconds, synchronised: false,
                                                  rebootWall: Self.trueNow + 30 * Self.day.milliseconds)
        let after = Self.settle(ring)
        #expect(after.dropped == 0)
        let records = DiskRingTests.drain(ring)
        ring.close()
        #expect(records.map(DiskRingTests.number) == Array(0..<Self.count))
        // Their best-known time and its quality came back from the disk.
        #expect(records.allSatisfy { $0.message.time?.boot == 0xA && $0.message.time?.trusted == false })
        #expect(records.first?.message.time?.wall == Self.trueNow - 21 * Self.day.milliseconds)
    }

    @Test(.timeLimit(.minutes(1))) func anEarlierBootsTrustedTimeStillAges() throws {
        let directory = DiskRingTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try Self.reopenedInAnotherBoot(directory, wall: Self.trueNow, synchronised: true, rebootWall: Self.trueNow + 3 * Self.day.milliseconds)
        defer { ring.close() }
        #expect(Self.settle(ring) { $0.dropped > 0 }.dropped > 0)
    }

    @Test func recordsWithoutATimeStampStillRead() throws {
        let message = DiskRingTests.message(7)
        let framed = RecordCodec.frame(id: 9, message: message, appendedAt: 1_700_000_000_000)
        guard case .record(let decoded) = RecordCodec.parse(framed, at: 0) else {
            Issue.record("not parsed")
            return
        }
        #expect(decoded.record.message == message && decoded.record.message.time == nil)
        var stamped = message
        stamped.time = TimeStamp(wall: 1_700_000_000_000, monotonic: 123_456, boot: 0xABCD, trusted: false)
        guard case .record(let back) = RecordCodec.parse(RecordCodec.frame(id: 9, message: stamped, appendedAt: 1_700_000_000_000), at: 0) else {
            Issue.record("not parsed")
            return
        }
        #expect(back.record.message.time == stamped.time)
    }
}
