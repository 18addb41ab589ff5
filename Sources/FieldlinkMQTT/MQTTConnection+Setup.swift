import CMosquitto
import FieldlinkCore

// The client's setup and its MQTT 5 properties, apart from the connection's life in MQTTConnection.swift.
extension MQTTConnection {
    /// TLS through OpenSSL (`mosquitto_tls_set`, `mosquitto_tls_opts_set`): the server's chain is
    /// always verified, against `ca_file` or the system store (`MOSQ_OPT_TLS_USE_OS_CERTS`).
    static func configureTLS(_ tls: TLSConfig, on mosq: OpaquePointer) throws(MQTTError) {
        if tls.caFile == nil {
            mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1)
        }
        var rc = mosquitto_tls_set(mosq, tls.caFile, tls.caFile == nil ? "/etc/ssl/certs" : nil, tls.certFile, tls.keyFile, nil)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(returnCode: rc, operation: "TLS setup") }
        rc = mosquitto_tls_opts_set(mosq, 1, tls.minimumVersion, nil)  // 1 = SSL_VERIFY_PEER
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(returnCode: rc, operation: "TLS options") }
        if tls.insecure { mosquitto_tls_insecure_set(mosq, true) }
    }

    /// The session's last will (`mosquitto_will_set`): `offline`, or Sparkplug's NDEATH.
    func setWill(on mosq: OpaquePointer) throws(MQTTError) {
        let will = session.will()
        let rc = will.payload.withUnsafeBytes { bytes in
            mosquitto_will_set(mosq, will.topic, Int32(bytes.count), bytes.baseAddress, Int32(will.qos), will.retain)
        }
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError(returnCode: rc, operation: "set last will on \(will.topic)") }
    }

    /// MQTT 5 properties for a message: content type, payload-format indicator for text, the gateway
    /// id as a user property, the message expiry when configured, and a topic alias when the broker
    /// grants them. Built once per (content type, alias) and reused (`mosquitto_property_add_*`).
    func properties(contentType: String?, alias: UInt16?) -> OpaquePointer? {
        guard version == .v5 else { return nil }
        let key = "\(contentType ?? "")|\(alias ?? 0)"
        if let cached = publishProperties[key] { return cached }
        var list: OpaquePointer?
        if let contentType {
            mosquitto_property_add_string(&list, Int32(MQTT_PROP_CONTENT_TYPE.rawValue), contentType)
            if contentType.hasPrefix("text/") || contentType == "application/json" {
                mosquitto_property_add_byte(&list, Int32(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR.rawValue), 1)
            }
        }
        mosquitto_property_add_string_pair(&list, Int32(MQTT_PROP_USER_PROPERTY.rawValue), "gateway", config.clientID)
        if let expiry = config.messageExpiry {
            mosquitto_property_add_int32(&list, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), UInt32(clamping: expiry.components.seconds))
        }
        if let alias {
            mosquitto_property_add_int16(&list, Int32(MQTT_PROP_TOPIC_ALIAS.rawValue), alias)
        }
        publishProperties[key] = list
        return list
    }

    /// MQTT 5 topic aliases: a topic is sent in full once per connection, then as a 2-byte alias, as
    /// many as the broker allows (its CONNACK's Topic Alias Maximum). Returns the topic to put in
    /// the PUBLISH (empty once aliased) and the alias.
    func aliased(_ topic: String) -> (topic: String, alias: UInt16?) {
        guard version == .v5, topicAliasMaximum > 0 else { return (topic, nil) }
        if let alias = topicAliases[topic] { return ("", alias) }
        guard topicAliases.count < topicAliasMaximum else { return (topic, nil) }
        let alias = UInt16(topicAliases.count + 1)
        topicAliases[topic] = alias
        return (topic, alias)
    }
    /// Why a broker that sends nothing counts as dead, or nil while it is alive: no CONNACK within
    /// connect_timeout; a QoS 1/2 message unacknowledged for ack_timeout; or nothing heard for a
    /// keepalive plus ack_timeout (libmosquitto sends its PINGREQ at the latest a keepalive after the
    /// broker was last heard, so its PINGRESP is that late). Checked every 200 ms.
    func silence() -> String? {
        let now = ConnectionControl.uptime()
        guard now >= nextLivenessCheck else { return nil }
        nextLivenessCheck = now + 200_000_000
        let ackTimeout = config.ackTimeout.nanoseconds
        guard connected else {
            guard now - openedAt > config.connectTimeout.nanoseconds else { return nil }
            failure = .noMQTTAnswer
            return "connect to \(endpoint.host):\(endpoint.port): no CONNACK within connect_timeout (\(config.connectTimeout.configText)); the broker accepted the TCP connection but did not answer the MQTT \(version.rawValue) CONNECT (set mqtt.version if it speaks only one version)"
        }
        if let oldest = inFlight.values.lazy.map(\.sentAt).min(), now - oldest > ackTimeout {
            return "connection lost: the broker acknowledged none of \(inFlight.count) message(s) within ack_timeout (\(config.ackTimeout.configText)); it is silent"
        }
        if now - lastHeard > config.keepalive.nanoseconds + ackTimeout {
            return "connection lost: no PINGRESP within ack_timeout (\(config.ackTimeout.configText)); the broker is silent"
        }
        return nil
    }


    /// Why a libmosquitto call ended the connection, in words that say what happened: before the
    /// CONNACK a closed socket means the broker did not take our CONNECT; a protocol error with QoS 2
    /// messages in flight means a broker that answers QoS 2 with PUBACK.
    func ended(_ rc: Int32, _ operation: String) -> String {
        if !connected, !connackReceived || failure != nil, rc == MOSQ_ERR_CONN_LOST.rawValue || rc == MOSQ_ERR_PROTOCOL.rawValue || rc == MOSQ_ERR_MALFORMED_PACKET.rawValue {
            if connackReceived { return "\(operation): the broker refused protocol version MQTT \(version.rawValue) (set mqtt.version)" }
            failure = .noMQTTAnswer
            return "\(operation): the broker closed the connection before answering the MQTT \(version.rawValue) CONNECT (it may not speak MQTT \(version.rawValue); set mqtt.version)"
        }
        if connected, rc == MOSQ_ERR_PROTOCOL.rawValue {
            let topics = Set(inFlight.values.filter { $0.qos == 2 }.map(\.topic)).sorted()
            if !topics.isEmpty {
                failure = .brokenQoS2(topics: topics)
                return "\(operation): the broker answered a QoS 2 message with PUBACK instead of PUBREC (it does not support QoS 2)"
            }
        }
        return explained(MQTTError(returnCode: rc, operation: operation)).message
    }
}
