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

/// Keeps a connection to the broker up and lets it carry the ring's messages; removes a message
/// from the ring only once the broker has it.
///
/// The hot path (publish, acknowledge) runs on the connection's own thread (`MQTTConnection`).
/// This service handles what is rare: connecting, reconnecting with backoff and jitter, logging
/// state changes once, and the graceful shutdown that drains the ring before disconnecting.
public final class MQTTPublisher: Service {
    enum Event: Sendable {
        case connection(generation: Int, ConnectionEvent)
        case reconnectDue
        case shutdownRequested
        case deadline
        case reconfigure(MQTTConfig)
        /// The command topics changed (a reload): subscribe them on a new connection.
        case resubscribe
        /// A more preferred broker answered (or not) an MQTT CONNECT.
        case probed(broker: Int, reachable: Bool)
        case probeDue
    }

    private let config: MQTTConfig
    private let ring: any MessageRing
    private let session: (any MQTTSession)?
    private let commands: CommandDesk?
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    /// `session`: what the gateway says about itself on every connection (Sparkplug B's births and
    /// deaths); nil is the retained status topic of the current config.
    /// `commands`: write-back command topics, subscribed on every connection beside the session's.
    public init(config: MQTTConfig, ring: any MessageRing, session: (any MQTTSession)? = nil, commands: CommandDesk? = nil, logger: Logger) {
        self.config = config
        self.ring = ring
        self.session = session
        self.commands = commands
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    /// New broker settings (a reload): the current connection closes cleanly and the next one uses
    /// them at once. Nothing queued is lost: the ring holds it.
    /// The write-back command topics changed (a reload made points writable or not): the current
    /// connection closes cleanly and the next one, at once, subscribes the new set.
    public func resubscribe() {
        continuation.yield(.resubscribe)
    }

    public func reconfigure(_ config: MQTTConfig) {
        continuation.yield(.reconfigure(config))
    }

    public func run() async throws {
        if config.brokers.contains(where: { $0.tls?.insecure == true }) {
            logger.warning("mqtt.tls.insecure is set: the broker's host name is NOT checked, so anyone holding a certificate from the same CA can impersonate it")
        }
        let control = try ConnectionControl()
        ring.setConsumerWakeup { control.wake() }
        let continuation = self.continuation
        var state = Supervisor(config: config, ring: ring, session: session, commands: commands, control: control, logger: logger) { continuation.yield($0) }
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
    struct Supervisor {
        enum Outcome { case running, finished }

        var config: MQTTConfig
        let ring: any MessageRing
        let session: (any MQTTSession)?
        let commands: CommandDesk?
        let control: ConnectionControl
        var logger: Logger
        let send: @Sendable (Event) -> Void
        /// A reload changed the broker settings: reconnect as soon as the old connection is closed.
        var reconnectAtOnce = false

        var generation = 0
        var connectionRunning = false
        var connected = false
        var failedAttempts = 0
        /// Drives the backoff; reset only by a connection that stayed up `MQTTConfig.stableConnection`,
        /// so a broker that closes each connection right after its CONNACK is not hammered.
        var backoffAttempts = 0
        var connectedAt: ContinuousClock.Instant?
        var connectionState = StateChangeFilter<String>()
        /// The broker refused the last CONNECT; the `.closed` that follows is already explained.
        var refused = false
        var shuttingDown = false
        /// Index into `config.brokers` of the broker in use.
        var current = 0
        /// When the current broker became unreachable (lost, or never reached); nil while connected.
        var unreachableSince: ContinuousClock.Instant?
        /// Since when each more preferred broker has answered every probe; nil after a failed one.
        var reachableSince: [Int: ContinuousClock.Instant] = [:]
        /// Switching back to this (more preferred) broker once the current connection has closed.
        var failingBackTo: Int?
        var probing = false
        /// `version: auto`: the version each broker agreed to, and the one this attempt speaks.
        var agreedVersion: [Int: MQTTVersion] = [:]
        var attemptVersion = MQTTVersion.v5
        /// Brokers that broke QoS 2: QoS 2 messages go to them at QoS 1.
        var qosCap: [Int: Int] = [:]
        /// Brokers refused for QoS 2 (`qos2_unsupported: refuse`), so the error is logged once each.
        var qos2Refused: Set<Int> = []
        /// Failovers since the last connection. In the first round through the brokers a switch is
        /// immediate and retries never pass the failover deadline; once every broker has failed in
        /// this outage the exponential backoff applies again, so a fleet whose brokers are all down
        /// does not hammer them.
        var failoversSinceConnected = 0
        var firstRound: Bool { failoversSinceConnected < config.brokers.count }

        var endpoint: BrokerEndpoint { config.brokers[current] }

        init(config: MQTTConfig, ring: any MessageRing, session: (any MQTTSession)?, commands: CommandDesk?, control: ConnectionControl,
             logger: Logger, send: @escaping @Sendable (Event) -> Void) {
            self.config = config
            self.ring = ring
            self.session = session
            self.commands = commands
            self.control = control
            self.logger = logger
            self.send = send
            self.logger[metadataKey: "broker"] = "\(config.url)"
        }

        mutating func connect() {
            generation += 1
            let generation = self.generation, send = self.send
            connectionRunning = true
            logger[metadataKey: "broker"] = "\(endpoint.url)"
            let base = self.session ?? StatusSession(topic: config.statusTopic)
            let session: any MQTTSession = commands.map { CommandSession(base: base, desk: $0) } ?? base
            attemptVersion = config.version != .auto ? config.version : agreedVersion[current] ?? attemptVersion
            MQTTConnection.start(config: config, endpoint: endpoint, version: attemptVersion, maxQoS: qosCap[current] ?? 2, ring: ring,
                                 session: session, control: control, logger: logger) { event in
                send(.connection(generation: generation, event))
            }
        }

        /// The next broker in order, after the current one failed for `failover_after` (or refused us).
        private mutating func failOver(because reason: String) {
            guard config.brokers.count > 1 else { return }
            let from = endpoint.url
            current = (current + 1) % config.brokers.count
            unreachableSince = nil
            failedAttempts = 0
            failoversSinceConnected += 1
            if firstRound { backoffAttempts = 0 }
            connectionState = StateChangeFilter()
            logger.warning("failing over from \(from) (\(reason)) to \(endpoint.url), broker \(current + 1) of \(config.brokers.count)")
        }

        /// While on a less preferred broker, probe the better ones so the gateway can return. A probe
        /// counts only when the broker accepts an MQTT CONNECT: a stopped broker's listening socket,
        /// or a TCP load balancer with no backend, accepts TCP and would be a dead end.
        private mutating func startProbing() {
            guard !probing, current > 0, config.failbackAfter != nil else { return }
            probing = true
            after(.zero, send: .probeDue)
        }

        private func probe() {
            let send = self.send, config = self.config
            for index in 0..<current where !qos2Refused.contains(index) {
                let broker = config.brokers[index]
                PosixThread.start(name: "fl-probe") {
                    send(.probed(broker: index, reachable: MQTTProbe.accepts(config: config, endpoint: broker, timeout: .seconds(2))))
                }
            }
        }

        mutating func handle(_ event: Event) -> Outcome {
            switch event {
            case .connection(let eventGeneration, let connectionEvent):
                guard eventGeneration == generation else { return .running }
                return handle(connectionEvent)
            case .reconnectDue:
                if !shuttingDown, !connectionRunning { connect() }
            case .resubscribe:
                guard !shuttingDown, connectionRunning else { return .running }
                logger.notice("command topics changed; reconnecting to subscribe them")
                reconnectAtOnce = true
                control.stop()
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
            case .probeDue:
                guard connected, current > 0, failingBackTo == nil, !shuttingDown, let failbackAfter = config.failbackAfter else {
                    probing = false
                    reachableSince.removeAll()
                    return .running
                }
                probe()
                after(min(.seconds(2), failbackAfter / 4), send: .probeDue)
            case .probed(let index, let reachable):
                guard connected, index < current, failingBackTo == nil, let failbackAfter = config.failbackAfter else { return .running }
                let now = ContinuousClock.now
                guard reachable else {
                    reachableSince[index] = nil  // a flapping broker starts over
                    return .running
                }
                let since = reachableSince[index] ?? now
                reachableSince[index] = since
                if now - since >= failbackAfter {
                    logger.notice("failing back to \(config.brokers[index].url): reachable for \(failbackAfter.configText)")
                    failingBackTo = index
                    reachableSince.removeAll()
                    control.stop()  // a clean disconnect (offline on this broker), then `.closed` switches
                }
            case .reconfigure(let newConfig):
                guard newConfig != config, !shuttingDown else { return .running }
                logger.notice("broker settings changed; reconnecting to \(newConfig.url)")
                config = newConfig
                current = 0
                unreachableSince = nil
                logger[metadataKey: "broker"] = "\(config.url)"
                failedAttempts = 0
                backoffAttempts = 0
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
                if config.version == .auto { agreedVersion[current] = attemptVersion }
                connected = true
                connectedAt = .now
                failoversSinceConnected = 0
                unreachableSince = nil
                if connectionState.update("connected") != nil {
                    let after = failedAttempts > 0 ? " after \(failedAttempts) failed attempt(s)" : ""
                    let which = config.brokers.count > 1 ? ", broker \(current + 1) of \(config.brokers.count)" : ""
                    logger.notice("connected to \(endpoint.url) as \(config.clientID) with MQTT \(attemptVersion.rawValue)\(which)\(after); \(ring.statistics.depth) message(s) queued")
                }
                failedAttempts = 0
                startProbing()
            case .refused(let reason):
                refused = true
                if connectionState.update("refused: \(reason)") != nil {
                    logger.error("broker refused the connection: \(reason) (check mqtt.username/password and the broker's ACLs); retrying")
                }
            case .closed(let reason, let wasConnected, let silentFor, let failure):
                let now = ContinuousClock.now
                if let since = connectedAt, now - since >= MQTTConfig.stableConnection { backoffAttempts = 0 }
                connectedAt = nil
                connected = false
                connectionRunning = false
                if shuttingDown { return .finished }
                if let target = failingBackTo {
                    failingBackTo = nil
                    current = target
                    unreachableSince = nil
                    failedAttempts = 0
                    backoffAttempts = 0
                    connectionState = StateChangeFilter()
                    connect()
                    return .running
                }
                if reconnectAtOnce {
                    reconnectAtOnce = false
                    connect()
                    return .running
                }
                if case .brokenQoS2(let topics) = failure, config.qos2Unsupported == .refuse {
                    refuseQoS2Breaker(topics: topics, reason: reason)
                    return .running
                }
                if case .brokenQoS2(let topics) = failure, qosCap[current] == nil {
                    qosCap[current] = 1
                    logger.error("\(endpoint.url) does not support QoS 2: it answered a QoS 2 message with PUBACK; \(topics.joined(separator: ", ")) (qos: 2) now go at QoS 1 to this broker")
                    logger.warning("QoS 2 downgraded to QoS 1 on \(endpoint.url): a message may arrive twice; receivers drop duplicates by seq")
                    connect()
                    return .running
                }
                failedAttempts += 1
                backoffAttempts += 1
                let triedVersion = attemptVersion
                if config.version == .auto, failure == .noMQTTAnswer, agreedVersion[current] == nil {
                    attemptVersion = triedVersion == .v5 ? .v311 : .v5
                }
                // Unreachable since it was last heard from: a silent broker's silence counts, not only
                // the time since it was noticed.
                if unreachableSince == nil { unreachableSince = now - silentFor }
                if wasConnected {
                    _ = connectionState.update("lost")
                    logger.warning("lost connection to the broker: \(reason); \(ring.statistics.depth) message(s) kept for resending")
                } else if refused {
                    refused = false
                    if config.brokers.count > 1 {
                        failOver(because: "login refused")
                        if firstRound { connect() } else { scheduleReconnect() }
                        return .running
                    }
                    // Wrong credentials do not fix themselves in a second: retry slowly, not hammered.
                    after(config.reconnectDelayMax * Double.random(in: 0.5...1.0), send: .reconnectDue)
                    return .running
                } else if connectionState.update("failing: \(reason)") != nil {
                    logger.warning("cannot reach the broker: \(reason); retrying with backoff")
                }
                if config.brokers.count > 1, let since = unreachableSince, now - since >= config.failoverAfter {
                    failOver(because: "unreachable for \(config.failoverAfter.configText)")
                    attemptVersion = .v5
                    // The next broker at once: the backoff was for the one left behind.
                    if firstRound { connect() } else { scheduleReconnect() }
                    return .running
                }
                if triedVersion == .v5, attemptVersion == .v311 {
                    logger.notice("\(endpoint.url) did not answer an MQTT 5 CONNECT; trying MQTT 3.1.1 (mqtt.version: auto)")
                    connect()
                    return .running
                }
                scheduleReconnect()
            }
            return .running
        }

        /// `qos2_unsupported: refuse`: a broker that cannot carry QoS 2 is not used again by this
        /// process (trying it again would hand a broker that answers PUBACK another window of QoS 2
        /// messages to deliver at QoS 1). One error; the next broker is tried, or, with none, every
        /// message waits in the ring until the gateway restarts with another broker or setting.
        private mutating func refuseQoS2Breaker(topics: [String], reason: String) {
            if qos2Refused.insert(current).inserted {
                let next = config.brokers.count > 1 ? "the next broker is tried" : "messages wait in the buffer until the gateway restarts"
                logger.error("\(endpoint.url) cannot carry QoS 2 (\(reason)); \(topics.joined(separator: ", ")) (qos: 2): mqtt.qos2_unsupported is refuse, so this broker is not used: \(next)")
            }
            failedAttempts += 1
            guard config.brokers.count > qos2Refused.count else {
                _ = connectionState.update("refused for QoS 2")
                return
            }
            repeat { failOver(because: "it cannot carry QoS 2") } while qos2Refused.contains(current)
            if firstRound { connect() } else { scheduleReconnect() }
        }

        /// Exponential backoff with jitter, so a fleet that lost its broker does not return in lockstep;
        /// with several brokers, never past the moment failover is due, so it is decided on time.
        private func scheduleReconnect() {
            let base = config.reconnectDelay.seconds
            let cap = config.reconnectDelayMax.seconds
            let exponent = min(backoffAttempts, 20)
            var delay = min(cap, base * pow(2, Double(max(0, exponent - 1)))) * Double.random(in: 0.5...1.0)
            if config.brokers.count > 1, firstRound, let since = unreachableSince {
                delay = min(delay, max(0, (config.failoverAfter - (ContinuousClock.now - since)).seconds))
            }
            logger.debug("reconnecting in \(delay.fixed(2))s")
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
