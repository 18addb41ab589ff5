import CMosquitto
import FieldlinkCore
#if canImport(Glibc)
import Glibc
#endif

/// Does a broker accept an MQTT CONNECT right now? For failback: a TCP connect is not enough, since a
/// stopped broker's listening socket and a load balancer without a backend both accept TCP.
enum MQTTProbe {
    /// Filled in by libmosquitto's connect callback (on this thread: the probe runs its own loop).
    private final class Answer {
        var code: Int32 = -1
    }

    /// A short-lived client (`<client_id>-probe`, clean session, the connection's login and TLS)
    /// connects, waits up to `timeout` for a CONNACK that accepts it, and disconnects
    /// (`mosquitto_connect_bind_v5`, `mosquitto_loop_read`/`_write`). Blocks: call it on its own thread.
    static func accepts(config: MQTTConfig, endpoint: BrokerEndpoint, timeout: Duration) -> Bool {
        _ = MosquittoLibrary.initialized
        let deadline = ConnectionControl.uptime() + timeout.nanoseconds
        guard TCPProbe.connect(host: endpoint.host, port: endpoint.port, timeout: timeout) == .reachable else { return false }
        let answer = Answer()
        return withExtendedLifetime(answer) {
            guard let mosq = mosquitto_new("\(config.clientID)-probe", true, Unmanaged.passUnretained(answer).toOpaque()) else { return false }
            defer { mosquitto_destroy(mosq) }
            // `auto` probes with 3.1.1, which brokers that speak 5 take too.
            let version = config.version == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
            mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, Int32(version))
            if let username = endpoint.username { mosquitto_username_pw_set(mosq, username, endpoint.password?.value) }
            if let tls = endpoint.tls {
                guard (try? MQTTConnection.configureTLS(tls, on: mosq)) != nil else { return false }
            }
            mosquitto_connect_callback_set(mosq) { _, context, code in
                Unmanaged<Answer>.fromOpaque(context!).takeUnretainedValue().code = code
            }
            guard mosquitto_connect_bind_v5(mosq, endpoint.host, Int32(endpoint.port), 5, nil, nil) == MOSQ_ERR_SUCCESS.rawValue else { return false }
            while answer.code < 0 {
                let left = deadline - ConnectionControl.uptime()
                guard left > 0 else { return false }
                var descriptor = pollfd(fd: mosquitto_socket(mosq), events: Int16(POLLIN) | (mosquitto_want_write(mosq) ? Int16(POLLOUT) : 0), revents: 0)
                _ = poll(&descriptor, 1, Int32(min(left / 1_000_000, 100)))
                if mosquitto_want_write(mosq), mosquitto_loop_write(mosq, 1) != MOSQ_ERR_SUCCESS.rawValue { return false }
                if descriptor.revents != 0, mosquitto_loop_read(mosq, 1) != MOSQ_ERR_SUCCESS.rawValue, answer.code < 0 { return false }
            }
            guard answer.code == 0 else { return false }
            mosquitto_disconnect(mosq)
            _ = mosquitto_loop_write(mosq, 1)
            return true
        }
    }
}
