import FieldlinkCore
import Testing

@Suite struct StateChangeFilterTests {
    @Test func firstStateIsAChangeFromNothing() throws {
        var filter = StateChangeFilter<String>()
        #expect(filter.current == nil)
        let update = filter.update("ok")
        let change = try #require(update)
        #expect(change.previous == nil)
        #expect(change.repeats == 0)
        #expect(filter.current == "ok")
        #expect(filter.repeats == 1)
    }

    @Test func repeatsAreCountedSilently() {
        var filter = StateChangeFilter<String>()
        _ = filter.update("down")
        for _ in 0..<86_399 {
            let update = filter.update("down")
            #expect(update == nil)
        }
        #expect(filter.repeats == 86_400)
    }

    @Test func aChangeReportsThePreviousStateAndHowOftenItWasSeen() throws {
        var filter = StateChangeFilter<Int>()
        _ = filter.update(1)
        _ = filter.update(1)
        _ = filter.update(1)
        let update = filter.update(2)
        let change = try #require(update)
        #expect(change.previous == 1)
        #expect(change.repeats == 3)
        #expect(filter.current == 2)
        #expect(filter.repeats == 1)
    }

    @Test func everyTransitionIsReportedOnce() {
        var filter = StateChangeFilter<String>()
        let states = ["ok", "ok", "timeout", "timeout", "timeout", "ok", "crc", "ok", "ok"]
        var changes: [String] = []
        for state in states {
            if let change = filter.update(state) {
                changes.append("\(change.previous ?? "-")x\(change.repeats)->\(state)")
            }
        }
        #expect(changes == ["-x0->ok", "okx2->timeout", "timeoutx3->ok", "okx1->crc", "crcx1->ok"])
        #expect(filter.repeats == 2)
    }
}
