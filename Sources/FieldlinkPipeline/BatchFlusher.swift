import Foundation
import ServiceLifecycle

/// Sends batches whose oldest reading has waited `max_delay`, and every batch at shutdown (after the
/// buses stopped, before the publisher drains).
public struct BatchFlusher: Service {
    let pipeline: TelemetryPipeline

    public init(pipeline: TelemetryPipeline) { self.pipeline = pipeline }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            pipeline.flushDue(now: Int64(Date().timeIntervalSince1970 * 1_000))
        }
        pipeline.flushAll()
    }
}
