import CMosquitto
#if canImport(Glibc)
import Glibc
#endif

/// A libmosquitto error, in words of our own: `mosquitto_strerror` has no text for some codes
/// (MOSQ_ERR_KEEPALIVE in 2.0.11 is "Unknown error."), and some of its words mislead ("The
/// connection was lost" for a broker that closed the socket before answering CONNECT).
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    /// From a `MOSQ_ERR_*` return code; errno's text for `MOSQ_ERR_ERRNO`.
    init(returnCode: Int32, operation: String) {
        self.code = returnCode
        var text = Self.words(for: returnCode)
        if returnCode == MOSQ_ERR_ERRNO.rawValue {
            text = String(cString: strerror(errno))
        }
        self.message = "\(operation): \(text)"
    }

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Our words for every code libmosquitto 2.0 returns (mosquitto.h, `enum mosq_err_t`).
    static func words(for code: Int32) -> String {
        switch code {
        case MOSQ_ERR_AUTH_CONTINUE.rawValue: "the broker asked for another step of extended authentication"
        case MOSQ_ERR_NO_SUBSCRIBERS.rawValue: "the broker has no subscriber for the message"
        case MOSQ_ERR_SUB_EXISTS.rawValue: "already subscribed"
        case MOSQ_ERR_CONN_PENDING.rawValue: "the TCP connection is still being set up"
        case MOSQ_ERR_SUCCESS.rawValue: "no error"
        case MOSQ_ERR_NOMEM.rawValue: "out of memory"
        case MOSQ_ERR_PROTOCOL.rawValue: "the broker broke the MQTT protocol (an answer that does not fit what was sent)"
        case MOSQ_ERR_INVAL.rawValue: "an invalid argument (a bug in fieldlink, or a value the config check let through)"
        case MOSQ_ERR_NO_CONN.rawValue: "not connected"
        case MOSQ_ERR_CONN_REFUSED.rawValue: "the broker refused the connection"
        case MOSQ_ERR_NOT_FOUND.rawValue: "not found"
        case MOSQ_ERR_CONN_LOST.rawValue: "the broker closed the connection"
        case MOSQ_ERR_TLS.rawValue: "TLS failed (certificate, key or handshake)"
        case MOSQ_ERR_PAYLOAD_SIZE.rawValue: "the payload is too large for MQTT"
        case MOSQ_ERR_NOT_SUPPORTED.rawValue: "not supported by this libmosquitto build"
        case MOSQ_ERR_AUTH.rawValue: "authentication failed (check mqtt.username and the password)"
        case MOSQ_ERR_ACL_DENIED.rawValue: "the broker's access control denied it"
        case MOSQ_ERR_UNKNOWN.rawValue: "an error libmosquitto could not classify"
        case MOSQ_ERR_ERRNO.rawValue: "a system call failed"
        case MOSQ_ERR_EAI.rawValue: "the broker's host name cannot be resolved (check the URL and DNS)"
        case MOSQ_ERR_PROXY.rawValue: "the SOCKS proxy failed"
        case MOSQ_ERR_PLUGIN_DEFER.rawValue: "a broker plugin deferred the decision"
        case MOSQ_ERR_MALFORMED_UTF8.rawValue: "a topic or string is not valid UTF-8"
        case MOSQ_ERR_KEEPALIVE.rawValue: "the broker did not answer the keepalive ping in time"
        case MOSQ_ERR_LOOKUP.rawValue: "the DNS lookup failed"
        case MOSQ_ERR_MALFORMED_PACKET.rawValue: "the broker sent a malformed packet"
        case MOSQ_ERR_DUPLICATE_PROPERTY.rawValue: "an MQTT 5 property appeared twice"
        case MOSQ_ERR_TLS_HANDSHAKE.rawValue: "the TLS handshake failed"
        case MOSQ_ERR_QOS_NOT_SUPPORTED.rawValue: "the broker does not support this QoS"
        case MOSQ_ERR_OVERSIZE_PACKET.rawValue: "the packet is larger than the broker accepts (its Maximum Packet Size)"
        case MOSQ_ERR_OCSP.rawValue: "the broker's certificate failed its OCSP check"
        case MOSQ_ERR_TIMEOUT.rawValue: "timed out"
        case MOSQ_ERR_RETAIN_NOT_SUPPORTED.rawValue: "the broker does not support retained messages"
        case MOSQ_ERR_TOPIC_ALIAS_INVALID.rawValue: "the broker rejected a topic alias"
        case MOSQ_ERR_ADMINISTRATIVE_ACTION.rawValue: "the broker's administrator closed the connection"
        case MOSQ_ERR_ALREADY_EXISTS.rawValue: "already exists"
        default: "libmosquitto error \(code)"
        }
    }

    /// Errors that no retry will fix: the message itself is unacceptable.
    var isPermanentForMessage: Bool {
        [MOSQ_ERR_PAYLOAD_SIZE, MOSQ_ERR_MALFORMED_UTF8, MOSQ_ERR_INVAL, MOSQ_ERR_QOS_NOT_SUPPORTED, MOSQ_ERR_OVERSIZE_PACKET]
            .map(\.rawValue).contains(code)
    }
}
