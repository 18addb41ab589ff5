import DequeModule
import FieldlinkCore
import Synchronization

/// The in-memory ring: bounded by message count, dropping (and counting) the oldest when full so
/// live data never blocks.
public final class MemoryRing: MessageRing {
    private struct Entry {
        var record: RingRecord
        var inFlight = false
        var acknowledged = false
    }

    private struct State {
        var entries = Deque<Entry>()
        /// Index in `entries` of the first record not handed out.
        var cursor = 0
        var nextID: UInt64 = 1
        var dropped: UInt64 = 0
        var consumerWaiting = true

        mutating func removeAcknowledgedHead() {
            while let head = entries.first, head.acknowledged {
                entries.removeFirst()
                cursor = max(0, cursor - 1)
            }
        }
    }

    private let capacity: Int
    private let state = Mutex(State())
    private let wakeupContinuation: AsyncStream<Void>.Continuation
    public let wakeups: AsyncStream<Void>

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        (wakeups, wakeupContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func append(_ message: OutboundMessage) {
        let wake = state.withLock { state -> Bool in
            if state.entries.count >= capacity {
                state.entries.removeFirst()
                state.dropped += 1
                state.cursor = max(0, state.cursor - 1)
                // Acknowledged records behind it were delivered: release them, never drop (and count) them later.
                state.removeAcknowledgedHead()
            }
            state.entries.append(Entry(record: RingRecord(id: state.nextID, message: message)))
            state.nextID += 1
            defer { state.consumerWaiting = false }
            return state.consumerWaiting
        }
        if wake { wakeupContinuation.yield() }
    }

    public func checkout(limit: Int) -> [RingRecord] {
        state.withLock { state in
            var records: [RingRecord] = []
            while records.count < limit, state.cursor < state.entries.count {
                if !state.entries[state.cursor].acknowledged {
                    state.entries[state.cursor].inFlight = true
                    records.append(state.entries[state.cursor].record)
                }
                state.cursor += 1
            }
            if state.cursor == state.entries.count { state.consumerWaiting = true }
            return records
        }
    }

    public func acknowledge(_ id: UInt64) {
        state.withLock { state in
            guard let first = state.entries.first?.record.id, id >= first else { return }
            let index = Int(id - first)
            guard index < state.entries.count else { return }
            state.entries[index].acknowledged = true
            state.entries[index].inFlight = false
            state.removeAcknowledgedHead()
        }
    }

    public func requeueInFlight() {
        let wake = state.withLock { state -> Bool in
            for index in state.entries.indices { state.entries[index].inFlight = false }
            state.cursor = 0
            defer { state.consumerWaiting = false }
            return !state.entries.isEmpty
        }
        if wake { wakeupContinuation.yield() }
    }

    public var statistics: RingStatistics {
        state.withLock { state in
            RingStatistics(depth: state.entries.count { !$0.acknowledged },
                           inFlight: state.entries.filter(\.inFlight).count,
                           dropped: state.dropped)
        }
    }
}
