import FieldlinkCore
import FieldlinkPayload

/// The edge node's births, deaths and `seq` as the MQTT connection's session (see `MQTTSession`).
public struct SparkplugSession: MQTTSession {
    let node: SparkplugEdgeNode

    public init(node: SparkplugEdgeNode) { self.node = node }

    public func will() -> OutboundMessage { node.will() }
    public func births() -> [OutboundMessage] { node.births() }
    /// NDEATH before a clean disconnect: the broker sends no will then, and a host must still learn
    /// that the node is gone.
    public func farewell() -> [OutboundMessage] { [node.death()] }
    public var subscriptions: [String] { [node.commandTopic] }

    public func received(topic: String, payload: [UInt8]) -> [OutboundMessage] {
        guard topic == node.commandTopic, node.isRebirthCommand(payload) else { return [] }
        return births()
    }

    public func pending() -> [OutboundMessage] {
        node.takeRebirthRequest() ? births() : []
    }

    public func stamp(_ message: OutboundMessage) -> [UInt8]? {
        node.stamp(topic: message.topic, payload: message.payload)
    }
}

extension SparkplugEdgeNode {
    /// DCMD (write-back): `spBv1.0/{group}/DCMD/{edge node}/{device}` for each Sparkplug device with a
    /// writable point; its metrics, by name or by this node's alias, go through the same write path
    /// as any command. The device's next DDATA (the read-back) reports the result.
    public var commandFormat: CommandFormat {
        CommandFormat(name: "Sparkplug DCMD", topic: { [self] device in
            device.format == .sparkplugb ? topic("DCMD", device: device.name) : nil
        }, decode: { [self] device, payload in
            guard let metrics = SparkplugEncoding.commandMetrics(payload) else {
                return .failure(ConversionError("not a Sparkplug B payload"))
            }
            var values: [(point: String, value: Value)] = []
            for metric in metrics {
                guard let name = metric.name ?? metric.alias.flatMap({ metricName(device: device.name, alias: $0) }) else {
                    return .failure(ConversionError("metric alias \(metric.alias.map(String.init) ?? "?") is not one of device \(device.name)'s"))
                }
                guard let value = metric.value else { return .failure(ConversionError("metric \(name) has no value")) }
                values.append((name, value))
            }
            return values.isEmpty ? .failure(ConversionError("the DCMD names no metric")) : .success(values)
        })
    }
}
