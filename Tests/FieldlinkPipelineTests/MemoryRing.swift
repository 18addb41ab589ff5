import FieldlinkCore
import Synchronization

/// The ring protocol in memory, for looking at what the pipeline queued: no disk, no limits.
final class MemoryRing: MessageRing {
    private struct State {
        var records: [RingRecord] = []
        var nextID: UInt64 = 1
        /// Index into `records` of the next record `checkout` hands out.
        var cursor = 0
        var acknowledged: Set<UInt64> = []
        var wake: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Everything appended so far, in order.
    var messages: [OutboundMessage] { state.withLock { $0.records.map(\.message) } }

    func messages(on topic: String) -> [OutboundMessage] { messages.filter { $0.topic == topic } }

    /// Forgets what was appended so far (a test's "from here on").
    func clear() {
        state.withLock { state in
            state.acknowledged.formUnion(state.records.map(\.id))
            state.records.removeAll()
            state.cursor = 0
        }
    }

    func append(_ message: OutboundMessage) {
        let wake = state.withLock { state in
            state.records.append(RingRecord(id: state.nextID, message: message))
            state.nextID += 1
            return state.wake
        }
        wake?()
    }

    func checkout(limit: Int) -> [RingRecord] {
        state.withLock { state in
            let out = Array(state.records[state.cursor...].prefix(limit))
            state.cursor += out.count
            return out
        }
    }

    func acknowledge(_ id: UInt64) {
        _ = state.withLock { $0.acknowledged.insert(id) }
    }

    func requeueInFlight() {
        state.withLock { state in
            state.cursor = state.records.firstIndex { !state.acknowledged.contains($0.id) } ?? state.records.count
        }
    }

    func setConsumerWakeup(_ wake: @escaping @Sendable () -> Void) {
        state.withLock { $0.wake = wake }
    }

    var statistics: RingStatistics {
        state.withLock { state in
            let held = state.records.count { !state.acknowledged.contains($0.id) }
            let inFlight = state.records[..<state.cursor].count { !state.acknowledged.contains($0.id) }
            return RingStatistics(depth: held, inFlight: inFlight, dropped: 0)
        }
    }
}
