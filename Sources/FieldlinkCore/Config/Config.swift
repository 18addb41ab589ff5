import Foundation

/// A validated configuration: if you hold one, every value in it was checked.
public struct Config: Sendable {
    public var file: String
    public var gateway: GatewayConfig
    public var mqtt: MQTTConfig
    public var buffer: BufferConfig
    public var buses: [BusConfig]
    public var devices: [DeviceConfig]

    public func devices(on bus: BusConfig) -> [DeviceConfig] {
        devices.filter { $0.bus == bus.name }
    }
}

public struct GatewayConfig: Sendable {
    public var id: String
    /// Holds what must survive a restart (sequence numbers, later the ring).
    public var stateDirectory: String
}

/// A password or key: printable only as `<redacted>`, so it cannot leak into logs or `check` output.
public struct Secret: Sendable, CustomStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
}

public enum MQTTVersion: String, Sendable, CaseIterable {
    case v5 = "5"
    case v311 = "3.1.1"
}

public struct MQTTConfig: Sendable {
    public var host: String
    public var port: Int
    public var clientID: String
    public var username: String?
    public var password: Secret?
    public var version: MQTTVersion
    public var keepalive: Duration
    /// Our own window of unacknowledged publishes; libmosquitto's is set to match.
    public var maxInflight: Int
    public var reconnectDelay: Duration
    public var reconnectDelayMax: Duration
    /// How long a graceful shutdown waits for the broker to acknowledge what is queued.
    public var drainTimeout: Duration

    public var url: String { "mqtt://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

public struct BufferConfig: Sendable {
    /// Messages kept in memory while unacknowledged; past it the oldest are dropped and counted.
    public var memoryMessages: Int
}

/// What a driver family reads from a bus entry beyond name and type.
public protocol BusOptions: Sendable, CustomStringConvertible {}
/// What a driver family reads from a device entry beyond the common keys.
public protocol DeviceOptions: Sendable, CustomStringConvertible {}
/// What a driver family reads from a point entry beyond the common keys.
public protocol PointOptions: Sendable, CustomStringConvertible {}

public struct BusConfig: Sendable {
    public var name: String
    public var type: String
    public var options: any BusOptions
    public var location: ConfigLocation
}

public struct DeviceConfig: Sendable {
    public var name: String
    public var bus: String
    public var interval: Duration
    /// Rendered from the topic template with this device's names.
    public var topic: String
    public var qos: Int
    public var retain: Bool
    public var options: any DeviceOptions
    public var points: [PointConfig]
    public var location: ConfigLocation
}

public struct PointConfig: Sendable {
    public var name: String
    public var unit: String?
    public var transform: LinearTransform
    public var options: any PointOptions
    public var location: ConfigLocation
}
