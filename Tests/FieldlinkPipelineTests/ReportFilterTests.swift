import FieldlinkCore
import FieldlinkPipeline
import Testing

@Suite struct ReportFilterTests {
    /// A recorded series (voltage, one poll a second) through the policy: exactly the expected reports.
    @Test func anAbsoluteDeadbandReportsDriftAgainstTheLastReportedValue() {
        let series: [Double] = [230.0, 230.2, 230.4, 230.5, 230.6, 231.2, 231.3, 229.9, 229.9, 230.0]
        var filter = ReportFilter()
        let policy = ReportPolicy(onChange: true, deadband: .absolute(0.5))
        let reported = series.enumerated().compactMap { second, volts in
            filter.apply(Reading(device: "m", timestamp: Int64(second) * 1_000, values: [("v", .double(volts))], errors: []), policy: policy)
        }.map { $0.values[0].value }
        // 230.0 first; 230.5 is 0.5 from it (slow drift adds up); 231.2 (+0.7); 229.9 (-1.3); nothing else.
        #expect(reported == [.double(230.0), .double(230.5), .double(231.2), .double(229.9)])
    }

    @Test func aRelativeDeadbandScalesWithTheValue() {
        var filter = ReportFilter()
        let policy = ReportPolicy(onChange: true, deadband: .relative(0.02))
        let series: [Double] = [100, 101.9, 102, 103, 104.1]
        let reported = series.enumerated().compactMap { index, value in
            filter.apply(Reading(device: "m", timestamp: Int64(index), values: [("p", .double(value))], errors: []), policy: policy)
        }.map { $0.values[0].value }
        #expect(reported == [.double(100), .double(102), .double(104.1)])  // 2% of 100, then 2% of 102 = 2.04
    }

    @Test func heartbeatReportsAnUnchangedPointAtLeastThatOften() {
        var filter = ReportFilter()
        let policy = ReportPolicy(onChange: true, heartbeat: .seconds(5))
        let times = (0...12).map { Int64($0) * 1_000 }
        let reported = times.compactMap { time in
            filter.apply(Reading(device: "m", timestamp: time, values: [("x", .int(7))], errors: []), policy: policy)
        }.map(\.timestamp)
        #expect(reported == [0, 5_000, 10_000])
    }

    @Test func onlyThePointsThatChangedAreInTheMessage() throws {
        var filter = ReportFilter()
        let policy = ReportPolicy(onChange: true, deadband: .absolute(1), pointDeadbands: ["fine": .absolute(0.01)])
        _ = filter.apply(Reading(device: "m", timestamp: 0, values: [("coarse", .double(10)), ("fine", .double(1.00)), ("on", .bool(false))],
                                 errors: []), policy: policy)
        let applied = filter.apply(Reading(device: "m", timestamp: 1, values: [("coarse", .double(10.5)), ("fine", .double(1.02)),
                                                                               ("on", .bool(true))], errors: []), policy: policy)
        let next = try #require(applied)
        #expect(next.values.map(\.name) == ["fine", "on"])  // coarse moved less than its deadband; a bool change always counts
        #expect(filter.apply(Reading(device: "m", timestamp: 2, values: [("coarse", .double(10.6)), ("fine", .double(1.02)),
                                                                          ("on", .bool(true))], errors: []), policy: policy) == nil)
    }

    @Test func errorsAreReportedWhenTheyChangeNotOnEveryPoll() {
        var filter = ReportFilter()
        let policy = ReportPolicy(onChange: true)
        func poll(_ time: Int64, _ errors: [(String, String)], _ values: [(String, Value)] = [("ok", .int(1))]) -> Reading? {
            filter.apply(Reading(device: "m", timestamp: time, values: values, errors: errors), policy: policy)
        }
        #expect(poll(0, [("x", "timeout")])?.errors.count == 1)
        #expect(poll(1, [("x", "timeout")]) == nil)
        #expect(poll(2, [("x", "illegal data address")])?.errors.map(\.reason) == ["illegal data address"])
        #expect(poll(3, [], [("ok", .int(1)), ("x", .int(5))])?.values.map(\.name) == ["x"])  // recovered
    }

    @Test func everyPollPassesEverythingThrough() {
        var filter = ReportFilter()
        let reading = Reading(device: "m", timestamp: 0, values: [("x", .int(1))], errors: [])
        #expect(filter.apply(reading, policy: .everyPoll) == reading)
        #expect(filter.apply(reading, policy: .everyPoll) == reading)
    }
}
