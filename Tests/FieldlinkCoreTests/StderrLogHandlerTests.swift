import FieldlinkCore
import Foundation
import Logging
import Testing

@Suite struct StderrLogHandlerTests {
    static func event(_ level: Logger.Level, _ message: Logger.Message, metadata: Logger.Metadata? = nil) -> LogEvent {
        LogEvent(level: level, message: message, metadata: metadata, source: "test", file: #fileID, function: #function, line: #line)
    }

    @Test func journalLinesCarryOnlyThePriorityPrefix() {
        let handler = StderrLogHandler(label: "fieldlink", level: .info, journalPrefix: true)
        #expect(handler.format(Self.event(.warning, "bus is quiet")) == "<4>bus is quiet\n")
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func levelsMapToSyslogPriorities(level: Logger.Level, priority: Int) {
        #expect(StderrLogHandler.syslogPriority(level) == priority)
        let handler = StderrLogHandler(label: "fieldlink", level: .trace, journalPrefix: true)
        #expect(handler.format(Self.event(level, "x")) == "<\(priority)>x\n")
    }

    @Test func terminalLinesStartWithTimeAndLevel() throws {
        let handler = StderrLogHandler(label: "fieldlink", level: .info, journalPrefix: false)
        let line = handler.format(Self.event(.error, "cannot open /dev/ttyUSB0"))
        let pattern = #/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\S* ERROR cannot open /dev/ttyUSB0\n$/#
        let match = try #require(line.wholeMatch(of: pattern), "unexpected line \(line.debugDescription)")
        // The stamp is the current time.
        let stamp = String(match.1)
        let parsed = try #require(try? Date(stamp + "Z", strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
        #expect(abs(parsed.timeIntervalSinceNow) < 24 * 3_600)
    }

    @Test func metadataIsSortedAndQuotedWhenNeeded() {
        var handler = StderrLogHandler(label: "fieldlink", level: .info, journalPrefix: true)
        handler[metadataKey: "device"] = "meter1"
        let line = handler.format(Self.event(.info, "polled", metadata: [
            "bus": "rs485", "reason": "no response (timeout)", "quote": "say \"hi\"", "eq": "a=b", "empty": "",
        ]))
        #expect(line == #"<6>polled bus=rs485 device=meter1 empty="" eq="a=b" quote="say \"hi\"" reason="no response (timeout)""# + "\n")
    }

    @Test func eventMetadataOverridesTheHandlers() {
        var handler = StderrLogHandler(label: "fieldlink", level: .info, journalPrefix: true)
        handler.metadata = ["device": "meter1", "bus": "rs485"]
        #expect(handler[metadataKey: "bus"] == "rs485")
        let line = handler.format(Self.event(.notice, "x", metadata: ["device": "meter2"]))
        #expect(line == "<5>x bus=rs485 device=meter2\n")
    }

    /// Journald splits at newlines, and the second half would lose its priority.
    @Test func everyEventIsExactlyOneLine() {
        let handler = StderrLogHandler(label: "fieldlink", level: .info, journalPrefix: true)
        let line = handler.format(Self.event(.error, "config has 2 problems:\n  a\n  b", metadata: ["error": "first\nsecond"]))
        #expect(line.filter { $0 == "\n" }.count == 1)
        #expect(line.hasSuffix("\n"))
        #expect(line.hasPrefix("<3>config has 2 problems:   a   b "))
    }

    @Test func journalIsDetectedOnlyFromAMatchingJournalStream() {
        // The test runner's stderr is not the journal unless JOURNAL_STREAM names its device and inode.
        let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"]
        if stream == nil {
            #expect(StderrLogHandler.stderrIsJournal() == false)
        }
        let handler = StderrLogHandler(label: "fieldlink", level: .debug, journalPrefix: false)
        #expect(handler.logLevel == .debug)
        #expect(handler.label == "fieldlink")
    }
}

/// stderr timestamps are RFC 3339 with the zone's offset, never a bare UTC time without `Z`.
@Suite struct StderrTimestampTests {
    static let instant = Date(timeIntervalSince1970: 1_796_220_309.125)  // 2026-12-02T14:05:09.125Z (.125: exact in a Double)

    @Test(arguments: [
        ("UTC", "2026-12-02T14:05:09.125+00:00"),
        ("Asia/Kolkata", "2026-12-02T19:35:09.125+05:30"),
        ("America/St_Johns", "2026-12-02T10:35:09.125-03:30"),
    ])
    func writesLocalTimeWithItsOffset(zone: String, expected: String) throws {
        let timeZone = try #require(TimeZone(identifier: zone))
        #expect(StderrLogHandler.timestamp(Self.instant, timeZone: timeZone) == expected)
    }

    @Test func aLogLineStartsWithAnRFC3339Timestamp() {
        let handler = StderrLogHandler(label: "t", level: .info, journalPrefix: false)
        let line = handler.format(LogEvent(level: .warning, message: "m", metadata: nil, source: "", file: "", function: "", line: 0))
        #expect(line.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d WARNING m\n/) != nil, "\(line)")
    }
}
