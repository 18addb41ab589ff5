#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ServiceLifecycle

/// Sends batches whose oldest reading has waited `max_delay`, and every batch at shutdown (after the
/// buses stopped, before the publisher drains).
///
/// Looks for due batches every `interval` only while some batch holds readings; otherwise it waits
/// for the pipeline to say a batch started, so a gateway without batching (or between batches) costs
/// no wake-up at all.
public struct BatchFlusher: Service {
    let pipeline: TelemetryPipeline
    let interval: Duration
    let now: @Sendable () -> Int64

    /// `interval`: how often due batches are looked for; `now`: the clock batches are aged by, in ms.
    /// It must be the readings' batching clock: the monotonic clock of their time stamps (the daemon
    /// passes its ClockWatch's), or Unix ms for readings stamped only with wall time (the default).
    public init(pipeline: TelemetryPipeline, interval: Duration = .milliseconds(250),
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000) }) {
        self.pipeline = pipeline
        self.interval = interval
        self.now = now
    }

    public func run() async throws {
        var starts = pipeline.batchStarts.makeAsyncIterator()
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                if pipeline.hasBatchesInTheMaking {
                    try? await Task.sleep(for: interval)
                    pipeline.flushDue(now: now())
                } else if await starts.next() == nil {
                    break  // cancelled
                }
            }
        } onGracefulShutdown: {
            pipeline.wakeFlusher()
        }
        pipeline.flushAll()
    }
}
