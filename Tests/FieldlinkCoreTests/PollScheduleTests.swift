import FieldlinkCore
import Testing

/// An instant the test moves by hand: an offset from an arbitrary start.
struct TestInstant: InstantProtocol {
    var offset: Duration

    static func ms(_ milliseconds: Int64) -> TestInstant { TestInstant(offset: .milliseconds(milliseconds)) }

    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
}

@Suite struct PollScheduleTests {
    /// Runs the schedule like the bus owner does: take the next due poll, start it at its due time
    /// (or now, if later), finish it `pollTime(device)` later. Returns (device, start in ms) per poll.
    static func run(_ schedule: inout PollSchedule<TestInstant>, polls: Int,
                    pollTime: (Int) -> Duration) -> [(device: Int, start: Int64)] {
        var now = TestInstant.ms(0)
        var log: [(device: Int, start: Int64)] = []
        for _ in 0..<polls {
            guard let (device, due) = schedule.next() else { break }
            now = max(now, due)
            log.append((device, now.offset.milliseconds))
            now = now.advanced(by: pollTime(device))
            schedule.completed(device, at: now)
        }
        return log
    }

    @Test func firstPollIsDueAtTheStart() throws {
        let schedule = PollSchedule(intervals: [.seconds(1)], start: TestInstant.ms(500))
        let next = try #require(schedule.next())
        #expect(next.device == 0)
        #expect(next.due == .ms(500))
        #expect(schedule.skipped == [0])
    }

    @Test func noDevicesMeansNothingToPoll() {
        let schedule = PollSchedule(intervals: [], start: TestInstant.ms(0))
        #expect(schedule.next() == nil)
    }

    @Test func fixedRateDoesNotDriftWithPollTime() {
        var schedule = PollSchedule(intervals: [.seconds(1)], start: TestInstant.ms(0))
        // Each poll takes 300 ms; a fixed-delay loop would start them 1.3 s apart.
        let log = Self.run(&schedule, polls: 1_000) { _ in .milliseconds(300) }
        #expect(log.map(\.start) == (0..<1_000).map { Int64($0) * 1_000 })
        #expect(schedule.skipped == [0])
        #expect(schedule.next()?.due == .ms(1_000_000))
    }

    @Test func overrunSkipsThePassedSlotsAndCountsThem() {
        var schedule = PollSchedule(intervals: [.seconds(1)], start: TestInstant.ms(0))
        // The poll at 0 finishes at 3500: the slots at 1000, 2000 and 3000 have passed.
        #expect(schedule.completed(0, at: .ms(3_500)) == 3)
        #expect(schedule.next()?.due == .ms(4_000))
        #expect(schedule.skipped == [3])
        // A poll that ends within its interval skips nothing.
        #expect(schedule.completed(0, at: .ms(4_200)) == 0)
        #expect(schedule.next()?.due == .ms(5_000))
        #expect(schedule.skipped == [3])
    }

    @Test func overrunKeepsTheOriginalGrid() {
        var schedule = PollSchedule(intervals: [.milliseconds(400)], start: TestInstant.ms(100))
        #expect(schedule.completed(0, at: .ms(1_050)) == 2)  // the slots at 500 and 900 passed
        #expect(schedule.next()?.due == .ms(1_300))  // 100 + 3 * 400, not 1050 + 400
    }

    @Test func slowPollEveryOtherTimeSkipsOneSlotEachTime() {
        var schedule = PollSchedule(intervals: [.seconds(1)], start: TestInstant.ms(0))
        var poll = 0
        let log = Self.run(&schedule, polls: 6) { _ in
            poll += 1
            return poll.isMultiple(of: 2) ? .milliseconds(1_500) : .milliseconds(100)
        }
        #expect(log.map(\.start) == [0, 1_000, 3_000, 4_000, 6_000, 7_000])
        #expect(schedule.skipped == [3])
    }

    @Test func devicesWithDifferentIntervalsKeepTheirOwnGrids() {
        var schedule = PollSchedule(intervals: [.seconds(1), .milliseconds(2_500), .seconds(2)], start: TestInstant.ms(0))
        let log = Self.run(&schedule, polls: 12) { _ in .milliseconds(10) }
        // Device 0 every 1 s, device 1 every 2.5 s, device 2 every 2 s; a tie goes to the lower index,
        // and a device that waited behind another starts late without moving its grid.
        let expected: [(Int, Int64)] = [
            (0, 0), (1, 10), (2, 20),
            (0, 1_000),
            (0, 2_000), (2, 2_010),
            (1, 2_500),
            (0, 3_000),
            (0, 4_000), (2, 4_010),
            (0, 5_000), (1, 5_010),
        ]
        #expect(log.map(\.device) == expected.map(\.0))
        #expect(log.map(\.start) == expected.map(\.1))
        #expect(schedule.skipped == [0, 0, 0])
    }

    @Test func tiesGoToTheDeviceConfiguredFirst() {
        var schedule = PollSchedule(intervals: [.seconds(1), .seconds(1), .seconds(1)], start: TestInstant.ms(0))
        var order: [Int] = []
        for _ in 0..<6 {
            guard let (device, due) = schedule.next() else { break }
            order.append(device)
            schedule.completed(device, at: due)  // polls that take no time
        }
        #expect(order == [0, 1, 2, 0, 1, 2])
    }

    @Test func oneDevicesOverrunMakesTheOthersLateNotSkipped() {
        var schedule = PollSchedule(intervals: [.seconds(1), .seconds(1)], start: TestInstant.ms(0))
        #expect(schedule.next()?.device == 0)
        #expect(schedule.completed(0, at: .ms(2_500)) == 2)
        // Device 1 is still owed its poll due at 0; the slots of its own that passed are what get skipped.
        let next = schedule.next()
        #expect(next?.device == 1)
        #expect(next?.due == .ms(0))
        #expect(schedule.completed(1, at: .ms(2_600)) == 2)
        #expect(schedule.next()?.due == .ms(3_000))
        #expect(schedule.skipped == [2, 2])
    }
}
