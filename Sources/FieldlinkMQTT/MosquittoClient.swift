import CMosquitto
import FieldlinkCore
import Foundation
import Synchronization

/// A libmosquitto error, with libmosquitto's own words for it.
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    /// From a `MOSQ_ERR_*` return code (`mosquitto_strerror`).
    init(returnCode: Int32, operation: String) {
        self.code = returnCode
        var text = String(cString: mosquitto_strerror(returnCode))
        if returnCode == MOSQ_ERR_ERRNO.rawValue {
            text = String(cString: strerror(errno))
        }
        self.message = "\(operation): \(text)"
    }

    public var description: String { message }

    /// Errors that no retry will fix: the message itself is unacceptable.
    var isPermanentForMessage: Bool {
        [MOSQ_ERR_PAYLOAD_SIZE, MOSQ_ERR_MALFORMED_UTF8, MOSQ_ERR_INVAL, MOSQ_ERR_QOS_NOT_SUPPORTED, MOSQ_ERR_OVERSIZE_PACKET]
            .map(\.rawValue).contains(code)
    }
}

/// What a connection reports, in the order it happens.
public enum MQTTConnectionEvent: Sendable {
    case connected
    /// The broker answered CONNECT with a refusal (bad credentials, not authorised, ...).
    case refused(reason: String)
    /// The broker acknowledged a message (QoS 1/2), or it went to the socket (QoS 0).
    /// A `reasonCode` of 0x80 or more means the broker refused the message (MQTT 5).
    case published(mid: Int32, reasonCode: Int32)
    /// The connection ended (or never came up); the client is finished and must be replaced.
    case closed(reason: String)
}

/// Process-wide libmosquitto setup: `mosquitto_lib_init` exactly once.
enum MosquittoLibrary {
    static let initialized: Bool = {
        mosquitto_lib_init()
        return true
    }()
}

/// Receives libmosquitto's callbacks (on the connection's thread) and hops them into Swift
/// through an `AsyncStream` continuation: no Swift state is touched from the callback.
private final class CallbackBox: Sendable {
    let emit: @Sendable (MQTTConnectionEvent) -> Void
    let version: MQTTVersion
    init(version: MQTTVersion, emit: @escaping @Sendable (MQTTConnectionEvent) -> Void) {
        self.version = version
        self.emit = emit
    }
}

/// One connection attempt to one broker: the single owner of a `struct mosquitto *`.
///
/// A fresh client per connection keeps libmosquitto's hidden session state out of the picture: the
/// ring is the only record of what is unacknowledged, so nothing is resent twice by two layers.
/// `run()` blocks (connect, then `mosquitto_loop`) and belongs on a thread of its own; `publish`
/// may be called from any thread (libmosquitto in `mosquitto_threaded_set` mode).
public final class MosquittoClient: Sendable {
    private let options: MQTTConfig
    private let handle: Mutex<OpaquePointer?>
    private let box: CallbackBox
    private let stopRequested = Atomic<Bool>(false)

    /// Creates the client (`mosquitto_new`) and sets it up; nothing touches the network yet.
    public init(options: MQTTConfig, emit: @escaping @Sendable (MQTTConnectionEvent) -> Void) throws(MQTTError) {
        _ = MosquittoLibrary.initialized
        self.options = options
        let box = CallbackBox(version: options.version, emit: emit)
        self.box = box
        guard let mosq = mosquitto_new(options.clientID, true, Unmanaged.passUnretained(box).toOpaque()) else {
            throw MQTTError(returnCode: MOSQ_ERR_ERRNO.rawValue, operation: "mosquitto_new")
        }
        mosquitto_threaded_set(mosq, true)
        let protocolVersion = options.version == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, Int32(protocolVersion))
        mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, Int32(options.maxInflight))
        mosquitto_max_inflight_messages_set(mosq, UInt32(options.maxInflight))
        mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1)
        if let username = options.username {
            let rc = mosquitto_username_pw_set(mosq, username, options.password?.value)
            guard rc == MOSQ_ERR_SUCCESS.rawValue else {
                mosquitto_destroy(mosq)
                throw MQTTError(returnCode: rc, operation: "set credentials")
            }
        }
        mosquitto_connect_v5_callback_set(mosq) { _, context, rc, _, _ in
            let box = Unmanaged<CallbackBox>.fromOpaque(context!).takeUnretainedValue()
            if rc == 0 {
                box.emit(.connected)
            } else {
                let reason = box.version == .v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc)
                box.emit(.refused(reason: String(cString: reason!)))
            }
        }
        mosquitto_publish_v5_callback_set(mosq) { _, context, mid, reasonCode, _ in
            let box = Unmanaged<CallbackBox>.fromOpaque(context!).takeUnretainedValue()
            box.emit(.published(mid: mid, reasonCode: reasonCode))
        }
        handle = Mutex(mosq)
    }

    deinit {
        destroy()
    }

    private func destroy() {
        handle.withLock { mosq in
            if let pointer = mosq { mosquitto_destroy(pointer) }
            mosq = nil
        }
    }

    /// Connects (`mosquitto_connect_bind_v5`) and runs the network loop (`mosquitto_loop`) until the
    /// connection ends or `stop()` is called; always ends with a `.closed` event. Blocks.
    public func run() {
        guard let mosq = handle.withLock({ $0 }) else { return }
        let seconds = Int32(max(5, options.keepalive.components.seconds))
        var rc = mosquitto_connect_bind_v5(mosq, options.host, Int32(options.port), seconds, nil, nil)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            box.emit(.closed(reason: MQTTError(returnCode: rc, operation: "connect to \(options.host):\(options.port)").message))
            destroy()
            return
        }
        while !stopRequested.load(ordering: .relaxed) {
            rc = mosquitto_loop(mosq, 100, 1)
            guard rc == MOSQ_ERR_SUCCESS.rawValue else { break }
        }
        if stopRequested.load(ordering: .relaxed) {
            // A clean DISCONNECT: the broker then does not publish a last will.
            mosquitto_disconnect_v5(mosq, 0, nil)
            for _ in 0..<10 where mosquitto_loop(mosq, 50, 1) == MOSQ_ERR_SUCCESS.rawValue {}
            box.emit(.closed(reason: "disconnected"))
        } else {
            box.emit(.closed(reason: MQTTError(returnCode: rc, operation: "connection lost").message))
        }
        destroy()
    }

    /// Asks `run()` to disconnect cleanly and return.
    public func stop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    /// Queues a PUBLISH (`mosquitto_publish_v5`); returns its message id.
    public func publish(topic: String, payload: [UInt8], qos: Int, retain: Bool) throws(MQTTError) -> Int32 {
        var mid: Int32 = 0
        let rc: Int32 = handle.withLock { mosq in
            guard let mosq else { return MOSQ_ERR_NO_CONN.rawValue }
            return payload.withUnsafeBytes { bytes in
                mosquitto_publish_v5(mosq, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain, nil)
            }
        }
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(returnCode: rc, operation: "publish to \(topic)") }
        return mid
    }
}
