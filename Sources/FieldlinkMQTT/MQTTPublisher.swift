import FieldlinkBuffer
import FieldlinkCore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps a connection to the broker up and lets it carry the ring's messages; removes a message
/// from the ring only once the broker has it.
///
/// The hot path (publish, acknowledge) runs on the connection's own thread (`MQTTConnection`).
/// This service handles what is rare: connecting, reconnecting with backoff and jitter, logging
/// state changes once, and the graceful shutdown that drains the ring before disconnecting.
public final class MQTTPublisher: Service {
    private enum Event: Sendable {
        case connection(generation: Int, ConnectionEvent)
        case reconnectDue
        case shutdownRequested
        case deadline
        case reconfigure(MQTTConfig)
    }

    private let config: MQTTConfig
    private let ring: any MessageRing
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    public init(config: MQTTConfig, ring: any MessageRing, logger: Logger) {
        self.config = config
        self.ring = ring
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    /// New broker settings (a reload): the current connection closes cleanly and the next one uses
    /// them at once. Nothing queued is lost: the ring holds it.
    public func reconfigure(_ config: MQTTConfig) {
        continuation.yield(.reconfigure(config))
    }

    public func run() async throws {
        if config.tls?.insecure == true {
            logger.warning("mqtt.tls.insecure is set: the broker's host name is NOT checked, so anyone holding a certificate from the same CA can impersonate it")
        }
        let control = try ConnectionControl()
        ring.setConsumerWakeup { control.wake() }
        let continuation = self.continuation
        var state = Supervisor(config: config, ring: ring, control: control, logger: logger) { continuation.yield($0) }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                state.connect()
                for await event in events {
                    if state.handle(event) == .finished { break }
                }
            } onCancel: {
                continuation.yield(.shutdownRequested)
            }
        } onGracefulShutdown: {
            continuation.yield(.shutdownRequested)
        }
        let depth = ring.statistics.depth
        if depth > 0 {
            logger.notice("stopped with \(depth) message(s) not yet acknowledged by the broker; they stay in the ring")
        }
    }

    /// The connection's life as a state machine; every method runs on the service's one task.
    private struct Supervisor {
        enum Outcome { case running, finished }

        var config: MQTTConfig
        let ring: any MessageRing
        let control: ConnectionControl
        var logger: Logger
        let send: @Sendable (Event) -> Void
        /// A reload changed the broker settings: reconnect as soon as the old connection is closed.
        var reconnectAtOnce = false

        var generation = 0
        var connectionRunning = false
        var connected = false
        var failedAttempts = 0
        var connectionState = StateChangeFilter<String>()
        /// The broker refused the last CONNECT; the `.closed` that follows is already explained.
        var refused = false
        var shuttingDown = false

        init(config: MQTTConfig, ring: any MessageRing, control: ConnectionControl, logger: Logger,
             send: @escaping @Sendable (Event) -> Void) {
            self.config = config
            self.ring = ring
            self.control = control
            self.logger = logger
            self.send = send
            self.logger[metadataKey: "broker"] = "\(config.url)"
        }

        mutating func connect() {
            generation += 1
            let generation = self.generation, send = self.send
            connectionRunning = true
            MQTTConnection.start(config: config, ring: ring, control: control, logger: logger) { event in
                send(.connection(generation: generation, event))
            }
        }

        mutating func handle(_ event: Event) -> Outcome {
            switch event {
            case .connection(let eventGeneration, let connectionEvent):
                guard eventGeneration == generation else { return .running }
                return handle(connectionEvent)
            case .reconnectDue:
                if !shuttingDown, !connectionRunning { connect() }
            case .shutdownRequested:
                guard !shuttingDown else { return .running }
                shuttingDown = true
                // Still connecting (a blocking connect may take a while): nothing to drain, don't wait.
                guard connected else {
                    control.stop()
                    return .finished
                }
                let depth = ring.statistics.depth
                if depth > 0 {
                    logger.info("shutting down: up to \(config.drainTimeout.configText) for the broker to acknowledge \(depth) message(s)")
                }
                control.drain(within: config.drainTimeout)
                after(config.drainTimeout + .seconds(2), send: .deadline)
            case .deadline:
                logger.warning("the connection did not close in time; stopping anyway")
                return .finished
            case .reconfigure(let newConfig):
                guard newConfig != config, !shuttingDown else { return .running }
                logger.notice("broker settings changed; reconnecting to \(newConfig.url)")
                config = newConfig
                logger[metadataKey: "broker"] = "\(config.url)"
                failedAttempts = 0
                connectionState = StateChangeFilter()
                if connectionRunning {
                    reconnectAtOnce = true
                    control.stop()
                } else {
                    connect()
                }
            }
            return .running
        }

        private mutating func handle(_ event: ConnectionEvent) -> Outcome {
            switch event {
            case .connected:
                connected = true
                if connectionState.update("connected") != nil {
                    let after = failedAttempts > 0 ? " after \(failedAttempts) failed attempt(s)" : ""
                    logger.notice("connected to \(config.url) as \(config.clientID)\(after); \(ring.statistics.depth) message(s) queued")
                }
                failedAttempts = 0
            case .refused(let reason):
                refused = true
                if connectionState.update("refused: \(reason)") != nil {
                    logger.error("broker refused the connection: \(reason) (check mqtt.username/password and the broker's ACLs); retrying")
                }
            case .closed(let reason, let wasConnected):
                connected = false
                connectionRunning = false
                if shuttingDown { return .finished }
                if reconnectAtOnce {
                    reconnectAtOnce = false
                    connect()
                    return .running
                }
                failedAttempts += 1
                if wasConnected {
                    _ = connectionState.update("lost")
                    logger.warning("lost connection to the broker: \(reason); \(ring.statistics.depth) message(s) kept for resending")
                } else if refused {
                    // Wrong credentials do not fix themselves in a second: retry slowly, not hammered.
                    refused = false
                    after(config.reconnectDelayMax * Double.random(in: 0.5...1.0), send: .reconnectDue)
                    return .running
                } else if connectionState.update("failing: \(reason)") != nil {
                    logger.warning("cannot reach the broker: \(reason); retrying with backoff")
                }
                scheduleReconnect()
            }
            return .running
        }

        /// Exponential backoff with jitter, so a fleet that lost its broker does not return in lockstep.
        private func scheduleReconnect() {
            let base = config.reconnectDelay.seconds
            let cap = config.reconnectDelayMax.seconds
            let exponent = min(failedAttempts, 20)
            let delay = min(cap, base * pow(2, Double(max(0, exponent - 1)))) * Double.random(in: 0.5...1.0)
            logger.debug("reconnecting in \(String(format: "%.2f", delay))s")
            after(.milliseconds(Int64(delay * 1_000)), send: .reconnectDue)
        }

        private func after(_ delay: Duration, send event: Event) {
            let send = self.send
            Task {
                try? await Task.sleep(for: delay)
                send(event)
            }
        }
    }
}
