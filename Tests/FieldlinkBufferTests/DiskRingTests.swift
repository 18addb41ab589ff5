import FieldlinkCore
import Foundation
import Logging
import Testing

@testable import FieldlinkBuffer

@Suite struct DiskRingTests {
    static func settings(_ directory: String, durability: Durability = .spill, maxBytes: Int = 64 << 20,
                         memoryMessages: Int = 10_000, replayRate: Int = 1_000_000) -> DiskRing.Settings {
        var buffer = BufferConfig()
        buffer.durability = durability
        buffer.maxBytes = maxBytes
        buffer.memoryMessages = memoryMessages
        buffer.replayRate = replayRate
        buffer.syncInterval = .milliseconds(20)
        return DiskRing.Settings(directory: directory, buffer: buffer, inFlightWindow: 100)
    }

    static func directory() -> String { NSTemporaryDirectory() + "diskring-\(UUID().uuidString.prefix(8))" }

    static func message(_ n: Int) -> OutboundMessage {
        OutboundMessage(topic: "fieldlink/gw/dev\(n % 3)", payload: Array(#"{"n":\#(n)}"#.utf8), qos: 1, retain: false)
    }

    static func number(_ record: RingRecord) -> Int {
        Int(String(decoding: record.message.payload, as: UTF8.self).dropFirst(5).dropLast())!
    }

    static func segmentBytes(_ directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".seg") }.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(name)")[.size] as? Int) ?? 0)
        }
    }

    /// Checks out until nothing more comes within `timeout` (disk read-ahead runs on the ring's thread).
    static func drain(_ ring: DiskRing, acknowledge: Bool = true, timeout: Duration = .seconds(5)) -> [RingRecord] {
        var all: [RingRecord] = []
        let deadline = ContinuousClock.now + timeout
        var idleSince = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let batch = ring.checkout(limit: 100)
            if batch.isEmpty {
                if ring.statistics.depth == 0 || ContinuousClock.now - idleSince > .milliseconds(500) { break }
                usleep(2_000)
                continue
            }
            idleSince = ContinuousClock.now
            all += batch
            if acknowledge { batch.forEach { ring.acknowledge($0.id) } }
        }
        return all
    }

    @Test func spillModeWritesNothingWhileTheUplinkIsUp() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try DiskRing(settings: Self.settings(directory), logger: Logger(label: "test"))
        ring.uplinkChanged(up: true)
        for n in 1...500 { ring.append(Self.message(n)) }
        let delivered = Self.drain(ring)
        #expect(delivered.map(Self.number) == Array(1...500))
        #expect(ring.statistics.depth == 0)
        usleep(100_000)
        #expect(Self.segmentBytes(directory) == 0)
        ring.close()
    }

    @Test func anOutageSpillsToDiskAndEverythingSurvivesARestart() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let ring = try DiskRing(settings: Self.settings(directory), logger: Logger(label: "test"))
            ring.uplinkChanged(up: true)
            for n in 1...100 { ring.append(Self.message(n)) }
            // 40 delivered and acknowledged, 20 in flight when the link drops.
            let first = ring.checkout(limit: 60)
            first.prefix(40).forEach { ring.acknowledge($0.id) }
            ring.uplinkChanged(up: false)
            ring.requeueInFlight()
            for n in 101...200 { ring.append(Self.message(n)) }
            #expect(Self.segmentBytes(directory) > 0)
            ring.close()
        }
        let reopened = try DiskRing(settings: Self.settings(directory), logger: Logger(label: "test"))
        reopened.uplinkChanged(up: true)
        let delivered = Self.drain(reopened)
        #expect(delivered.map(Self.number) == Array(41...200))
        reopened.close()
        // Everything acknowledged: the segments are gone.
        #expect(Self.segmentBytes(directory) == 0)
    }

    @Test func alwaysModeKeepsEverythingWhenTheProcessDiesWithoutClose() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let crashed = try DiskRing(settings: Self.settings(directory, durability: .always), logger: Logger(label: "test"))
        crashed.uplinkChanged(up: true)
        for n in 1...300 { crashed.append(Self.message(n)) }
        var acknowledged: [RingRecord] = []
        while acknowledged.count < 100 {
            let batch = crashed.checkout(limit: 100 - acknowledged.count)
            batch.forEach { crashed.acknowledge($0.id) }
            acknowledged += batch
            if batch.isEmpty { usleep(2_000) }
        }
        #expect(acknowledged.map(Self.number) == Array(1...100))
        usleep(200_000)  // several sync intervals: the watermark is on disk
        // No close(): like kill -9, only what write(2) handed the kernel remains.
        let reopened = try DiskRing(settings: Self.settings(directory, durability: .always), logger: Logger(label: "test"))
        reopened.uplinkChanged(up: true)
        #expect(Self.drain(reopened).map(Self.number) == Array(101...300))
        reopened.close()
        crashed.close()
    }

    @Test func acknowledgementsOutOfOrderMoveOnlyTheContiguousWatermark() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try DiskRing(settings: Self.settings(directory), logger: Logger(label: "test"))
        ring.uplinkChanged(up: true)
        for n in 1...10 { ring.append(Self.message(n)) }
        let records = ring.checkout(limit: 10)
        for index in [1, 2, 4, 9] { ring.acknowledge(records[index].id) }
        #expect(ring.statistics.depth == 6)
        #expect(ring.statistics.inFlight == 6)
        ring.acknowledge(records[0].id)
        #expect(ring.statistics.depth == 5)  // 1, 2, 3 below the watermark, 5 and 10 above it; 4 is not acknowledged
        ring.requeueInFlight()
        // Resent: everything not acknowledged, in order; acknowledged ones are not sent twice.
        let again = ring.checkout(limit: 100)
        #expect(again.map(Self.number) == [4, 6, 7, 8, 9])
        ring.close()
    }

    @Test func requeueAfterASpillReplaysFromDiskInOrder() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try DiskRing(settings: Self.settings(directory, memoryMessages: 50), logger: Logger(label: "test"))
        ring.uplinkChanged(up: true)
        // Past memory_messages: memory spills although the uplink is up.
        for n in 1...120 { ring.append(Self.message(n)) }
        #expect(Self.segmentBytes(directory) > 0)
        let delivered = Self.drain(ring)
        #expect(delivered.map(Self.number) == Array(1...120))
        ring.close()
    }

    @Test func aFullRingDropsItsOldestSegmentsAndCountsThem() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try DiskRing(settings: Self.settings(directory, maxBytes: 64 << 10), logger: Logger(label: "test"))
        // Uplink down from the start: everything goes to disk.
        for n in 1...5_000 { ring.append(Self.message(n)) }
        #expect(Self.segmentBytes(directory) <= 64 << 10)
        let dropped = ring.statistics.dropped
        #expect(dropped > 0)
        ring.uplinkChanged(up: true)
        let delivered = Self.drain(ring).map(Self.number)
        // The newest survive, in order, and what is missing is exactly what was counted.
        #expect(delivered.last == 5_000)
        #expect(delivered == delivered.sorted())
        #expect(UInt64(5_000 - delivered.count) == dropped)
        ring.close()
        let inspection = try RingInspection(directory: directory)
        #expect(inspection.counters.dropped == dropped)
    }

    @Test func replayIsRateLimited() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = try DiskRing(settings: Self.settings(directory, replayRate: 500), logger: Logger(label: "test"))
        for n in 1...1_000 { ring.append(Self.message(n)) }
        ring.uplinkChanged(up: true)
        let start = ContinuousClock.now
        let delivered = Self.drain(ring, timeout: .seconds(10))
        let elapsed = ContinuousClock.now - start
        #expect(delivered.count == 1_000)
        // 500 tokens to start with, then 500/s: the second half takes about a second.
        #expect(elapsed > .milliseconds(700))
        ring.close()
    }

    /// Random appends, checkouts, acks, link flaps and restarts against a model: every message is
    /// delivered at least once, and first deliveries come in append order.
    @Test(arguments: [1, 2, 3, 4, 5])
    func randomOperationsNeverLoseOrReorder(seed: UInt64) throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var random = SplitMix(seed: seed)
        let durability: Durability = seed % 2 == 0 ? .always : .spill
        var ring = try DiskRing(settings: Self.settings(directory, durability: durability, memoryMessages: 30), logger: Logger(label: "test"))
        var appended = 0
        var firstDeliveries: [Int] = []
        var seen = Set<Int>()
        var inFlight: [RingRecord] = []
        var up = false
        for _ in 0..<400 {
            switch random.next() % 10 {
            case 0...3:
                for _ in 0..<Int(random.next() % 8) {
                    appended += 1
                    ring.append(Self.message(appended))
                }
            case 4, 5:
                guard up else { continue }
                let batch = ring.checkout(limit: Int(random.next() % 20))
                for record in batch where seen.insert(Self.number(record)).inserted { firstDeliveries.append(Self.number(record)) }
                inFlight += batch
            case 6, 7:
                inFlight.shuffle(using: &random)
                let count = Int(random.next() % UInt64(inFlight.count + 1))
                inFlight.prefix(count).forEach { ring.acknowledge($0.id) }
                inFlight.removeFirst(count)
            case 8:
                up.toggle()
                ring.uplinkChanged(up: up)
                if !up {
                    ring.requeueInFlight()
                    inFlight.removeAll()
                }
            default:
                // A clean restart: close spills memory; nothing may be lost.
                ring.close()
                ring = try DiskRing(settings: Self.settings(directory, durability: durability, memoryMessages: 30), logger: Logger(label: "test"))
                inFlight.removeAll()
                up = false
            }
        }
        ring.uplinkChanged(up: true)
        ring.requeueInFlight()
        for record in Self.drain(ring) where seen.insert(Self.number(record)).inserted {
            firstDeliveries.append(Self.number(record))
        }
        ring.close()
        #expect(appended > 0)
        #expect(seen == Set(1...appended), "lost messages (seed \(seed))")
        #expect(firstDeliveries == firstDeliveries.sorted(), "first deliveries out of order (seed \(seed))")
    }
}

/// A tiny deterministic generator, so a failing seed fails again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
