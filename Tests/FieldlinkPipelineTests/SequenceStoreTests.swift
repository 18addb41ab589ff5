import FieldlinkCore
import FieldlinkPipeline
import Foundation
import Testing
import TestSupport

@Suite struct SequenceStoreTests {
    static func take(_ count: Int, from store: SequenceStore, for device: String = "meter1") -> [UInt64] {
        (0..<count).map { _ in
            let (sequence, error) = store.next(for: device)
            #expect(error == nil)
            return sequence
        }
    }

    static func fileContents(_ directory: String) throws -> [String: UInt64] {
        let data = try #require(FileManager.default.contents(atPath: directory + "/" + SequenceStore.fileName))
        return try JSONDecoder().decode([String: UInt64].self, from: data)
    }

    @Test func startsAtOneForEveryDevice() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SequenceStore(directory: directory)
        #expect(Self.take(3, from: store) == [1, 2, 3])
        #expect(Self.take(2, from: store, for: "climate") == [1, 2])
        #expect(Self.take(1, from: store) == [4])
    }

    @Test func createsItsDirectory() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let nested = directory + "/state/deeper"
        let store = try SequenceStore(directory: nested)
        #expect(Self.take(1, from: store) == [1])
        #expect(FileManager.default.fileExists(atPath: nested + "/" + SequenceStore.fileName))
    }

    @Test func cleanRestartContinuesWithoutAGap() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try SequenceStore(directory: directory, blockSize: 10)
            #expect(Self.take(3, from: store) == [1, 2, 3])
            #expect(Self.take(1, from: store, for: "climate") == [1])
            try store.close()
        }
        #expect(try Self.fileContents(directory) == ["meter1": 4, "climate": 2])
        let reopened = try SequenceStore(directory: directory, blockSize: 10)
        #expect(Self.take(2, from: reopened) == [4, 5])
        #expect(Self.take(1, from: reopened, for: "climate") == [2])
        #expect(Self.take(1, from: reopened, for: "new") == [1])
    }

    @Test func cleanRestartsRepeatedlyStayGapless() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var handedOut: [UInt64] = []
        for _ in 0..<5 {
            let store = try SequenceStore(directory: directory, blockSize: 4)
            handedOut += Self.take(7, from: store)
            try store.close()
        }
        #expect(handedOut == Array(1...35))
    }

    /// After a crash (no `close`), numbering resumes above every number handed out, whatever point of
    /// a block the crash hit; the gap is at most one block.
    @Test(arguments: [1, 2, 3, 4, 5, 8, 9, 13])
    func crashRestartNeverReusesANumber(handedOut count: Int) throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let blockSize: UInt64 = 4
        let crashed = try SequenceStore(directory: directory, blockSize: blockSize)
        let before = Self.take(count, from: crashed)
        #expect(before == Array(1...UInt64(count)))
        // No close(): the process died. The old instance is simply abandoned.
        let reopened = try SequenceStore(directory: directory, blockSize: blockSize)
        let after = try #require(Self.take(1, from: reopened).first)
        #expect(after > UInt64(count))
        #expect(after <= UInt64(count) + blockSize)
        withExtendedLifetime(crashed) {}
    }

    @Test func reservesBlocksInsteadOfWritingEveryNumber() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SequenceStore(directory: directory, blockSize: 100)
        _ = Self.take(1, from: store)
        #expect(try Self.fileContents(directory) == ["meter1": 101])
        // Inside the block nothing is written: the file is not touched even if it vanishes.
        try FileManager.default.removeItem(atPath: directory + "/" + SequenceStore.fileName)
        _ = Self.take(99, from: store)
        #expect(!FileManager.default.fileExists(atPath: directory + "/" + SequenceStore.fileName))
        // Number 101 opens the next block.
        #expect(Self.take(1, from: store) == [101])
        #expect(try Self.fileContents(directory) == ["meter1": 201])
    }

    @Test func crashAfterACleanRestartIsSafeToo() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SequenceStore(directory: directory, blockSize: 10)
        _ = Self.take(3, from: first)
        try first.close()
        let second = try SequenceStore(directory: directory, blockSize: 10)
        #expect(Self.take(2, from: second) == [4, 5])
        // crash
        let third = try SequenceStore(directory: directory, blockSize: 10)
        #expect(Self.take(1, from: third) == [14])
        withExtendedLifetime(second) {}
    }

    /// Empty, garbage, deleted or lowered: the start goes on, and no number comes back, thanks to the
    /// mirror beside the ring and the ring's own highest seq.
    @Test(arguments: ["not json", "{\"meter1\": -3}", "[1, 2]", "{\"meter1\": \"7\"}", "", "{\"meter1\": 2}", nil])
    func damagedFileNeitherStopsTheStartNorReusesANumber(contents: String?) throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mirror = directory + "/buffer"
        let first = try SequenceStore(directory: directory, blockSize: 10, mirrorDirectory: mirror)
        #expect(Self.take(25, from: first) == Array(1...25))
        try first.close()
        let path = directory + "/" + SequenceStore.fileName
        if let contents {
            try contents.write(toFile: path, atomically: true, encoding: .utf8)
        } else {
            try FileManager.default.removeItem(atPath: path)
        }
        let reopened = try SequenceStore(directory: directory, blockSize: 10, mirrorDirectory: mirror)
        #expect(Self.take(1, from: reopened) == [26])
        // Both copies gone: the ring's highest seq still holds the line.
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.removeItem(atPath: mirror + "/sequence.floor")
        let bare = try SequenceStore(directory: directory, blockSize: 10, recovery: .init(ringHighWater: ["meter1": 40]))
        #expect(Self.take(1, from: bare) == [41])
        #expect(!bare.startNotes.isEmpty)
    }

    @Test func corruptFileIsNamedInTheStartNotes() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/" + SequenceStore.fileName
        try "garbage".write(toFile: path, atomically: true, encoding: .utf8)
        let store = try SequenceStore(directory: directory)
        #expect(store.startNotes.contains { $0.hasPrefix("state file \(path) is corrupt") })
        #expect(Self.take(1, from: store) == [1])
        #expect(try Self.fileContents(directory) == ["meter1": 1_001])  // rewritten whole
    }

    /// After a crash, a device whose every number reached the ring continues right after the ring's
    /// highest (no false gap); one that is not exact skips the rest of its block (never reuses).
    @Test func crashContinuesAfterTheRingsHighestForExactDevices() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let crashed = try SequenceStore(directory: directory, blockSize: 1_000)
        _ = Self.take(37, from: crashed)
        _ = Self.take(37, from: crashed, for: "batched")
        // kill -9: no close. The ring saw 1...37 of both.
        let recovery = SequenceStore.Recovery(ringHighWater: ["meter1": 37, "batched": 37], exact: ["meter1"])
        let reopened = try SequenceStore(directory: directory, blockSize: 1_000, recovery: recovery)
        #expect(Self.take(1, from: reopened) == [38])
        #expect(Self.take(1, from: reopened, for: "batched") == [1_001])
        #expect(reopened.startNotes.contains { $0.hasPrefix("batched: the last stop was not clean") && $0.contains("963") })
        // A clean stop in between: exact numbers, no notes.
        try reopened.close()
        let clean = try SequenceStore(directory: directory, blockSize: 1_000, recovery: .init(ringHighWater: ["meter1": 38], exact: ["meter1"]))
        #expect(Self.take(1, from: clean) == [39])
        #expect(clean.startNotes.isEmpty)
        withExtendedLifetime(crashed) {}
    }

    @Test func unwritableDirectoryIsReportedButNumberingGoesOn() throws {
        let directory = try makeTemporaryDirectory("sequence-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SequenceStore(directory: directory, blockSize: 2)
        // Put a directory where the file goes, so every write fails (works as root, unlike permissions).
        try FileManager.default.createDirectory(atPath: directory + "/" + SequenceStore.fileName, withIntermediateDirectories: false)
        let first = store.next(for: "meter1")
        #expect(first.sequence == 1)
        let error = try #require(first.persistError)
        #expect(error.reason.hasPrefix("cannot be written"))
        #expect(store.next(for: "meter1").persistError == nil)  // inside the block: no write attempted
        #expect(store.next(for: "meter1").sequence == 3)
        #expect(throws: StateFileError.self) { try store.close() }
    }
}
