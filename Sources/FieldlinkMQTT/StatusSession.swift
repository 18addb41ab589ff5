import FieldlinkCore

/// `online` (retained) after every CONNECT, `offline` as the will and before a clean stop: any
/// subscriber sees at once whether the gateway is connected.
public struct StatusSession: MQTTSession {
    public let topic: String

    public init(topic: String) { self.topic = topic }

    private func status(_ text: String) -> OutboundMessage {
        OutboundMessage(topic: topic, payload: Array(text.utf8), qos: 1, retain: true, contentType: "text/plain")
    }

    public func will() -> OutboundMessage { status("offline") }
    public func births() -> [OutboundMessage] { [status("online")] }
    public func farewell() -> [OutboundMessage] { [status("offline")] }
}
