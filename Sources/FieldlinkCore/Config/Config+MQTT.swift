#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A password or key: printable only as `<redacted>`, so it cannot leak into logs or `check` output.
public struct Secret: Sendable, Hashable, CustomStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
}

/// What to do with QoS 2 messages on a broker that cannot carry QoS 2 (it answers a QoS 2 PUBLISH
/// with PUBACK, as RabbitMQ does, or its MQTT 5 CONNACK gives a Maximum QoS below 2).
public enum QoS2Fallback: String, Sendable, Hashable, CaseIterable {
    /// They go at QoS 1 to that broker, with one error and a warning: a message may arrive twice.
    case downgrade
    /// That broker is not used: the next in `urls` is tried; with none, messages wait in the buffer.
    case refuse
}

public enum MQTTVersion: String, Sendable, Hashable, CaseIterable {
    /// MQTT 5 first; 3.1.1 when the broker refuses the protocol, closes before its CONNACK, or sends none.
    case auto
    case v5 = "5"
    case v311 = "3.1.1"
}

/// TLS through libmosquitto's OpenSSL: the server is always verified (chain and host name).
public struct TLSConfig: Sendable, Hashable {
    /// CA bundle; nil uses the system's CA store.
    public var caFile: String?
    /// Client certificate and key, for brokers that require mTLS.
    public var certFile: String?
    public var keyFile: String?
    /// Skips the host-name check only (the chain is still verified); warned about at every start.
    public var insecure = false
    /// Minimum protocol version, `tlsv1.2` or `tlsv1.3`.
    public var minimumVersion = TLSConfig.defaultMinimumVersion

    public static let defaultMinimumVersion = "tlsv1.2"
    /// What `min_version:` accepts; older versions are broken.
    public static let minimumVersions = ["tlsv1.2", "tlsv1.3"]
}

/// One broker the gateway can publish to: where it is and how to log in.
public struct BrokerEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Set for `mqtts://` URLs.
    public var tls: TLSConfig?
    public var username: String?
    public var password: Secret?

    public init(host: String, port: Int, tls: TLSConfig? = nil, username: String? = nil, password: Secret? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password
    }

    /// The port of a URL without one: `mqtt://` and `mqtts://`'s registered ports.
    public static let defaultPort = 1883
    public static let defaultTLSPort = 8883
    /// A TCP port (a broker's, a Modbus/TCP device's).
    public static let portRange = 1...65_535

    public var url: String { "\(tls == nil ? "mqtt" : "mqtts")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

public struct MQTTConfig: Sendable, Hashable {
    /// In order of preference: `url:` gives one, `urls:` several (failover and failback).
    public var brokers: [BrokerEndpoint]
    /// Retained `online` after every connect; the last will (and a clean stop) make it `offline`.
    public var statusTopic: String
    public var clientID: String
    public var version: MQTTVersion
    public var keepalive: Duration
    /// Our own window of unacknowledged publishes; libmosquitto's is set to match.
    public var maxInflight: Int
    public var reconnectDelay: Duration
    public var reconnectDelayMax: Duration
    /// How long a graceful shutdown waits for the broker to acknowledge what is queued.
    public var drainTimeout: Duration
    /// Unreachable this long (or refusing the login), the current broker is given up for the next.
    public var failoverAfter: Duration
    /// A more preferred broker reachable again this long is returned to; nil: never fail back.
    public var failbackAfter: Duration?
    /// MQTT 5: the broker discards a message not delivered within this; nil: never.
    public var messageExpiry: Duration? = nil
    /// A QoS 1/2 message unacknowledged this long, or a PINGRESP this late, is a dead connection:
    /// a silent broker (stopped, a dead host, a cut link) sends no FIN or RST to notice it by.
    public var ackTimeout: Duration = MQTTConfig.defaultKeepalive / MQTTConfig.ackTimeoutKeepaliveDivisor
    /// From the start of a connect attempt to the broker's CONNACK.
    public var connectTimeout: Duration = MQTTConfig.defaultConnectTimeout
    /// A broker that cannot carry QoS 2: downgrade to QoS 1 on it, or refuse to use it.
    public var qos2Unsupported: QoS2Fallback = MQTTConfig.defaultQoS2Unsupported

    /// The most preferred broker, for messages that name one.
    public var url: String { brokers[0].url }

    public static let defaultStatusTopic = "fieldlink/{gateway}/status"
    public static let defaultVersion = MQTTVersion.auto
    public static let defaultQoS2Unsupported = QoS2Fallback.downgrade
    public static let defaultKeepalive = Duration.seconds(30)
    /// Shorter keepalives cost pings and radio time without finding a dead link much sooner.
    public static let minimumKeepalive = Duration.seconds(5)
    public static let defaultMaxInflight = 100
    /// MQTT's Receive Maximum is a 16-bit count.
    public static let maxInflightRange = 1...65_535
    public static let defaultReconnectDelay = Duration.seconds(1)
    public static let defaultReconnectDelayMax = Duration.seconds(60)
    public static let defaultDrainTimeout = Duration.seconds(5)
    /// Unreachable this long after it was last heard from, a broker is given up for the next one.
    /// With the default ack_timeout (10 s) and connect_timeout (5 s), telemetry reaches the next
    /// broker within 20 s of the current one going silent, and within 5 s of it refusing connections.
    public static let defaultFailoverAfter = Duration.seconds(3)
    /// `ack_timeout` is the keepalive divided by this unless given: 10 s at the default 30 s.
    public static let ackTimeoutKeepaliveDivisor = 3
    /// The floor of `ack_timeout` and `connect_timeout`: below it a busy broker would look dead.
    public static let minimumAckTimeout = Duration.seconds(1)
    /// A TLS handshake over a slow cellular link fits; a broker that accepts TCP but never answers is found.
    public static let defaultConnectTimeout = Duration.seconds(5)
    /// A connection must stay up this long to reset the reconnect backoff: a broker that closes
    /// each connection right after its CONNACK is not hammered.
    public static let stableConnection = Duration.seconds(10)
    public static let defaultFailbackAfter = Duration.seconds(300)
    /// The floor of `reconnect_delay`, `reconnect_delay_max`, `failover_after` and `failback_after`:
    /// below it the gateway would hammer a broker that is down.
    public static let minimumRetryDelay = Duration.milliseconds(100)
    public static let minimumMessageExpiry = Duration.seconds(1)
}
