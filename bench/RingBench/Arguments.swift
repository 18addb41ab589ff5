// ring-bench's command line and its small helpers, parsed by hand (no extra dependencies).

import FieldlinkBuffer
import FieldlinkCore
import FieldlinkMQTT
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct Arguments {
    let command: String
    private var values: [String: String] = [:]

    init(_ argv: [String]) {
        command = argv.count > 1 ? argv[1] : "help"
        var index = 2
        while index < argv.count {
            let key = argv[index]
            guard key.hasPrefix("--"), index + 1 < argv.count else { RingBench.fail("bad argument \(key)") }
            values[String(key.dropFirst(2))] = argv[index + 1]
            index += 2
        }
    }

    func string(_ key: String, _ fallback: String? = nil) -> String {
        guard let value = values[key] ?? fallback else { RingBench.fail("missing --\(key)") }
        return value
    }

    func int(_ key: String, _ fallback: Int? = nil) -> Int {
        guard let value = values[key].flatMap({ Int($0) }) ?? fallback else { RingBench.fail("missing or bad --\(key)") }
        return value
    }
}

/// Forwards to the real ring and notes when the publisher first reports the uplink up (on CONNACK),
/// so a drain can also be timed from CONNACK, as the C baseline is.
final class ConnackTimedRing: MessageRing {
    let ring: DiskRing
    private let connack = Mutex<(at: ContinuousClock.Instant, cpu: Double)?>(nil)

    init(_ ring: DiskRing) { self.ring = ring }

    var connectedAt: (at: ContinuousClock.Instant, cpu: Double)? { connack.withLock { $0 } }

    func append(_ message: OutboundMessage) { ring.append(message) }
    func checkout(limit: Int) -> [RingRecord] { ring.checkout(limit: limit) }
    func acknowledge(_ id: UInt64) { ring.acknowledge(id) }
    func requeueInFlight() { ring.requeueInFlight() }
    func setConsumerWakeup(_ wake: @escaping @Sendable () -> Void) { ring.setConsumerWakeup(wake) }
    var statistics: RingStatistics { ring.statistics }
    func uplinkChanged(up: Bool) {
        if up {
            let now = ContinuousClock.now, cpu = RingBench.cpuSeconds()
            connack.withLock { if $0 == nil { $0 = (now, cpu) } }
        }
        ring.uplinkChanged(up: up)
    }
}
