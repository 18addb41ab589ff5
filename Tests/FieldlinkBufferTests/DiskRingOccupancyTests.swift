import FieldlinkCore
import Foundation
import Logging
import Testing

@testable import FieldlinkBuffer

/// What `fieldlink status` and the metrics say about the ring: bytes and the oldest message's age.
@Suite struct DiskRingOccupancyTests {
    @Test func memoryMessagesAreCountedAndTheOldestIsTheFirstUnacknowledged() throws {
        let directory = DiskRingTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try DiskRing(settings: DiskRingTests.settings(directory), logger: Logger(label: "test"))
        defer { ring.close() }
        ring.uplinkChanged(up: true)
        #expect(ring.occupancy.oldestAppendedAt == nil)
        let before = Int64(Date().timeIntervalSince1970 * 1_000)
        for n in 0..<3 { ring.append(DiskRingTests.message(n)) }
        let occupancy = ring.occupancy
        // Topic and payload of each: "fieldlink/gw/devN" (17 bytes) and {"n":N} (7 bytes).
        #expect(occupancy.bytes - DiskRingTests.segmentBytes(directory) == 3 * (17 + 7))
        let oldest = try #require(occupancy.oldestAppendedAt)
        #expect(oldest >= before && oldest <= before + 5_000)

        let records = ring.checkout(limit: 3)
        ring.acknowledge(records[0].id)
        #expect(ring.occupancy.oldestAppendedAt != nil)
        ring.acknowledge(records[2].id)  // out of order: the second is still held
        #expect(ring.occupancy.oldestAppendedAt != nil)
        ring.acknowledge(records[1].id)
        #expect(ring.occupancy.oldestAppendedAt == nil)
    }

    @Test func messagesOnDiskHaveTheirSegmentsAge() throws {
        let directory = DiskRingTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try DiskRing(settings: DiskRingTests.settings(directory, durability: .always), logger: Logger(label: "test"))
        defer { ring.close() }
        for n in 0..<5 { ring.append(DiskRingTests.message(n)) }
        #expect(eventually(timeout: .seconds(5)) { DiskRingTests.segmentBytes(directory) > 0 })
        #expect(ring.occupancy.bytes >= DiskRingTests.segmentBytes(directory))
        #expect(ring.occupancy.oldestAppendedAt != nil)
        _ = DiskRingTests.drain(ring)
        #expect(ring.occupancy.oldestAppendedAt == nil)
    }

    private func eventually(timeout: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
