import DequeModule
import Dispatch
import FieldlinkCore
import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// The store-and-forward ring: every message that enters it reaches the broker at least once, in
/// order, unless the configured size or age limit pushed it out (counted and logged).
///
/// One id sequence, two places: a prefix of the ring on disk (segment files) and a suffix in
/// memory. With `durability: spill` the suffix is everything while the broker is reachable (no disk
/// writes at all); memory spills to disk when the uplink goes down, when memory passes its bound, and
/// at shutdown. With `durability: always` every message is written to disk as it arrives. Acks may
/// come in any order; what is persisted is the contiguous acknowledged watermark. Disk I/O happens
/// on the calling bus thread (appends) or on the ring's own thread (fsync, read-ahead, cleanup),
/// never on the publisher's task.
public final class DiskRing: MessageRing {
    public struct Settings: Sendable {
        public var directory: String
        public var durability: Durability
        public var maxBytes: Int
        public var maxAge: Duration?
        public var syncInterval: Duration
        public var replayRate: Int
        /// Spill mode: past this many messages in memory, memory spills to disk.
        public var memoryMessages: Int
        /// When the disk cannot take them, memory holds this many before dropping the oldest.
        public var memoryFallbackLimit: Int
        public var segmentBytes: Int
        /// Stamps messages that come without a time; `max_age` is measured against it.
        public var clock: any TimeSource = WallTimeOnly()

        /// `inFlightWindow`: the publisher's window, the default spill threshold.
        public init(directory: String, buffer: BufferConfig, inFlightWindow: Int) {
            self.directory = directory
            durability = buffer.durability
            maxBytes = buffer.maxBytes
            maxAge = buffer.maxAge
            syncInterval = buffer.syncInterval
            replayRate = buffer.replayRate
            memoryMessages = buffer.memoryMessages ?? inFlightWindow
            memoryFallbackLimit = max(10_000, memoryMessages)
            // Small enough that the oldest-drop and the acked-delete are fine-grained, large enough
            // that a full ring is a few dozen files.
            segmentBytes = min(4 << 20, max(64 << 10, buffer.maxBytes / 32))
        }
    }

    struct Entry {
        var record: RingRecord
        var appendedAt: Int64
    }

    struct State {
        var log: SegmentLog
        /// The newest messages; every id here is above every id on disk.
        var memory = Deque<Entry>()
        var nextID: UInt64
        /// Every id at or below it is acknowledged (or was dropped).
        var watermark: UInt64
        /// Handed out, not yet acknowledged, in the order handed out.
        var inFlight = Deque<UInt64>()
        var acknowledgedAhead = Set<UInt64>()
        /// The next id `checkout` considers.
        var sendCursor: UInt64
        /// Records read from disk ahead of `checkout`, ids ascending.
        var readAhead = Deque<RingRecord>()
        var readAheadWanted = false
        var uplinkUp = false
        var consumerWaiting = true
        var replayTokens: Double
        var lastRefill: ContinuousClock.Instant
        var throttled = false
        var counters: RingCounters
        var persistedCounters: RingCounters
        var diskProblem: String?
        var stopping = false
    }

    public let settings: Settings
    let state: Mutex<State>
    let logger: Logger
    /// Boxed: a closure kept directly in a `Mutex` is re-wrapped in reabstraction thunks on every
    /// `withLock { $0 }`, so calling it got slower with every message (measured: most of the CPU).
    private final class Wakeup: Sendable {
        let call: @Sendable () -> Void
        init(_ call: @escaping @Sendable () -> Void) { self.call = call }
    }

    private let consumerWakeup = Mutex<Wakeup?>(nil)
    let workerSignal = DispatchSemaphore(value: 0)
    let workerDone = DispatchSemaphore(value: 0)

    /// Opens the ring in `settings.directory`, recovering whatever a crash or power cut left there.
    public init(settings: Settings, logger: Logger) throws(FileError) {
        self.settings = settings
        self.logger = logger
        let log = try SegmentLog(directory: settings.directory, segmentLimit: settings.segmentBytes)
        let recovery = log.recovery
        let lastOnDisk = log.lastID ?? 0
        var counters = RingStateFile.read(directory: settings.directory) ?? RingCounters()
        counters.truncatedBytes += UInt64(recovery.truncatedBytes)
        counters.corrupt += UInt64(recovery.corruptRecords)
        Self.recoverSequences(&counters, from: log, directory: settings.directory, logger: logger)
        Self.countVanishedSegments(&counters, in: log, logger: logger)
        let watermark = counters.watermark
        var state = State(log: log, nextID: max(watermark, lastOnDisk) + 1, watermark: watermark, sendCursor: watermark + 1,
                          replayTokens: Double(settings.replayRate), lastRefill: .now, counters: counters,
                          persistedCounters: counters)
        state.readAheadWanted = lastOnDisk > watermark
        self.state = Mutex(state)
        for path in recovery.quarantined {
            logger.error("ring: \(path) is not a readable segment file (a directory, a FIFO, or unreadable); moved aside to \(path).quarantined, going on with the rest")
        }
        if recovery.truncatedBytes > 0 || recovery.corruptRecords > 0 {
            logger.warning("ring recovery: cut \(recovery.truncatedBytes) byte(s) of torn tail, skipped \(recovery.corruptRecords) corrupt record(s)")
        }
        if lastOnDisk > watermark {
            logger.notice("ring holds up to \(lastOnDisk - watermark) unacknowledged message(s) from before the restart; they will be sent again")
        }
        PosixThread.start(name: "fieldlink-ring") { [self] in workerLoop() }
    }

    // MARK: MessageRing

    public func setConsumerWakeup(_ wake: @escaping @Sendable () -> Void) {
        let box = Wakeup(wake)
        consumerWakeup.withLock { $0 = box }
        wake()  // whatever is already queued
    }

    func wakeConsumer() {
        consumerWakeup.withLock { $0 }?.call()
    }

    public func append(_ message: OutboundMessage) {
        var message = message
        let time = message.time ?? settings.clock.now()
        message.time = time
        let wake = state.withLock { state -> Bool in
            let entry = Entry(record: RingRecord(id: state.nextID, message: message), appendedAt: time.wall)
            state.nextID += 1
            if let sequence = message.sequence, sequence.number > state.counters.sequences[sequence.device] ?? 0 {
                state.counters.sequences[sequence.device] = sequence.number
            }
            let toDisk = settings.durability == .always || !state.uplinkUp
            if toDisk, spillMemory(&state), write(entry, &state) {
                // on disk
            } else {
                state.memory.append(entry)
                if state.memory.count > settings.memoryMessages, !spillMemory(&state),
                   state.memory.count > settings.memoryFallbackLimit {
                    // No disk to spill to: memory is all there is; its oldest goes, counted. It is
                    // marked acknowledged rather than moving the watermark, which may still have
                    // unsent records on disk below it.
                    let dropped = state.memory.removeFirst()
                    state.acknowledgedAhead.insert(dropped.record.id)
                    state.counters.dropped += 1
                    if state.counters.dropped.nonzeroBitCount == 1 {
                        logger.warning("memory full and disk unavailable: dropping the oldest messages (\(state.counters.dropped) dropped so far)")
                    }
                }
            }
            defer { state.consumerWaiting = false }
            return state.consumerWaiting
        }
        if wake { wakeConsumer() }
    }

    public func checkout(limit: Int) -> [RingRecord] {
        let (records, wantRead) = state.withLock { state -> ([RingRecord], Bool) in
            var records: [RingRecord] = []
            var wantRead = false
            refillTokens(&state)
            while records.count < limit, state.sendCursor < state.nextID {
                let id = state.sendCursor
                if state.acknowledgedAhead.contains(id) {
                    state.sendCursor += 1  // acknowledged before a reconnect, or dropped from memory
                    continue
                }
                if let onDisk = state.log.lastID, id <= onDisk {
                    while let first = state.readAhead.first, first.id < id { state.readAhead.removeFirst() }
                    guard let first = state.readAhead.first else {
                        wantRead = true
                        break
                    }
                    if state.acknowledgedAhead.contains(first.id) {
                        state.readAhead.removeFirst()
                        state.sendCursor = first.id + 1
                        continue
                    }
                    guard state.replayTokens >= 1 else {
                        state.throttled = true
                        break
                    }
                    state.replayTokens -= 1
                    state.readAhead.removeFirst()
                    // Ids between `id` and `first.id` are gone (acknowledged before a spill, or corrupt).
                    records.append(first)
                    state.inFlight.append(first.id)
                    state.sendCursor = first.id + 1
                    if state.readAhead.count < 256 { wantRead = true }
                } else {
                    guard let head = state.memory.first else {
                        state.sendCursor = state.nextID
                        break
                    }
                    if id < head.record.id {
                        state.sendCursor = head.record.id
                        continue
                    }
                    let entry = state.memory[Int(id - head.record.id)]
                    records.append(entry.record)
                    state.inFlight.append(id)
                    state.sendCursor = id + 1
                }
            }
            if state.sendCursor >= state.nextID { state.consumerWaiting = true }
            if wantRead { state.readAheadWanted = true }
            if records.isEmpty, state.inFlight.isEmpty { advanceWatermark(&state) }
            return (records, wantRead)
        }
        if wantRead { workerSignal.signal() }
        return records
    }

    public func acknowledge(_ id: UInt64) {
        state.withLock { state in
            guard id > state.watermark, id < state.nextID else { return }  // stale, or not an id of this ring
            state.acknowledgedAhead.insert(id)
            advanceWatermark(&state)
        }
    }

    public func requeueInFlight() {
        let wake = state.withLock { state -> Bool in
            state.inFlight.removeAll()
            state.sendCursor = state.watermark + 1
            state.readAhead.removeAll()
            state.readAheadWanted = state.log.lastID.map { $0 > state.watermark } ?? false
            defer { state.consumerWaiting = false }
            return state.sendCursor < state.nextID
        }
        workerSignal.signal()
        if wake { wakeConsumer() }
    }

    /// The uplink went down (spill what is in memory, write new messages to disk) or came back.
    public func uplinkChanged(up: Bool) {
        state.withLock { state in
            guard !state.stopping else { return }  // closed: memory already went to disk
            state.uplinkUp = up
            if !up { _ = spillMemory(&state) }
        }
    }

    public var statistics: RingStatistics {
        state.withLock { state in
            // Acknowledged out of order (or dropped from memory) above the watermark: no longer held.
            let acknowledgedInFlight = state.inFlight.count { state.acknowledgedAhead.contains($0) }
            return RingStatistics(depth: Int(state.nextID - 1 - state.watermark) - state.acknowledgedAhead.count,
                                  inFlight: state.inFlight.count - acknowledgedInFlight, dropped: state.counters.dropped)
        }
    }

    /// Each device's highest `seq` that entered the ring, this run or before (kept after its records are gone).
    public var sequenceHighWater: [String: UInt64] { state.withLock { $0.counters.sequences } }

    /// On-disk detail for `fieldlink buffer inspect` and the logs.
    public var counters: RingCounters { state.withLock { $0.counters } }

    /// Writes everything unacknowledged to disk, syncs it and stops the ring's thread. The ring is
    /// unusable afterwards.
    public func close() {
        state.withLock { state in
            _ = spillMemory(&state)
            state.stopping = true
        }
        workerSignal.signal()
        workerDone.wait()
    }

    // MARK: Inside the lock

    /// Moves memory to disk, oldest first. False when the disk refused (the rest stays in memory).
    private func spillMemory(_ state: inout State) -> Bool {
        while let entry = state.memory.first {
            if entry.record.id <= state.watermark || state.acknowledgedAhead.contains(entry.record.id) {
                state.memory.removeFirst()
                continue
            }
            guard write(entry, &state) else { return false }
            state.memory.removeFirst()
        }
        return true
    }

    /// Appends one record to disk, making room by dropping the oldest segment when the ring is full
    /// or the disk is. False when it could not be written at all.
    private func write(_ entry: Entry, _ state: inout State) -> Bool {
        let size = SegmentLog.estimatedSize(of: entry.record.message)
        while state.log.totalBytes + size > settings.maxBytes, state.log.segments.count > 1 {
            dropOldestSegment(&state, reason: "buffer.max_bytes reached")
        }
        for attempt in 0..<2 {
            do {
                try state.log.append(entry.record, appendedAt: entry.appendedAt)
                if let problem = state.diskProblem {
                    logger.notice("ring writes work again (after: \(problem))")
                    state.diskProblem = nil
                }
                return true
            } catch {
                if error.isNoSpace, attempt == 0, state.log.segments.count > 1 {
                    dropOldestSegment(&state, reason: "disk full")
                    continue
                }
                if state.diskProblem == nil {
                    logger.error("ring cannot write to disk: \(error); keeping messages in memory (up to buffer.memory_messages)")
                }
                state.diskProblem = "\(error)"
                return false
            }
        }
        return false
    }

    func dropOldestSegment(_ state: inout State, reason: String) {
        do {
            let (lost, lastID) = try state.log.dropOldest(above: state.watermark)
            drop(through: lastID, count: lost, &state, reason: reason)
        } catch {
            logger.error("ring cannot drop its oldest segment: \(error)")
        }
    }

    /// Records up to `id` are gone for good: move the watermark past them and count them.
    private func drop(through id: UInt64, count: Int, _ state: inout State, reason: String) {
        guard count > 0 || id > state.watermark else { return }
        state.counters.dropped += UInt64(count)
        if count > 0 {
            logger.warning("dropped \(count) oldest message(s): \(reason) (\(state.counters.dropped) dropped since the ring was created)")
        }
        if id > state.watermark {
            state.watermark = id
            state.counters.watermark = id
        }
        state.sendCursor = max(state.sendCursor, state.watermark + 1)
        while let first = state.inFlight.first, first <= state.watermark { state.inFlight.removeFirst() }
        while let first = state.memory.first, first.record.id <= state.watermark { state.memory.removeFirst() }
    }

    /// The watermark follows the oldest record not yet acknowledged.
    private func advanceWatermark(_ state: inout State) {
        while let first = state.inFlight.first, state.acknowledgedAhead.contains(first) {
            state.inFlight.removeFirst()
        }
        let oldestPending = state.inFlight.first ?? state.sendCursor
        if oldestPending - 1 > state.watermark {
            state.watermark = oldestPending - 1
            if !state.acknowledgedAhead.isEmpty {
                state.acknowledgedAhead = state.acknowledgedAhead.filter { $0 > state.watermark }
            }
            state.counters.watermark = state.watermark
            while let first = state.memory.first, first.record.id <= state.watermark { state.memory.removeFirst() }
        }
    }

    private func refillTokens(_ state: inout State) {
        let now = ContinuousClock.now
        let elapsed = state.lastRefill.duration(to: now).seconds
        state.lastRefill = now
        state.replayTokens = min(Double(settings.replayRate), state.replayTokens + elapsed * Double(settings.replayRate))
    }
}
