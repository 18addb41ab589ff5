import Logging
import Synchronization

/// Collects what a logger was told, for tests that count log lines.
public final class LogLines: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        lines.withLock { $0.append("\(message)") }
    }
    public var all: [String] { lines.withLock { $0 } }
    public var count: Int { all.count }
}
