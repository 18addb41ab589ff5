import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// One line per event on stderr; with the `<N>` syslog prefix when stderr is the journal.
///
/// Under systemd, stdout/stderr are connected to journald, which reads a leading `<N>` as the
/// priority and stamps its own time, so the line then carries neither a timestamp nor a level word.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String
    private let journalPrefix: Bool

    public init(label: String, level: Logger.Level, journalPrefix: Bool = StderrLogHandler.stderrIsJournal()) {
        self.label = label
        self.logLevel = level
        self.journalPrefix = journalPrefix
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        FileHandle.standardError.write(Data(format(event).utf8))
    }

    /// The line that `log` writes, newline included.
    public func format(_ event: LogEvent) -> String {
        var line = ""
        if journalPrefix {
            line = "<\(Self.syslogPriority(event.level))>"
        } else {
            line = "\(Self.timestamp()) \(event.level.rawValue.uppercased()) "
        }
        line += event.message.description.replacingOccurrences(of: "\n", with: " ")
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for key in merged.keys.sorted() {
            // One event, one line: a newline in a value would split it (journald: into two entries).
            line += " \(key)=\(Self.quoted(merged[key]!.description.replacingOccurrences(of: "\n", with: " ")))"
        }
        return line + "\n"
    }

    /// syslog(3) priorities, which journald understands.
    public static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func quoted(_ value: String) -> String {
        value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || value.isEmpty
            ? "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : value
    }

    /// RFC 3339 in the local time with its offset (`2026-12-02T14:05:09.123+01:00`), so a line
    /// read next to `date` or a device's clock needs no guessing which zone it is in.
    public static func timestamp(_ date: Date = Date(), timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        let offset = timeZone.secondsFromGMT(for: date) / 60
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = (parts.nanosecond ?? 0) / 1_000_000
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        let year = String(parts.year ?? 0)
        return "\(String(repeating: "0", count: max(0, 4 - year.count)))\(year)-\(two(parts.month ?? 0))-\(two(parts.day ?? 0))"
            + "T\(two(parts.hour ?? 0)):\(two(parts.minute ?? 0)):\(two(parts.second ?? 0)).\(fraction)"
            + "\(offset < 0 ? "-" : "+")\(two(abs(offset) / 60)):\(two(abs(offset) % 60))"
    }

    /// True when systemd connected stderr to the journal (`JOURNAL_STREAM` names stderr's device and inode).
    public static func stderrIsJournal() -> Bool {
        guard let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
