import CMosquitto
#if canImport(Glibc)
import Glibc
#endif

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

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Errors that no retry will fix: the message itself is unacceptable.
    var isPermanentForMessage: Bool {
        [MOSQ_ERR_PAYLOAD_SIZE, MOSQ_ERR_MALFORMED_UTF8, MOSQ_ERR_INVAL, MOSQ_ERR_QOS_NOT_SUPPORTED, MOSQ_ERR_OVERSIZE_PACKET]
            .map(\.rawValue).contains(code)
    }
}
