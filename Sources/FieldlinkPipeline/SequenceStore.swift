import FieldlinkCore
import Foundation
import Synchronization

/// Per-device message sequence numbers that continue across restarts.
///
/// Writing the file on every reading would wear an SD card out, so the store reserves numbers in
/// blocks: the file holds, per device, a floor that no number handed out so far reaches. A clean
/// shutdown writes the exact next number (no gap); after a crash the rest of the block is skipped,
/// so a number is never used twice and receivers can always drop duplicates by `seq`.
public final class SequenceStore: Sendable {
    public static let fileName = "sequence.json"

    private struct State {
        var next: [String: UInt64]
        var floor: [String: UInt64]
    }

    private let path: String
    private let blockSize: UInt64
    private let state: Mutex<State>

    /// Opens (or starts) the store in `directory`, creating the directory if needed.
    public init(directory: String, blockSize: UInt64 = 1_000) throws {
        self.path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        self.blockSize = blockSize
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StateFileError(path: directory, reason: "cannot be created: \(FileAccess.errno(of: error).text)")
        }
        var floors: [String: UInt64] = [:]
        if let data = FileManager.default.contents(atPath: path) {
            do {
                floors = try JSONDecoder().decode([String: UInt64].self, from: data)
            } catch {
                throw StateFileError(path: path, reason: "is corrupt (\(error)); move it away to start sequences again")
            }
        }
        self.state = Mutex(State(next: floors, floor: floors))
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

    /// Writes the exact next numbers, so a clean restart continues without a gap.
    public func close() throws {
        try state.withLock { state in
            try write(state.next)
            state.floor = state.next
        }
    }

    private func write(_ floors: [String: UInt64]) throws(StateFileError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            try encoder.encode(floors).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StateFileError(path: path, reason: "cannot be written: \(FileAccess.errno(of: error).text)")
        }
    }
}

public struct StateFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "state file \(path) \(reason)" }
}
