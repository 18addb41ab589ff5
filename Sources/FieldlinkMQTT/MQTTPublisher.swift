import FieldlinkBuffer
import FieldlinkCore
import Foundation
import Logging
import ServiceLifecycle

/// Moves messages from the ring to the broker and removes each only once the broker has it.
///
/// One event loop owns all publisher state, so there are no locks: libmosquitto's callbacks, ring
/// wake-ups, reconnect timers and the shutdown request all arrive as events on one stream.
public final class MQTTPublisher: Service {
    private enum Event: Sendable {
        case ringHasWork
        case connection(generation: Int, MQTTConnectionEvent)
        case reconnectDue
        case shutdownRequested
        case drainDeadline
    }

    private let config: MQTTConfig
    private let ring: any MessageRing
    private let logger: Logger

    public init(config: MQTTConfig, ring: any MessageRing, logger: Logger) {
        self.config = config
        self.ring = ring
        var logger = logger
        logger[metadataKey: "broker"] = "\(config.url)"
        self.logger = logger
    }

    public func run() async {
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        let ringWatcher = Task { [ring] in
            for await _ in ring.wakeups { continuation.yield(.ringHasWork) }
        }
        defer { ringWatcher.cancel() }

        var loop = PublisherLoop(config: config, ring: ring, logger: logger) { event in continuation.yield(event) }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                loop.connect()
                for await event in events {
                    if loop.handle(event) == .finished { break }
                }
            } onCancel: {
                continuation.yield(.shutdownRequested)
            }
        } onGracefulShutdown: {
            continuation.yield(.shutdownRequested)
        }
        loop.finish()
    }

    /// The publisher's state machine; every method runs on the one event loop.
    private struct PublisherLoop {
        enum Outcome { case running, finished }

        let config: MQTTConfig
        let ring: any MessageRing
        let logger: Logger
        let send: @Sendable (Event) -> Void

        var generation = 0
        var client: MosquittoClient?
        var connected = false
        /// libmosquitto message id -> ring record id, for what the broker has not acknowledged yet.
        var inFlight: [Int32: UInt64] = [:]
        var failedAttempts = 0
        var connectionState = StateChangeFilter<String>()
        var shuttingDown = false
        /// A clean DISCONNECT has been asked for; waiting for the connection to report `.closed`.
        var closing = false
        /// The broker refused the last CONNECT; its `.closed` that follows is already explained.
        var refused = false

        init(config: MQTTConfig, ring: any MessageRing, logger: Logger, send: @escaping @Sendable (Event) -> Void) {
            self.config = config
            self.ring = ring
            self.logger = logger
            self.send = send
        }

        mutating func connect() {
            generation += 1
            let generation = self.generation
            let send = self.send
            do {
                let client = try MosquittoClient(options: config) { event in
                    send(.connection(generation: generation, event))
                }
                self.client = client
                let thread = Thread { client.run() }
                thread.name = "fieldlink-mqtt"
                thread.start()
            } catch {
                logger.error("cannot create MQTT client: \(error)")
                scheduleReconnect()
            }
        }

        mutating func handle(_ event: Event) -> Outcome {
            switch event {
            case .ringHasWork:
                pump()
            case .connection(let eventGeneration, let connectionEvent):
                guard eventGeneration == generation else { return .running }
                return handle(connectionEvent)
            case .reconnectDue:
                if !shuttingDown { connect() }
            case .shutdownRequested:
                guard !shuttingDown else { return .running }
                shuttingDown = true
                let depth = ring.statistics.depth
                guard connected else { return .finished }
                guard depth > 0 else { return beginClose() }
                logger.info("shutting down: waiting up to \(config.drainTimeout.configText) for the broker to acknowledge \(depth) message(s)")
                after(config.drainTimeout, send: .drainDeadline)
            case .drainDeadline:
                return closing ? .finished : beginClose()
            }
            return .running
        }

        private mutating func handle(_ event: MQTTConnectionEvent) -> Outcome {
            switch event {
            case .connected:
                connected = true
                ring.uplinkChanged(up: true)
                if connectionState.update("connected") != nil {
                    let after = failedAttempts > 0 ? " after \(failedAttempts) failed attempt(s)" : ""
                    logger.notice("connected to \(config.url) as \(config.clientID)\(after); \(ring.statistics.depth) message(s) queued")
                }
                failedAttempts = 0
                pump()
            case .refused(let reason):
                refused = true
                if connectionState.update("refused: \(reason)") != nil {
                    logger.error("broker refused the connection: \(reason) (check mqtt.username/password and the broker's ACLs); retrying")
                }
            case .published(let mid, let reasonCode):
                if let id = inFlight.removeValue(forKey: mid) {
                    if reasonCode >= 0x80 {
                        logger.error("broker refused a message (reason code \(reasonCode)); dropped", metadata: ["mqtt_reason": "\(reasonCode)"])
                    }
                    ring.acknowledge(id)
                }
                pump()
                if shuttingDown, !closing, ring.statistics.depth == 0 { return beginClose() }
            case .closed(let reason):
                let wasConnected = connected
                connected = false
                client = nil
                inFlight.removeAll()
                ring.uplinkChanged(up: false)
                ring.requeueInFlight()
                if shuttingDown { return .finished }
                failedAttempts += 1
                if wasConnected {
                    _ = connectionState.update("lost")
                    logger.warning("lost connection to the broker: \(reason); \(ring.statistics.depth) message(s) kept for resending")
                } else if refused {
                    refused = false
                } else if connectionState.update("failing: \(reason)") != nil {
                    logger.warning("cannot reach the broker: \(reason); retrying with backoff")
                }
                scheduleReconnect()
            }
            return .running
        }

        /// Sends DISCONNECT and waits (briefly) for the connection to end, so the broker sees a clean exit.
        private mutating func beginClose() -> Outcome {
            guard let client, connected else { return .finished }
            closing = true
            client.stop()
            after(.seconds(2), send: .drainDeadline)
            return .running
        }

        private func after(_ delay: Duration, send event: Event) {
            let send = self.send
            Task {
                try? await Task.sleep(for: delay)
                send(event)
            }
        }

        /// Hands the broker as much as the in-flight window allows.
        private mutating func pump() {
            guard connected, !closing, let client else { return }
            let room = config.maxInflight - inFlight.count
            guard room > 0 else { return }
            for record in ring.checkout(limit: room) {
                let message = record.message
                do {
                    let mid = try client.publish(topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain)
                    inFlight[mid] = record.id
                } catch where error.isPermanentForMessage {
                    logger.error("cannot publish: \(error); message dropped", metadata: ["topic": "\(message.topic)"])
                    ring.acknowledge(record.id)
                } catch {
                    // The connection is going away; `.closed` requeues everything in flight.
                    return
                }
            }
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

        /// Disconnects cleanly and says what could not be delivered.
        mutating func finish() {
            client?.stop()
            client = nil
            let statistics = ring.statistics
            if statistics.depth > 0 {
                logger.notice("stopped with \(statistics.depth) message(s) not yet acknowledged by the broker; they stay in the ring")
            }
        }
    }
}
