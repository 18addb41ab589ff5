import FieldlinkCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import FieldlinkBuffer

/// The contract the publisher relies on (`MessageRing`), checked on the ring as it runs while the
/// broker is reachable: in memory (spill mode), nothing on disk.
@Suite struct MessageRingContractTests {
    static func message(_ number: Int) -> OutboundMessage {
        OutboundMessage(topic: "fieldlink/gw/meter\(number)", payload: Array("{\"n\":\(number)}".utf8), qos: 1, retain: false,
                        contentType: "application/json")
    }

    /// An online ring holding messages 1...count (ids 1...count); `close()` it when done.
    static func ring(holding count: Int) -> DiskRing {
        var buffer = BufferConfig()
        buffer.syncInterval = .milliseconds(20)
        let directory = NSTemporaryDirectory() + "ring-contract-\(UUID().uuidString.prefix(8))"
        let ring = try! DiskRing(settings: .init(directory: directory, buffer: buffer, inFlightWindow: 100), logger: Logger(label: "test"))
        ring.uplinkChanged(up: true)
        for number in 1...max(count, 1) where count > 0 { ring.append(message(number)) }
        return ring
    }

    static func ids(_ records: [RingRecord]) -> [UInt64] { records.map(\.id) }

    /// Counts the ring's consumer wake-ups (they are called synchronously on the appending thread).
    final class WakeCounter: Sendable {
        let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
    }

    static func watch(_ ring: DiskRing) -> WakeCounter {
        let counter = WakeCounter()
        ring.setConsumerWakeup { counter.count.withLock { $0 += 1 } }
        return counter
    }

    @Test func checkoutHandsOutRecordsOldestFirstAndOnlyOnce() {
        let ring = Self.ring(holding: 5)
        defer { ring.close() }
        let first = ring.checkout(limit: 3)
        #expect(Self.ids(first) == [1, 2, 3])
        #expect(first.map(\.message) == [1, 2, 3].map(Self.message))
        #expect(Self.ids(ring.checkout(limit: 10)) == [4, 5])
        #expect(ring.checkout(limit: 10).isEmpty)
    }

    @Test func checkoutRespectsTheLimit() {
        let ring = Self.ring(holding: 4)
        defer { ring.close() }
        #expect(ring.checkout(limit: 0).isEmpty)
        #expect(Self.ids(ring.checkout(limit: 1)) == [1])
        #expect(Self.ids(ring.checkout(limit: 2)) == [2, 3])
    }

    @Test func idsKeepIncreasingAcrossAcknowledgements() {
        let ring = Self.ring(holding: 2)
        defer { ring.close() }
        for record in ring.checkout(limit: 10) { ring.acknowledge(record.id) }
        ring.append(Self.message(3))
        #expect(Self.ids(ring.checkout(limit: 10)) == [3])
    }

    @Test func acknowledgementsMayComeOutOfOrder() {
        let ring = Self.ring(holding: 5)
        defer { ring.close() }
        _ = ring.checkout(limit: 5)
        ring.acknowledge(4)
        ring.acknowledge(2)
        #expect(ring.statistics == RingStatistics(depth: 3, inFlight: 3, dropped: 0))
        ring.acknowledge(1)
        #expect(ring.statistics == RingStatistics(depth: 2, inFlight: 2, dropped: 0))
        ring.acknowledge(5)
        ring.acknowledge(3)
        #expect(ring.statistics == RingStatistics(depth: 0, inFlight: 0, dropped: 0))
        #expect(ring.checkout(limit: 10).isEmpty)
    }

    @Test func unknownAndRepeatedAcknowledgementsAreIgnored() {
        let ring = Self.ring(holding: 3)
        defer { ring.close() }
        _ = ring.checkout(limit: 3)
        ring.acknowledge(1)
        ring.acknowledge(1)
        ring.acknowledge(0)
        ring.acknowledge(99)
        #expect(ring.statistics == RingStatistics(depth: 2, inFlight: 2, dropped: 0))
        ring.requeueInFlight()
        #expect(Self.ids(ring.checkout(limit: 10)) == [2, 3])
    }

    @Test func requeueRestoresTheOriginalOrderAndSkipsAcknowledged() {
        let ring = Self.ring(holding: 6)
        defer { ring.close() }
        _ = ring.checkout(limit: 4)  // 1...4 in flight, 5 and 6 pending
        ring.acknowledge(2)
        ring.acknowledge(3)
        ring.requeueInFlight()
        #expect(ring.statistics == RingStatistics(depth: 4, inFlight: 0, dropped: 0))
        #expect(Self.ids(ring.checkout(limit: 10)) == [1, 4, 5, 6])
        #expect(ring.statistics.inFlight == 4)
    }

    @Test func requeueAfterRequeueStillResendsEverythingUnacknowledged() {
        let ring = Self.ring(holding: 3)
        defer { ring.close() }
        _ = ring.checkout(limit: 3)
        ring.requeueInFlight()
        #expect(Self.ids(ring.checkout(limit: 1)) == [1])
        ring.requeueInFlight()
        ring.acknowledge(1)  // a late acknowledgement from the old connection
        #expect(Self.ids(ring.checkout(limit: 10)) == [2, 3])
    }

    @Test func statisticsCountPendingAndInFlight() {
        let ring = Self.ring(holding: 4)
        defer { ring.close() }
        #expect(ring.statistics == RingStatistics(depth: 4, inFlight: 0, dropped: 0))
        _ = ring.checkout(limit: 3)
        #expect(ring.statistics == RingStatistics(depth: 4, inFlight: 3, dropped: 0))
        ring.acknowledge(1)
        #expect(ring.statistics == RingStatistics(depth: 3, inFlight: 2, dropped: 0))
        ring.requeueInFlight()
        #expect(ring.statistics == RingStatistics(depth: 3, inFlight: 0, dropped: 0))
    }

    @Test func firstAppendWakesTheConsumer() {
        let ring = Self.ring(holding: 0)
        defer { ring.close() }
        let wakes = Self.watch(ring)
        let before = wakes.value
        ring.append(Self.message(1))
        #expect(wakes.value == before + 1)
    }

    @Test func appendAfterTheConsumerDrainedWakesItOnce() {
        let ring = Self.ring(holding: 2)
        defer { ring.close() }
        let wakes = Self.watch(ring)
        #expect(Self.ids(ring.checkout(limit: 10)) == [1, 2])  // drained: the consumer will wait
        let before = wakes.value
        ring.append(Self.message(3))
        ring.append(Self.message(4))  // the consumer has not looked yet: no second wake-up
        #expect(wakes.value == before + 1)
        #expect(Self.ids(ring.checkout(limit: 10)) == [3, 4])
    }

    @Test func requeueWakesTheConsumerWhenThereIsSomethingToResend() {
        let ring = Self.ring(holding: 1)
        defer { ring.close() }
        let wakes = Self.watch(ring)
        _ = ring.checkout(limit: 10)
        let before = wakes.value
        ring.requeueInFlight()
        #expect(wakes.value > before)
        #expect(Self.ids(ring.checkout(limit: 10)) == [1])
    }
}
