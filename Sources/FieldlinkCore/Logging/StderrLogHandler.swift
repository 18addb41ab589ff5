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
        StandardError.write(format(event))
    }

    /// The line that `log` writes, newline included.
    public func format(_ event: LogEvent) -> String {
        var line = ""
        if journalPrefix {
            line = "<\(Self.syslogPriority(event.level))>"
        } else {
            line = "\(Self.timestamp()) \(event.level.rawValue.uppercased()) "
        }
        line += event.message.description.replacingLiterally("\n", with: " ")
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for key in merged.keys.sorted() {
            // One event, one line: a newline in a value would split it (journald: into two entries).
            line += " \(key)=\(Self.quoted(merged[key]!.description.replacingLiterally("\n", with: " ")))"
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
            ? "\"" + value.replacingLiterally("\"", with: "\\\"") + "\"" : value
    }

    /// RFC 3339 in the local time with its offset (`2026-12-02T14:05:09.123+01:00`), so a line
    /// read next to `date` or a device's clock needs no guessing which zone it is in. The local
    /// zone is the C library's (`TZ`, /etc/localtime); `timeZone` overrides it.
    public static func timestamp(_ date: Date = Date(), timeZone: TimeZone? = nil) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1_000).rounded(.down))
        let seconds = milliseconds >= 0 ? milliseconds / 1_000 : (milliseconds - 999) / 1_000
        let offset = timeZone?.secondsFromGMT(for: date) ?? RFC3339.localOffset(unixSeconds: seconds)
        return RFC3339.format(unixMilliseconds: milliseconds, offsetSeconds: offset)
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
