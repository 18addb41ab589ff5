import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Logs through journald's native protocol, so every metadata key is a field of its own:
/// `journalctl DEVICE=meter1 -p warning` then shows exactly one device's problems.
///
/// Each entry has `MESSAGE`, `PRIORITY` (syslog), `SYSLOG_IDENTIFIER=fieldlink`, `CODE_FILE`,
/// `CODE_LINE`, `CODE_FUNC`, and the logger's metadata with keys upper-cased (`device` -> `DEVICE`,
/// `modbus_exception` -> `MODBUS_EXCEPTION`). When journald does not take an entry (no socket), the
/// entry goes to stderr instead, so nothing is lost silently. Wraps `sd_journal_sendv`.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String
    public let identifier: String
    private let fallback: StderrLogHandler

    public init(label: String, level: Logger.Level, identifier: String = "fieldlink") {
        self.label = label
        self.logLevel = level
        self.identifier = identifier
        self.fallback = StderrLogHandler(label: label, level: level, journalPrefix: false)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        do {
            try Systemd.journalSend(fields(for: event).map { Array("\($0.name)=\($0.value)".utf8) })
        } catch {
            var fallback = self.fallback
            fallback.metadata = metadata
            fallback.log(event: event)
        }
    }

    /// The entry `log` sends, in order: fixed fields first, then metadata sorted by key.
    public func fields(for event: LogEvent) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = [
            ("MESSAGE", event.message.description),
            ("PRIORITY", "\(StderrLogHandler.syslogPriority(event.level))"),
            ("SYSLOG_IDENTIFIER", identifier),
            ("CODE_FILE", event.file),
            ("CODE_LINE", "\(event.line)"),
            ("CODE_FUNC", event.function),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for key in merged.keys.sorted() {
            fields.append((Self.fieldName(key), merged[key]!.description))
        }
        return fields
    }

    /// Fields journald sets itself or that this handler sends; a metadata key that maps onto one
    /// is prefixed with `META_` rather than silently turning into a second `MESSAGE` or `PRIORITY`.
    static let reserved: Set<String> = ["MESSAGE", "MESSAGE_ID", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY",
                                        "SYSLOG_PID", "CODE_FILE", "CODE_LINE", "CODE_FUNC"]

    /// A metadata key as a journal field name: journald accepts only `A-Z`, `0-9` and `_`, not a
    /// leading `_` (trusted fields) or digit, and at most 64 characters; anything else is mapped.
    public static func fieldName(_ key: String) -> String {
        var name = String(key.uppercased().unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "0"..."9", "_": Character(scalar)
            default: "_"
            }
        })
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty || name.first!.isNumber || reserved.contains(name) { name = "META_" + name }
        return String(name.prefix(64))
    }
}
