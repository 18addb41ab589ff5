import FieldlinkCore
import FieldlinkPipeline
import Testing

@Suite struct BatcherTests {
    static func item(_ n: Int, size: Int = 10) -> [UInt8] { [UInt8](repeating: UInt8(n), count: size) }

    @Test func aBatchGoesWhenItHoldsMaxMessages() {
        var batcher = Batcher<[UInt8]>()
        let policy = BatchPolicy(maxMessages: 3, maxDelay: .seconds(60), maxBytes: 1 << 20)
        #expect(batcher.add(Self.item(1), size: 10, takenAt: 0, policy: policy).isEmpty)
        #expect(batcher.add(Self.item(2), size: 10, takenAt: 1, policy: policy).isEmpty)
        #expect(batcher.add(Self.item(3), size: 10, takenAt: 2, policy: policy) == [[Self.item(1), Self.item(2), Self.item(3)]])
        #expect(batcher.isEmpty)
    }

    @Test func aReadingThatWouldOverflowMaxBytesStartsTheNextBatch() {
        var batcher = Batcher<[UInt8]>()
        let policy = BatchPolicy(maxMessages: 100, maxDelay: .seconds(60), maxBytes: 25)
        #expect(batcher.add(Self.item(1), size: 10, takenAt: 0, policy: policy).isEmpty)
        #expect(batcher.add(Self.item(2), size: 10, takenAt: 1, policy: policy).isEmpty)  // 20 bytes
        #expect(batcher.add(Self.item(3), size: 10, takenAt: 2, policy: policy) == [[Self.item(1), Self.item(2)]])  // 30 > 25
        #expect(batcher.flush() == [Self.item(3)])
    }

    @Test func aBatchGoesWhenItsOldestReadingHasWaitedMaxDelay() {
        var batcher = Batcher<[UInt8]>()
        let policy = BatchPolicy(maxMessages: 100, maxDelay: .seconds(10), maxBytes: 1 << 20)
        _ = batcher.add(Self.item(1), size: 10, takenAt: 1_000, policy: policy)
        _ = batcher.add(Self.item(2), size: 10, takenAt: 5_000, policy: policy)
        #expect(batcher.flushIfDue(now: 10_999, policy: policy) == nil)
        #expect(batcher.flushIfDue(now: 11_000, policy: policy) == [Self.item(1), Self.item(2)])
        #expect(batcher.flushIfDue(now: 30_000, policy: policy) == nil)  // nothing waiting
        // A reading that arrives after the deadline takes the batch with it at once.
        _ = batcher.add(Self.item(3), size: 10, takenAt: 40_000, policy: policy)
        #expect(batcher.add(Self.item(4), size: 10, takenAt: 50_000, policy: policy) == [[Self.item(3), Self.item(4)]])
    }
}
