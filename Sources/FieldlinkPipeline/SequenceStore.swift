import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Per-device message sequence numbers that continue across restarts, never reused, without false gaps.
///
/// Writing the file on every reading would wear an SD card out, so the store reserves numbers in
/// blocks: the file holds, per device, a floor that no number handed out so far reaches. A clean
/// shutdown writes the exact next number (no gap) and a `sequence.clean` marker. After a crash a
/// device whose every number reaches the disk ring as it is handed out (`durability: always`, no
/// batch) continues right after the highest `seq` the ring has seen; any other skips the rest of
/// its block, so a number is never used twice and receivers can always drop duplicates by `seq`.
///
/// The floor is kept twice (the state directory and the mirror beside the ring's cursor), and the
/// ring's own record counts too: an empty, garbage, deleted or lowered `sequence.json` neither
/// stops the start nor makes a number come back.
public final class SequenceStore: Sendable {
    public static let fileName = "sequence.json"
    public static let cleanMarkerName = "sequence.clean"

    /// What the disk ring knows about numbers already used.
    public struct Recovery: Sendable {
        /// Each device's highest `seq` that entered the ring (kept after its records are deleted).
        public var ringHighWater: [String: UInt64]
        /// Devices whose every number reaches the ring as it is handed out.
        public var exact: Set<String>

        public init(ringHighWater: [String: UInt64] = [:], exact: Set<String> = []) {
            self.ringHighWater = ringHighWater
            self.exact = exact
        }
    }

    private struct State {
        var next: [String: UInt64]
        var floor: [String: UInt64]
    }

    private let paths: [String]
    private let markerPath: String
    private let blockSize: UInt64
    private let state: Mutex<State>
    /// What the start found worth telling (a damaged file, a crash and where numbering continues).
    public let startNotes: [String]

    /// Opens (or starts) the store in `directory`, creating it if needed; `mirrorDirectory` keeps a
    /// second copy of the floor (the ring's folder).
    public init(directory: String, blockSize: UInt64 = 1_000, mirrorDirectory: String? = nil, recovery: Recovery = Recovery()) throws {
        let primary = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        markerPath = URL(fileURLWithPath: directory).appendingPathComponent(Self.cleanMarkerName).path
        self.blockSize = blockSize
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let mirrorDirectory { try FileManager.default.createDirectory(atPath: mirrorDirectory, withIntermediateDirectories: true) }
        } catch {
            throw StateFileError(path: directory, reason: "cannot be created: \(FileAccess.errno(of: error).text)")
        }
        var paths = [primary]
        if let mirrorDirectory {
            paths.append(URL(fileURLWithPath: mirrorDirectory).appendingPathComponent("sequence.floor").path)
        }
        self.paths = paths
        var notes: [String] = []
        var floors: [String: UInt64] = [:]
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            guard let found = try? JSONDecoder().decode([String: UInt64].self, from: data) else {
                notes.append("state file \(path) is corrupt (\(data.count) byte(s)); ignored: numbering continues from the other records")
                continue
            }
            floors.merge(found, uniquingKeysWith: max)
        }
        let clean = FileManager.default.fileExists(atPath: markerPath)
        try? FileManager.default.removeItem(atPath: markerPath)  // from now on, a crash leaves none
        var next: [String: UInt64] = [:]
        for device in Set(floors.keys).union(recovery.ringHighWater.keys) {
            let ring = recovery.ringHighWater[device].map { $0 + 1 }
            let file = floors[device]
            if !clean, let ring, recovery.exact.contains(device) {
                next[device] = ring  // every number handed out reached the ring: no gap
                if let file, file > ring { notes.append("\(device): the last stop was not clean; seq continues at \(ring), right after the last reading that reached the ring") }
            } else {
                next[device] = max(file ?? 1, ring ?? 1)
                if !clean, let file, let ring, file > ring {
                    notes.append("\(device): the last stop was not clean; seq continues at \(file): up to \(file - ring) number(s) after \(ring - 1) were given to readings held in memory and lost, or never used")
                } else if !clean, let file, ring == nil {
                    notes.append("\(device): the last stop was not clean; seq continues at \(file), past every number handed out: readings held in memory were lost, and at most \(blockSize) number(s) before it were never used")
                } else if let ring, ring > file ?? 0 {
                    notes.append("\(device): the sequence state \(file.map { "said \($0)" } ?? "was missing"); seq continues at \(ring), after the highest the ring has seen")
                }
            }
        }
        startNotes = notes
        // floor == next: each device's first number reserves a fresh block (and rewrites a damaged file).
        self.state = Mutex(State(next: next, floor: next))
    }

    /// The sequence number for the next message of `device`; persists a new block when one runs out.
    ///
    /// A failed write does not stop numbering (the reading matters more), but is returned so it can be
    /// logged; the next attempt comes a block later, so a read-only disk costs one line per block.
    public func next(for device: String) -> (sequence: UInt64, persistError: StateFileError?) {
        state.withLock { state in
            let sequence = state.next[device] ?? 1
            state.next[device] = sequence + 1
            guard sequence >= state.floor[device] ?? 0 else { return (sequence, nil) }
            state.floor[device] = sequence + blockSize
            do {
                try write(state.floor)
                return (sequence, nil)
            } catch {
                return (sequence, error as? StateFileError)
            }
        }
    }

    /// Writes the exact next numbers and the clean-stop marker, so a clean restart continues without a gap.
    public func close() throws {
        try state.withLock { state in
            try write(state.next)
            state.floor = state.next
        }
        FileManager.default.createFile(atPath: markerPath, contents: Data())
    }

    /// Every copy; an error only when none could be written.
    private func write(_ floors: [String: UInt64]) throws(StateFileError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var failure: StateFileError?
        var written = 0
        for path in paths {
            do {
                try encoder.encode(floors).write(to: URL(fileURLWithPath: path), options: .atomic)
                written += 1
            } catch {
                failure = failure ?? StateFileError(path: path, reason: "cannot be written: \(FileAccess.errno(of: error).text)")
            }
        }
        if written == 0, let failure { throw failure }
    }
}

public struct StateFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "state file \(path) \(reason)" }
}
