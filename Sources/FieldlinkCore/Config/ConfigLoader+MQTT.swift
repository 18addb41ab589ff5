import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `mqtt:`: brokers (`url`/`urls`), their login, TLS and the session's timing.
extension DocumentReader {
    func readMQTT(_ value: ConfigValue, gatewayID: String?) -> MQTTConfig? {
        guard var map = value.mapping() else { return nil }
        let urlValue = map.optional("url")
        let urlsValue = map.optional("urls")
        let shared = readLogin(&map)
        var brokers: [BrokerEndpoint] = []
        switch (urlValue, urlsValue) {
        case (nil, nil):
            map.report("missing required key \"url\" (or \"urls\" for several brokers)")
        case (.some, .some):
            map.report("give either url or urls, not both")
        case (let url?, nil):
            if let broker = endpoint(url, login: shared) { brokers.append(broker) }
        case (nil, let urls?):
            guard let list = urls.list() else { break }
            if list.isEmpty { urls.report("give at least one broker URL") }
            for entry in list {
                if case .scalar = entry.node {
                    if let broker = endpoint(entry, login: shared) { brokers.append(broker) }
                } else if var entryMap = entry.mapping() {
                    let url = entryMap.required("url")
                    let own = readLogin(&entryMap)
                    entryMap.rejectUnknownKeys()
                    let login = Login(tls: own.tls ?? shared.tls, tlsValue: own.tlsValue ?? shared.tlsValue,
                                      username: own.username ?? shared.username, password: own.password ?? shared.password)
                    if let url, let broker = endpoint(url, login: login) { brokers.append(broker) }
                }
            }
        }
        let statusValue = map.optional("status_topic")
        let statusTopic = statusValue.flatMap { value -> String? in
            guard let text = value.string() else { return nil }
            if let reason = TopicTemplate.validate(text) { return value.fail(reason) }
            return text
        } ?? MQTTConfig.defaultStatusTopic
        let clientID = map.optional("client_id").flatMap { $0.nonEmptyString() } ?? gatewayID
        let version = map.optional("version").flatMap { $0.oneOf(MQTTVersion.self) } ?? MQTTConfig.defaultVersion
        let keepalive = map.optional("keepalive").flatMap { $0.duration(minimum: MQTTConfig.minimumKeepalive) } ?? MQTTConfig.defaultKeepalive
        let maxInflight = map.optional("max_inflight").flatMap { $0.int(in: MQTTConfig.maxInflightRange) } ?? MQTTConfig.defaultMaxInflight
        let reconnectDelay = map.optional("reconnect_delay").flatMap { $0.duration(minimum: MQTTConfig.minimumRetryDelay) } ?? MQTTConfig.defaultReconnectDelay
        let reconnectDelayMax = map.optional("reconnect_delay_max").flatMap { $0.duration(minimum: MQTTConfig.minimumRetryDelay) } ?? MQTTConfig.defaultReconnectDelayMax
        let drainTimeout = map.optional("drain_timeout").flatMap { $0.duration(minimum: .zero) } ?? MQTTConfig.defaultDrainTimeout
        let failoverAfter = map.optional("failover_after").flatMap { $0.duration(minimum: MQTTConfig.minimumRetryDelay) } ?? MQTTConfig.defaultFailoverAfter
        let ackTimeout = map.optional("ack_timeout").flatMap { $0.duration(minimum: MQTTConfig.minimumAckTimeout) }
            ?? keepalive / MQTTConfig.ackTimeoutKeepaliveDivisor
        let connectTimeout = map.optional("connect_timeout").flatMap { $0.duration(minimum: MQTTConfig.minimumAckTimeout) }
            ?? MQTTConfig.defaultConnectTimeout
        let failbackAfter = map.optional("failback_after").flatMap { $0.duration(minimum: MQTTConfig.minimumRetryDelay) } ?? MQTTConfig.defaultFailbackAfter
        let failback = map.optional("failback").flatMap { $0.bool() } ?? true
        let messageExpiry = map.optional("message_expiry")?.duration(minimum: MQTTConfig.minimumMessageExpiry)
        let qos2Unsupported = map.optional("qos2_unsupported").flatMap { $0.oneOf(QoS2Fallback.self) } ?? MQTTConfig.defaultQoS2Unsupported
        map.rejectUnknownKeys()
        guard !brokers.isEmpty, let clientID else { return nil }
        let status = TopicTemplate(statusTopic)?.render(gateway: gatewayID ?? clientID, device: "", bus: "") ?? statusTopic
        return MQTTConfig(brokers: brokers, statusTopic: status, clientID: clientID, version: version, keepalive: keepalive,
                          maxInflight: maxInflight, reconnectDelay: reconnectDelay,
                          reconnectDelayMax: max(reconnectDelay, reconnectDelayMax), drainTimeout: drainTimeout,
                          failoverAfter: failoverAfter, failbackAfter: failback ? failbackAfter : nil, messageExpiry: messageExpiry,
                          ackTimeout: ackTimeout, connectTimeout: connectTimeout, qos2Unsupported: qos2Unsupported)
    }

    /// How to log in to a broker: the mqtt section's, or one `urls` entry's own.
    struct Login {
        var tls: TLSConfig?
        var tlsValue: ConfigValue?
        var username: String?
        var password: Secret?
    }

    func readLogin(_ map: inout ConfigMapping) -> Login {
        let tlsValue = map.optional("tls")
        let tls = tlsValue.flatMap(readTLS)
        let username = map.optional("username").flatMap { $0.nonEmptyString() }
        let passwordValue = map.optional("password")
        var password = passwordValue.flatMap { $0.string() }.map(Secret.init)
        if let passwordValue, password != nil, passwordValue.node.string?.contains("${") == false, Self.isReadableByOthers(diagnostics.file) {
            diagnostics.warn("an inline password in a file other users can read; use password_file (or ${ENV}) or chmod o-r the file",
                             at: passwordValue.node, path: passwordValue.path)
        }
        if let fileValue = map.optional("password_file"), let path = fileValue.secretFilePath() {
            if password != nil {
                fileValue.report("give either password or password_file, not both")
            } else {
                password = readSecretFile(path, at: fileValue)
            }
        }
        if password != nil && username == nil {
            map.report("a password needs a username")
        }
        return Login(tls: tls, tlsValue: tlsValue, username: username, password: password)
    }

    func endpoint(_ value: ConfigValue, login: Login) -> BrokerEndpoint? {
        guard let parsed = readBrokerURL(value) else { return nil }
        var tls = login.tls
        if parsed.secure, tls == nil, login.tlsValue == nil { tls = TLSConfig() }
        if !parsed.secure, let tlsValue = login.tlsValue {
            tlsValue.report("tls: is for mqtts:// URLs; \(value.node.string ?? "this one") is mqtt://")
            tls = nil
        }
        return BrokerEndpoint(host: parsed.host, port: parsed.port, tls: parsed.secure ? tls : nil,
                              username: login.username, password: login.password)
    }

    static func isReadableByOthers(_ file: String) -> Bool {
        FileAccess.isReadableByOthers(file)
    }

    func readTLS(_ value: ConfigValue) -> TLSConfig? {
        guard var map = value.mapping() else { return nil }
        var tls = TLSConfig()
        tls.caFile = map.optional("ca_file")?.readableFilePath()
        tls.certFile = map.optional("cert_file")?.readableFilePath()
        let keyValue = map.optional("key_file")
        tls.keyFile = keyValue?.readableFilePath(secret: true)
        tls.insecure = map.optional("insecure")?.bool() ?? false
        if let version = map.optional("min_version") {
            if let text = version.string(), TLSConfig.minimumVersions.contains(text) { tls.minimumVersion = text } else {
                version.report("expected \(TLSConfig.minimumVersions.joined(separator: " or "))")
            }
        }
        if (tls.certFile == nil) != (keyValue == nil) {
            map.report("cert_file and key_file go together (mTLS needs both)")
        }
        map.rejectUnknownKeys()
        return tls
    }

    func readSecretFile(_ path: String, at value: ConfigValue) -> Secret? {
        let data: Data
        // A password is a line; 64 KiB is any password file there is.
        switch FileAccess.contents(of: path, limit: ConfigLimits.scalarBytes) {
        case .success(let contents): data = contents
        case .failure(let why):
            let hint = why == .errno(Errno(EACCES)) ? " (under the unit, LoadCredential= hands it over: give password_file a name relative to the config)" : ""
            return value.fail("cannot read password file \(path): \(why.text)\(hint)")
        }
        guard let text = String(data: data, encoding: .utf8) else { return value.fail("password file \(path) is not UTF-8 text") }
        if FileAccess.isReadableByOthers(path) {
            value.diagnostics.warn("password file \(path) can be read by other users: chmod 600 \(path)", at: value.node, path: value.path)
        }
        let secret = text.trimmingNewlines()
        // Under the unit a missing /etc/fieldlink/mqtt-password arrives as an empty credential (its
        // fallback), so a fresh install starts; only a config that asks for a password refuses it.
        guard !secret.isEmpty else {
            return value.fail("password file \(path) is empty: put the broker's password in it, or remove password_file if the broker takes none")
        }
        return Secret(secret)
    }

    func readBrokerURL(_ value: ConfigValue) -> (host: String, port: Int, secure: Bool)? {
        guard let text = value.nonEmptyString() else { return nil }
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            return value.fail("\"\(text)\" is not a URL (write mqtt://HOST:PORT)")
        }
        guard scheme == "mqtt" || scheme == "mqtts" else {
            return value.fail("unsupported scheme \"\(scheme)\" (expected mqtt or mqtts)")
        }
        // URLComponents keeps an IPv6 literal's brackets; the host has none (`MQTTConfig.url` adds them back).
        let host = components.host.map { $0.hasPrefix("[") && $0.hasSuffix("]") ? String($0.dropFirst().dropLast()) : $0 }
        guard let host, !host.isEmpty else { return value.fail("\"\(text)\" has no host") }
        if !components.path.isEmpty && components.path != "/" || components.query != nil || components.user != nil {
            return value.fail("\"\(text)\": give only scheme, host and port (credentials go in username/password)")
        }
        let port = components.port ?? (scheme == "mqtts" ? BrokerEndpoint.defaultTLSPort : BrokerEndpoint.defaultPort)
        guard BrokerEndpoint.portRange.contains(port) else { return value.fail("port \(port) is out of range") }
        return (host, port, scheme == "mqtts")
    }
}
