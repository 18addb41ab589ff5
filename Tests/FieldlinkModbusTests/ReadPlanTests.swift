@testable import FieldlinkModbus
import Testing

@Suite struct ReadPlanTests {
    typealias Request = ReadPlan.Request
    typealias Member = ReadPlan.Member

    static func span(_ table: ModbusTable, _ address: Int, _ count: Int = 1) -> ReadPlan.Span {
        ReadPlan.Span(table: table, address: address, count: count)
    }

    static func span(_ address: Int, _ count: Int = 1) -> ReadPlan.Span { span(.holding, address, count) }

    static func request(_ table: ModbusTable, _ address: Int, _ count: Int, _ members: [(Int, Int)]) -> Request {
        Request(table: table, address: address, count: count, members: members.map { Member(point: $0.0, offset: $0.1) })
    }

    static func request(_ address: Int, _ count: Int, _ members: [(Int, Int)]) -> Request {
        request(.holding, address, count, members)
    }

    @Test func emptyDeviceNeedsNoRequests() {
        #expect(ReadPlan(spans: [], maxGap: 0).requests.isEmpty)
    }

    @Test func contiguousPointsMergeIntoOneRequest() {
        let plan = ReadPlan(spans: [Self.span(0, 2), Self.span(2, 2), Self.span(4, 2), Self.span(6, 1)], maxGap: 0)
        #expect(plan.requests == [Self.request(0, 7, [(0, 0), (1, 2), (2, 4), (3, 6)])])
    }

    @Test func anyGapSplitsWhenMaxGapIsZero() {
        let plan = ReadPlan(spans: [Self.span(0, 2), Self.span(3, 1), Self.span(4, 2)], maxGap: 0)
        #expect(plan.requests == [Self.request(0, 2, [(0, 0)]), Self.request(3, 3, [(1, 0), (2, 1)])])
    }

    @Test func gapsUpToMaxGapAreReadThrough() {
        let spans = [Self.span(0), Self.span(4), Self.span(10)]
        #expect(ReadPlan(spans: spans, maxGap: 3).requests == [Self.request(0, 5, [(0, 0), (1, 4)]), Self.request(10, 1, [(2, 0)])])
        #expect(ReadPlan(spans: spans, maxGap: 5).requests == [Self.request(0, 11, [(0, 0), (1, 4), (2, 10)])])
        #expect(ReadPlan(spans: spans, maxGap: 2).requests.count == 3)
    }

    @Test func registerRequestsStopAt125() {
        let spans = (0..<126).map { Self.span($0) }
        let plan = ReadPlan(spans: spans, maxGap: 0)
        #expect(plan.requests.map(\.address) == [0, 125])
        #expect(plan.requests.map(\.count) == [ModbusLimits.maxRegistersPerRead, 1])
        #expect(plan.requests[0].members.map(\.point) == Array(0..<125))
        #expect(plan.requests[1].members == [Member(point: 125, offset: 0)])
    }

    @Test func aValueIsNeverSplitAcrossTheLimit() {
        // A float32 at 124 would end at 126: it starts a new request whole.
        let plan = ReadPlan(spans: [Self.span(0, 124), Self.span(124, 2)], maxGap: 0)
        #expect(plan.requests == [Self.request(0, 124, [(0, 0)]), Self.request(124, 2, [(1, 0)])])
        let exact = ReadPlan(spans: [Self.span(0, 123), Self.span(123, 2)], maxGap: 0)
        #expect(exact.requests == [Self.request(0, 125, [(0, 0), (1, 123)])])
    }

    @Test(arguments: [ModbusTable.coil, .discrete])
    func bitRequestsStopAt2000(table: ModbusTable) {
        let spans = (0..<2_001).map { Self.span(table, $0) }
        let plan = ReadPlan(spans: spans, maxGap: 0)
        #expect(plan.requests.map(\.address) == [0, 2_000])
        #expect(plan.requests.map(\.count) == [ModbusLimits.maxBitsPerRead, 1])
        #expect(plan.requests.allSatisfy { $0.table == table })
    }

    @Test(arguments: [ModbusTable.holding, .input])
    func registerTablesDoNotGetTheBitLimit(table: ModbusTable) {
        let plan = ReadPlan(spans: [Self.span(table, 0), Self.span(table, 200)], maxGap: 1_000)
        #expect(plan.requests.count == 2)
    }

    @Test func tablesAreKeptApartAndOrderedHoldingInputCoilDiscrete() {
        let plan = ReadPlan(spans: [
            Self.span(.discrete, 0), Self.span(.coil, 0), Self.span(.input, 0), Self.span(.holding, 0),
            Self.span(.input, 1), Self.span(.coil, 1),
        ], maxGap: 10)
        #expect(plan.requests == [
            Self.request(.holding, 0, 1, [(3, 0)]),
            Self.request(.input, 0, 2, [(2, 0), (4, 1)]),
            Self.request(.coil, 0, 2, [(1, 0), (5, 1)]),
            Self.request(.discrete, 0, 1, [(0, 0)]),
        ])
    }

    @Test func unsortedPointsAreSortedButKeepTheirIndices() {
        let plan = ReadPlan(spans: [Self.span(8, 2), Self.span(0, 2), Self.span(4, 2), Self.span(2, 2), Self.span(6, 2)], maxGap: 0)
        #expect(plan.requests == [Self.request(0, 10, [(1, 0), (3, 2), (2, 4), (4, 6), (0, 8)])])
    }

    @Test func overlappingPointsShareRegisters() {
        // The same 32-bit value read as a whole and as its two halves, plus a point inside a longer one.
        let plan = ReadPlan(spans: [Self.span(10, 2), Self.span(10, 1), Self.span(11, 1), Self.span(8, 4), Self.span(9, 1)], maxGap: 0)
        #expect(plan.requests == [Self.request(8, 4, [(3, 0), (4, 1), (0, 2), (1, 2), (2, 3)])])
    }

    @Test func samePointAddressTiesKeepConfigOrder() {
        let plan = ReadPlan(spans: [Self.span(5, 1), Self.span(5, 2), Self.span(5, 1)], maxGap: 0)
        #expect(plan.requests == [Self.request(5, 2, [(0, 0), (1, 0), (2, 0)])])
    }

    @Test func highestAddressesPlanNormally() {
        let plan = ReadPlan(spans: [Self.span(65_534, 2), Self.span(.coil, 65_535)], maxGap: 0)
        #expect(plan.requests == [Self.request(65_534, 2, [(0, 0)]), Self.request(.coil, 65_535, 1, [(1, 0)])])
    }
}

@Suite struct ReadPlanFallbackTests {
    typealias Member = ReadPlan.Member

    @Test func mergeFalseIsOneRequestPerPoint() {
        let spans = [ReadPlanTests.span(4, 2), ReadPlanTests.span(0), ReadPlanTests.span(1), ReadPlanTests.span(.coil, 0)]
        let plan = ReadPlan(spans: spans, maxGap: 8, merge: false)
        #expect(plan.requests == [ReadPlanTests.request(0, 1, [(1, 0)]), ReadPlanTests.request(1, 1, [(2, 0)]),
                                  ReadPlanTests.request(4, 2, [(0, 0)]), ReadPlanTests.request(.coil, 0, 1, [(3, 0)])])
        #expect(ReadPlan.unmerged(spans) == plan)
    }

    @Test func splittingARejectedRequestKeepsTheOthersMerged() {
        let spans = [ReadPlanTests.span(0), ReadPlanTests.span(2), ReadPlanTests.span(10, 2), ReadPlanTests.span(.input, 0), ReadPlanTests.span(.input, 1)]
        let plan = ReadPlan(spans: spans, maxGap: 8)
        #expect(plan.requests.count == 2)
        #expect(plan.canSplit(0))
        let split = plan.splitting(0, spans: spans)
        #expect(split.requests == [ReadPlanTests.request(0, 1, [(0, 0)]), ReadPlanTests.request(2, 1, [(1, 0)]),
                                   ReadPlanTests.request(10, 2, [(2, 0)]), ReadPlanTests.request(.input, 0, 2, [(3, 0), (4, 1)])])
        #expect(!split.canSplit(0))
        #expect(split.splitting(3, spans: spans).requests.count == 5)
    }
}
