import FieldlinkBuffer
import FieldlinkCore
import FieldlinkMQTT
import FieldlinkPayload

/// The edge node's births, deaths and `seq` as the MQTT connection's session (see `MQTTSession`).
struct SparkplugSession: MQTTSession {
    let node: SparkplugEdgeNode

    func will() -> OutboundMessage { Self.outbound(node.will()) }
    func births() -> [OutboundMessage] { node.births().map(Self.outbound) }
    /// NDEATH before a clean disconnect: the broker sends no will then, and a host must still learn
    /// that the node is gone.
    func farewell() -> [OutboundMessage] { [Self.outbound(node.death())] }
    var subscriptions: [String] { [node.commandTopic] }

    func received(topic: String, payload: [UInt8]) -> [OutboundMessage] {
        guard topic == node.commandTopic, node.isRebirthCommand(payload) else { return [] }
        return births()
    }

    func pending() -> [OutboundMessage] {
        node.takeRebirthRequest() ? births() : []
    }

    func stamp(_ message: OutboundMessage) -> [UInt8]? {
        node.stamp(topic: message.topic, payload: message.payload)
    }

    static func outbound(_ message: SparkplugMessage) -> OutboundMessage {
        OutboundMessage(topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain,
                        contentType: SparkplugEdgeNode.contentType)
    }
}
