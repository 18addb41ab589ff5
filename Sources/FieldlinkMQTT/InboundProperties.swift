import CMosquitto
import FieldlinkCore
#if canImport(Glibc)
import Glibc
#endif

extension InboundMessage {
    /// A delivered PUBLISH as Swift values: topic, payload, retain flag, and the MQTT 5 properties
    /// a command needs (`mosquitto_property_read_string`, `_read_binary`, `_read_int32`). Called on
    /// the connection's thread inside the message callback; copies everything it keeps.
    init?(_ message: UnsafePointer<mosquitto_message>?, properties: OpaquePointer?) {
        guard let message, let topic = message.pointee.topic else { return nil }
        let payload = message.pointee.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(message.pointee.payloadlen))) } ?? []
        self.init(topic: String(cString: topic), payload: payload, retained: message.pointee.retain)
        guard let properties else { return }
        var text: UnsafeMutablePointer<CChar>?
        if mosquitto_property_read_string(properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), &text, false) != nil, let text {
            responseTopic = String(cString: text)
            free(text)
        }
        var bytes: UnsafeMutableRawPointer?
        var length: UInt16 = 0
        if mosquitto_property_read_binary(properties, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &bytes, &length, false) != nil {
            correlationData = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
            free(bytes)
        }
        var seconds: UInt32 = 0
        if mosquitto_property_read_int32(properties, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), &seconds, false) != nil {
            expiry = .seconds(Int64(seconds))
        }
    }
}

extension OutboundMessage {
    /// MQTT 5 properties of an answer on a command's Response Topic: its content type and the
    /// command's Correlation Data (`mosquitto_property_add_string`, `_add_binary`). The caller frees
    /// the list (`mosquitto_property_free_all`).
    func answerProperties() -> OpaquePointer? {
        guard let correlationData else { return nil }
        var list: OpaquePointer?
        if let contentType {
            mosquitto_property_add_string(&list, Int32(MQTT_PROP_CONTENT_TYPE.rawValue), contentType)
        }
        correlationData.withUnsafeBytes { bytes in
            _ = mosquitto_property_add_binary(&list, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), bytes.baseAddress, UInt16(clamping: bytes.count))
        }
        return list
    }
}
