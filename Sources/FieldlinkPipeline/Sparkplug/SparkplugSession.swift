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
