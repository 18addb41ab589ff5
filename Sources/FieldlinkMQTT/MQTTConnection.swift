import CMosquitto
import FieldlinkCore
import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide libmosquitto setup: `mosquitto_lib_init` exactly once.
enum MosquittoLibrary {
    static let initialized: Bool = {
        mosquitto_lib_init()
        return true
    }()
}

/// One connection to the broker, from CONNECT to close, on a thread of its own: the single owner of
/// a `struct mosquitto *`.
///
/// The thread polls the broker's socket and the ring's wake-up eventfd, and does the hot path itself:
/// it checks records out of the ring, publishes them, and acknowledges them in the ring when the
/// broker's PUBACK/PUBCOMP arrives — no hop through another thread per message. A fresh client per
/// connection keeps libmosquitto's own session state out of the picture: the ring is the only record
/// of what is unacknowledged, so nothing is resent twice by two layers. Each method names the
/// libmosquitto call it wraps.
final class MQTTConnection {
    let config: MQTTConfig
    let endpoint: BrokerEndpoint
    /// Brokers (and the Receive Maximum they gave) whose NOTICE this process logged: a fresh
    /// connection each time must not repeat it into the journal at every reconnect.
    static let receiveMaximumNoticed = Mutex<Set<String>>([])
    /// The same for a Maximum QoS below 2 in a broker's CONNACK.
    static let maximumQoSNoticed = Mutex<Set<String>>([])
    private let ring: any MessageRing
    let session: any MQTTSession
    private let control: ConnectionControl
    let logger: Logger
    private let emit: @Sendable (ConnectionEvent) -> Void
    private var mosq: OpaquePointer?
    /// libmosquitto message id -> ring record id and when it was handed to libmosquitto, for what the
    /// broker has not acknowledged yet.
    var inFlight: [Int32: (id: UInt64, sentAt: Int64, qos: Int, topic: String)] = [:]
    /// The protocol this attempt speaks (never `.auto`), and the highest QoS it may use: 2, or less
    /// after the broker broke QoS 2 or its CONNACK says so (MQTT 5 Maximum QoS).
    let version: MQTTVersion
    var maxQoS: Int
    /// Why the attempt failed in a way the publisher answers with more than a retry.
    var failure: ConnectionFailure?
    /// Set when a message needs a QoS the broker does not offer and `qos2_unsupported` is `refuse`.
    private var refusal: String?
    /// Liveness, on `ConnectionControl.uptime()`'s clock: when the attempt began, when the broker's
    /// socket last had bytes for us, and when the next check of both is due.
    let openedAt = ConnectionControl.uptime()
    var lastHeard: Int64 = 0
    var nextLivenessCheck: Int64 = 0
    /// Set while `mosquitto_publish_v5` runs. With an external loop libmosquitto writes a PUBLISH at
    /// once, and for QoS 0 calls the publish callback from inside that call, before the caller has
    /// the message id: such completions are held here and settled when the call returns.
    private var publishing = false
    private var completedDuringPublish: [Int32] = []
    /// What the broker's CONNACK allows, and the aliases given out on this connection.
    var topicAliasMaximum = 0
    var topicAliases: [String: UInt16] = [:]
    var connected = false
    /// A CONNACK came, accepting or not: a close after it is not a broker that ignored our CONNECT.
    var connackReceived = false
    private var needsPump = false
    /// libmosquitto's last error-level log line (OpenSSL's reason for a failed handshake, say).
    private var lastLibraryError: String?
    /// MQTT 5 PUBLISH properties per content type, built once per connection and reused.
    var publishProperties: [String: OpaquePointer] = [:]

    /// Starts a connection on a new thread; everything after this happens there.
    static func start(config: MQTTConfig, endpoint: BrokerEndpoint, version: MQTTVersion, maxQoS: Int, ring: any MessageRing,
                      session: any MQTTSession, control: ConnectionControl, logger: Logger,
                      emit: @escaping @Sendable (ConnectionEvent) -> Void) {
        _ = MosquittoLibrary.initialized
        control.reset()
        PosixThread.start(name: "fl-mqtt") {
            MQTTConnection(config: config, endpoint: endpoint, version: version, maxQoS: maxQoS, ring: ring, session: session,
                           control: control, logger: logger, emit: emit).run()
        }
    }

    private init(config: MQTTConfig, endpoint: BrokerEndpoint, version: MQTTVersion, maxQoS: Int, ring: any MessageRing,
                 session: any MQTTSession, control: ConnectionControl, logger: Logger, emit: @escaping @Sendable (ConnectionEvent) -> Void) {
        self.config = config
        self.endpoint = endpoint
        self.version = version
        self.maxQoS = maxQoS
        self.ring = ring
        self.session = session
        self.control = control
        self.logger = logger
        self.emit = emit
    }

    private func run() {
        let reason: String
        do {
            try open()
            // Watchdog: this thread beats on every turn of its poll loop (at most a second apart).
            let heartbeat = HealthBoard.shared.register("fl-mqtt")
            defer { HealthBoard.shared.unregister(heartbeat) }
            reason = loop(heartbeat)
        } catch {
            reason = error.description
        }
        if let mosq { mosquitto_destroy(mosq) }
        mosq = nil
        for var properties in publishProperties.values.map(Optional.some) { mosquitto_property_free_all(&properties) }
        publishProperties.removeAll()
        if connected {
            ring.uplinkChanged(up: false)
            HealthBoard.shared.setBroker(nil)
        }
        // What the dead broker had not acknowledged goes back to the ring, to be resent to the next one.
        ring.requeueInFlight()
        let now = ConnectionControl.uptime()
        let silentFor = Duration.nanoseconds(now - (connected ? lastHeard : openedAt))
        emit(.closed(reason: reason, wasConnected: connected, silentFor: silentFor, failure: failure))
    }

    /// `mosquitto_new`, options, callbacks, then a blocking `mosquitto_connect_bind_v5`.
    private func open() throws(MQTTError) {
        guard let mosq = mosquitto_new(config.clientID, true, Unmanaged.passUnretained(self).toOpaque()) else {
            throw MQTTError(returnCode: MOSQ_ERR_ERRNO.rawValue, operation: "mosquitto_new")
        }
        self.mosq = mosq
        let protocolVersion = version == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, Int32(protocolVersion))
        mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, Int32(config.maxInflight))
        mosquitto_max_inflight_messages_set(mosq, UInt32(config.maxInflight))
        mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1)
        if let username = endpoint.username {
            let rc = mosquitto_username_pw_set(mosq, username, endpoint.password?.value)
            guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(returnCode: rc, operation: "set credentials") }
        }
        if let tls = endpoint.tls { try Self.configureTLS(tls, on: mosq) }
        try setWill(on: mosq)
        mosquitto_log_callback_set(mosq) { _, context, level, text in
            guard level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0, let text else { return }
            Unmanaged<MQTTConnection>.fromOpaque(context!).takeUnretainedValue().lastLibraryError = String(cString: text)
        }
        mosquitto_connect_v5_callback_set(mosq) { _, context, rc, _, properties in
            var maximum: UInt16 = 0
            _ = mosquitto_property_read_int16(properties, Int32(MQTT_PROP_TOPIC_ALIAS_MAXIMUM.rawValue), &maximum, false)
            let connection = Unmanaged<MQTTConnection>.fromOpaque(context!).takeUnretainedValue()
            connection.topicAliasMaximum = Int(maximum)
            var maximumQoS: UInt8 = 2
            if mosquitto_property_read_byte(properties, Int32(MQTT_PROP_MAXIMUM_QOS.rawValue), &maximumQoS, false) != nil,
               Int(maximumQoS) < connection.maxQoS {
                connection.maxQoS = Int(maximumQoS)
                if connection.config.qos2Unsupported == .downgrade,
                   MQTTConnection.maximumQoSNoticed.withLock({ $0.insert("\(connection.endpoint.url) \(maximumQoS)").inserted }) {
                    connection.logger.warning("\(connection.endpoint.url) accepts QoS \(maximumQoS) at most (Maximum QoS in its CONNACK): messages configured for more go to it at QoS \(maximumQoS); a message may arrive twice, receivers drop duplicates by seq (mqtt.qos2_unsupported: refuse keeps QoS 2 whole)")
                }
            }
            var receiveMaximum: UInt16 = 0
            if mosquitto_property_read_int16(properties, Int32(MQTT_PROP_RECEIVE_MAXIMUM.rawValue), &receiveMaximum, false) != nil,
               Int(receiveMaximum) < connection.config.maxInflight,
               MQTTConnection.receiveMaximumNoticed.withLock({ $0.insert("\(connection.endpoint.url) \(receiveMaximum)").inserted }) {
                // mosquitto's default is 20: on a slow link that, not max_inflight, sets the throughput.
                connection.logger.notice("the broker accepts only \(receiveMaximum) unacknowledged messages (its Receive Maximum); mqtt.max_inflight \(connection.config.maxInflight) is capped to that — raise max_inflight_messages on the broker for slow links")
            }
            connection.connectAnswered(rc)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, context, mid, reasonCode, _ in
            Unmanaged<MQTTConnection>.fromOpaque(context!).takeUnretainedValue().acknowledged(mid, reasonCode: reasonCode)
        }
        mosquitto_message_v5_callback_set(mosq) { _, context, message, properties in
            guard let inbound = InboundMessage(message, properties: properties) else { return }
            Unmanaged<MQTTConnection>.fromOpaque(context!).takeUnretainedValue().received(inbound)
        }
        let control = self.control
        session.attach { control.wake() }
        let keepalive = Int32(max(5, config.keepalive.components.seconds))
        // libmosquitto's blocking connect waits for the kernel's SYN retries (minutes, to a dead host):
        // the TCP part is tried first within connect_timeout; the CONNACK is awaited in `loop`.
        switch TCPProbe.connect(host: endpoint.host, port: endpoint.port, timeout: config.connectTimeout) {
        case .reachable: break
        case .failed(let reason):
            throw MQTTError(code: MOSQ_ERR_NO_CONN.rawValue, message: "connect to \(endpoint.host):\(endpoint.port): \(reason)")
        case .timedOut:
            throw MQTTError(code: MOSQ_ERR_NO_CONN.rawValue,
                            message: "connect to \(endpoint.host):\(endpoint.port): no TCP connection within connect_timeout (\(config.connectTimeout.configText))")
        }
        let rc = mosquitto_connect_bind_v5(mosq, endpoint.host, Int32(endpoint.port), keepalive, nil, nil)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            throw explained(MQTTError(returnCode: rc, operation: "connect to \(endpoint.host):\(endpoint.port)"))
        }
    }

    /// Publishes what the session says about the connection itself (status, births, deaths) outside
    /// the ring (`mosquitto_publish_v5`): it is about this connection and means nothing after it.
    private func publishDirectly(_ messages: [OutboundMessage]) {
        guard let mosq else { return }
        for message in messages {
            // An answer to a command carries its Correlation Data: properties of its own, freed after.
            var answer = config.version == .v5 ? message.answerProperties() : nil
            _ = message.payload.withUnsafeBytes { bytes in
                mosquitto_publish_v5(mosq, nil, message.topic, Int32(bytes.count), bytes.baseAddress, Int32(message.qos), message.retain,
                                     answer ?? properties(contentType: message.contentType, alias: nil))
            }
            if answer != nil { mosquitto_property_free_all(&answer) }
        }
    }

    /// Adds what libmosquitto logged (e.g. OpenSSL's "certificate verify failed") to an error.
    func explained(_ error: MQTTError) -> MQTTError {
        guard let detail = lastLibraryError else { return error }
        var error = error
        error.message += " (\(detail))"
        return error
    }

    /// Polls socket and eventfd, runs libmosquitto (`mosquitto_loop_read/_write/_misc`) and pumps the
    /// ring until the connection ends; returns why it ended.
    private func loop(_ heartbeat: HealthBoard.Heartbeat) -> String {
        guard let mosq else { return "no client" }
        // Before CONNACK a failure is still the connect failing (a TLS handshake ends here, say): name
        // it the same way whichever step it surfaced in, so a repeated failure is logged once.
        var operation: String { connected ? "connection lost" : "connect to \(endpoint.host):\(endpoint.port)" }
        while true {
            let socket = mosquitto_socket(mosq)
            guard socket >= 0 else { return "\(operation): no socket" }
            var fds = [pollfd(fd: socket, events: Int16(POLLIN) | (mosquitto_want_write(mosq) ? Int16(POLLOUT) : 0), revents: 0),
                       pollfd(fd: control.wakeFD, events: Int16(POLLIN), revents: 0)]
            // Room freed without a packet arriving (QoS 0 completes on the write): don't sleep on it.
            _ = poll(&fds, 2, needsPump && connected ? 0 : idleWait)
            heartbeat.beat()
            if fds[1].revents & Int16(POLLIN) != 0 {
                control.consumeWake()
                needsPump = true
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                lastHeard = ConnectionControl.uptime()
                let rc = mosquitto_loop_read(mosq, 1)
                if rc != MOSQ_ERR_SUCCESS.rawValue { return ended(rc, operation) }
            }
            if mosquitto_want_write(mosq) {
                let rc = mosquitto_loop_write(mosq, 1)
                if rc != MOSQ_ERR_SUCCESS.rawValue { return ended(rc, operation) }
            }
            let rc = mosquitto_loop_misc(mosq)  // keepalive pings
            if rc != MOSQ_ERR_SUCCESS.rawValue { return explained(MQTTError(returnCode: rc, operation: operation)).message }
            if let silence = silence() { return silence }

            switch control.current {
            case .stop:
                return disconnect()
            case .drain where !connected || ring.statistics.depth == 0 || control.drainExpired:
                return disconnect()
            case .run, .drain:
                if connected, needsPump { pump() }
                if let refusal { return "\(disconnect()): \(refusal)" }
            }
        }
    }

    /// How long (ms) the loop sleeps when neither the socket nor the ring has anything. Idle and
    /// connected: a second, so an idle gateway's connection thread wakes once a second, which is
    /// often enough for keepalive pings (keepalive is at least 5 s) and for the silence checks.
    /// While connecting, draining or waiting for acknowledgements: 100 ms, so a CONNACK or PUBACK
    /// that never comes is noticed within `connect_timeout`/`ack_timeout` plus a tenth of a second.
    private var idleWait: Int32 {
        connected && inFlight.isEmpty && control.current == .run ? 1_000 : 100
    }

    /// A clean DISCONNECT (`mosquitto_disconnect_v5`): the broker then publishes no last will, so
    /// the retained `offline` is published first.
    private func disconnect() -> String {
        guard let mosq, connected else { return "disconnected" }
        publishDirectly(session.farewell())
        mosquitto_disconnect_v5(mosq, 0, nil)
        for _ in 0..<20 where mosquitto_want_write(mosq) {
            if mosquitto_loop_write(mosq, 1) != MOSQ_ERR_SUCCESS.rawValue { break }
        }
        return "disconnected"
    }

    /// Hands the broker as much as the in-flight window allows (`mosquitto_publish_v5`).
    private func pump() {
        needsPump = false
        guard let mosq else { return }
        let announcements = session.pending()
        if !announcements.isEmpty { publishDirectly(announcements) }
        let room = config.maxInflight - inFlight.count
        guard room > 0 else { return }
        for record in ring.checkout(limit: room) {
            let message = record.message
            if message.qos > maxQoS, config.qos2Unsupported == .refuse {
                // Closing requeues it with everything else checked out.
                failure = .brokenQoS2(topics: [message.topic])
                refusal = "the broker's CONNACK gives a Maximum QoS of \(maxQoS): it cannot carry QoS \(message.qos)"
                return
            }
            var mid: Int32 = 0
            let (topic, alias) = aliased(message.topic)
            let messageProperties = properties(contentType: message.contentType, alias: alias)
            publishing = true
            let rc = (session.stamp(message) ?? message.payload).withUnsafeBytes { bytes in
                mosquitto_publish_v5(mosq, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(min(message.qos, maxQoS)),
                                     message.retain, messageProperties)
            }
            publishing = false
            let completedAlready = completedDuringPublish.contains(mid)
            completedDuringPublish.removeAll(keepingCapacity: true)
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                GatewayCounters.shared.published(qos: message.qos)
                if completedAlready {
                    GatewayCounters.shared.acknowledged(qos: message.qos)
                    ring.acknowledge(record.id)  // QoS 0, already handed to the socket
                    needsPump = true  // its room in the window is free again
                } else {
                    inFlight[mid] = (record.id, ConnectionControl.uptime(), min(message.qos, maxQoS), message.topic)
                }
                continue
            }
            let error = MQTTError(returnCode: rc, operation: "publish to \(message.topic)")
            if error.isPermanentForMessage {
                logger.error("cannot publish: \(error); message dropped", metadata: ["topic": "\(message.topic)"])
                ring.acknowledge(record.id)
            }
            // Otherwise the connection is going away: closing requeues everything in flight.
        }
    }

    // MARK: libmosquitto callbacks, called inside mosquitto_loop_read on this thread

    private func connectAnswered(_ rc: Int32) {
        connackReceived = true
        guard rc == 0 else {
            let reason = version == .v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc)
            // 3.1.1's "unacceptable protocol version" (1), MQTT 5's "unsupported protocol version" (0x84).
            if rc == (version == .v5 ? 0x84 : 1) {
                failure = .noMQTTAnswer
                return
            }
            emit(.refused(reason: reason.map { String(cString: $0) } ?? "code \(rc)"))
            return
        }
        connected = true
        lastHeard = ConnectionControl.uptime()
        // The log callback is for the connect (OpenSSL's reason for a failed handshake). Left on, it
        // makes libmosquitto format a debug line for every packet, ~6% of the CPU per message.
        if let mosq {
            mosquitto_log_callback_set(mosq, nil)
            for topic in session.subscriptions {
                mosquitto_subscribe_v5(mosq, nil, topic, 1, 0, nil)
            }
        }
        publishDirectly(session.births())
        ring.uplinkChanged(up: true)
        HealthBoard.shared.setBroker(endpoint.url)
        GatewayCounters.shared.connected()
        needsPump = true
        emit(.connected)
    }

    /// A command on a subscribed topic: the session answers it (a Sparkplug rebirth) at once, or
    /// later through `pending()` (a write, once its bus has run it).
    private func received(_ message: InboundMessage) {
        let answer = session.received(message)
        if !answer.isEmpty {
            logger.info("answering a command on \(message.topic) with \(answer.count) message(s)")
            publishDirectly(answer)
        }
    }

    /// PUBACK/PUBCOMP (QoS 1/2), or on the socket (QoS 0). A reason code of 0x80 or more means the
    /// broker refused the message (MQTT 5); it will not take it later either, so it leaves the ring.
    private func acknowledged(_ mid: Int32, reasonCode: Int32) {
        guard let entry = inFlight.removeValue(forKey: mid) else {
            if publishing { completedDuringPublish.append(mid) }
            return
        }
        if reasonCode >= 0x80 {
            let reason = mosquitto_reason_string(reasonCode).map { String(cString: $0) } ?? "code \(reasonCode)"
            logger.error("broker refused a message: \(reason) (reason code \(reasonCode)); dropped — check the broker's ACL for this client",
                         metadata: ["mqtt_reason": "\(reasonCode)"])
        } else {
            GatewayCounters.shared.acknowledged(qos: entry.qos)
        }
        ring.acknowledge(entry.id)
        needsPump = true
    }
}
