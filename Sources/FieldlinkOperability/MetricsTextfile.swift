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
import ServiceLifecycle

/// Writes the metrics every `interval` for node_exporter's textfile collector: to a temporary file
/// beside the target (node_exporter reads only `*.prom`), then renamed over it, so a scrape never
/// sees half a file. Mode 0644 whatever the umask: node_exporter runs as another user.
public final class MetricsTextfileService: Service, Sendable {
    private let config: MetricsConfig
    private let document: @Sendable () -> StatusDocument
    private let logger: Logger

    public init(config: MetricsConfig, logger: Logger, document: @escaping @Sendable () -> StatusDocument) {
        self.config = config
        self.document = document
        self.logger = logger
    }

    public func run() async throws {
        var lastProblem: String?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let problem: String?
            do {
                try Self.write(PrometheusText.render(document()), to: config.textfile)
                problem = nil
            } catch {
                problem = "\(error)"
            }
            if problem != lastProblem {
                if let problem {
                    logger.warning("cannot write the metrics textfile \(config.textfile): \(problem); retrying every \(config.interval.configText)")
                } else if lastProblem != nil {
                    logger.notice("metrics textfile \(config.textfile) written again")
                }
                lastProblem = problem
            }
            try? await cancelWhenGracefulShutdown { [interval = config.interval] in try await Task.sleep(for: interval) }
        }
    }

    /// Temporary file and rename (open, write, rename: no fsync, to spare an SD card a write per
    /// interval; after a power cut node_exporter finds the previous file or none).
    public static func write(_ text: String, to path: String) throws(Errno) {
        let temporary = "\(path).\(getpid()).tmp"
        let fd = try valueOrErrno { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        var failure: Errno?
        do {
            try nothingOrErrno { fchmod(fd, 0o644) }
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { buffer in
                    Result { () throws(Errno) in try valueOrErrno { Glibc.write(fd, buffer.baseAddress, buffer.count) } }
                }
                offset += try written.get()
            }
        } catch {
            failure = error
        }
        close(fd)
        if failure == nil {
            do { try nothingOrErrno { rename(temporary, path) } } catch { failure = error }
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}
