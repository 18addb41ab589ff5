import Dispatch
import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The ring's own thread: group commit, cleanup, the age limit and read-ahead, so none of that
/// disk work runs on a bus thread or the publisher's task.
extension DiskRing {
    /// Group commit, cleanup, age limit and read-ahead, off the publisher's task.
    func workerLoop() {
        var lastSync = ContinuousClock.now
        while true {
            let throttled = state.withLock { $0.throttled }
            let wait = throttled ? min(settings.syncInterval, .milliseconds(50)) : settings.syncInterval
            _ = workerSignal.wait(timeout: .now() + .milliseconds(Int(wait.milliseconds)))
            var yield = false
            let stopping = state.withLock { state -> Bool in
                if state.readAheadWanted {
                    readAhead(&state)
                    yield = true
                }
                if state.throttled {
                    state.throttled = false
                    yield = true
                }
                if state.stopping || ContinuousClock.now - lastSync >= settings.syncInterval {
                    lastSync = .now
                    commit(&state)
                }
                return state.stopping
            }
            if yield {
                state.withLock { $0.consumerWaiting = false }
                wakeConsumer()
            }
            if stopping { break }
        }
        workerDone.signal()
    }

    private func readAhead(_ state: inout State) {
        state.readAheadWanted = false
        guard let onDisk = state.log.lastID else { return }
        let from = max(state.sendCursor, (state.readAhead.last?.id ?? 0) + 1)
        guard from <= onDisk, state.readAhead.count < 1_024 else { return }
        do {
            let (records, corrupt) = try state.log.read(from: from, limit: 1_024 - state.readAhead.count)
            if corrupt > 0 {
                state.counters.corrupt += UInt64(corrupt)
                logger.warning("skipped \(corrupt) corrupt record(s) in the ring (\(state.counters.corrupt) since it was created)")
            }
            state.readAhead.append(contentsOf: records.filter { $0.id <= onDisk })
            if records.isEmpty, from <= onDisk {
                // Nothing readable left on disk below `onDisk`: the rest was corrupt or deleted.
                state.sendCursor = max(state.sendCursor, onDisk + 1)
            }
        } catch {
            logger.error("ring cannot read its backlog: \(error); retrying")
        }
    }

    /// fsync what was appended, persist the watermark, delete acknowledged segments, enforce `max_age`.
    private func commit(_ state: inout State) {
        do {
            try state.log.sync()
            if let maxAge = settings.maxAge {
                let now = settings.clock.now()
                while state.log.segments.count > 1, newestTime(ofOldestSegment: &state).isOlder(than: maxAge, at: now) {
                    dropOldestSegment(&state, reason: "older than buffer.max_age")
                }
            }
            try state.log.removeSegments(through: state.watermark)
            let onDisk = !state.log.isEmpty || settings.durability == .always
            // Online in spill mode with nothing on disk there is nothing to protect: no write at all.
            if state.counters != state.persistedCounters, onDisk || state.stopping || state.counters.dropped != state.persistedCounters.dropped {
                try RingStateFile.write(state.counters, directory: settings.directory)
                state.persistedCounters = state.counters
            }
        } catch {
            if state.diskProblem == nil { logger.error("ring commit failed: \(error)") }
            state.diskProblem = "\(error)"
        }
    }
}
