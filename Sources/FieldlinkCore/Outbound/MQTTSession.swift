/// What a connection says about the gateway itself, beside the ring's messages: the last will, what
/// it announces after every CONNECT and before a clean DISCONNECT, the commands it listens to, and a
/// last touch on each message as it is sent.
///
/// The default is fieldlink's retained status topic (`StatusSession`); Sparkplug B replaces it with
/// NDEATH as the will, NBIRTH/DBIRTH after CONNECT, rebirth on NCMD and its per-session `seq`. The
/// connection calls every method on its own thread, in the order the broker must see the results.
public protocol MQTTSession: Sendable {
    /// The will for the next CONNECT (asked once per connection attempt).
    func will() -> OutboundMessage
    /// Published right after CONNACK, before anything from the ring.
    func births() -> [OutboundMessage]
    /// Published before a clean DISCONNECT, when the broker sends no will.
    func farewell() -> [OutboundMessage]
    /// Topics subscribed to after CONNACK.
    var subscriptions: [String] { get }
    /// A message on a subscribed topic; returns what to publish in answer, at once.
    func received(topic: String, payload: [UInt8]) -> [OutboundMessage]
    /// The same, with what MQTT says about the message (retained, MQTT 5 response topic, expiry).
    func received(_ message: InboundMessage) -> [OutboundMessage]
    /// How to wake the connection when an answer is ready later (`pending()` then hands it over).
    func attach(wake: @escaping @Sendable () -> Void)
    /// Messages that must go out now for reasons outside the connection (a reload changed what the
    /// births say); checked on every turn, so it must be cheap when there is nothing.
    func pending() -> [OutboundMessage]
    /// The payload to send for a ring message; nil sends it unchanged.
    func stamp(_ message: OutboundMessage) -> [UInt8]?
}

extension MQTTSession {
    public var subscriptions: [String] { [] }
    public func received(topic: String, payload: [UInt8]) -> [OutboundMessage] { [] }
    public func received(_ message: InboundMessage) -> [OutboundMessage] { received(topic: message.topic, payload: message.payload) }
    public func attach(wake: @escaping @Sendable () -> Void) {}
    public func pending() -> [OutboundMessage] { [] }
    public func stamp(_ message: OutboundMessage) -> [UInt8]? { nil }
}

/// A message the broker delivered on a subscribed topic, with what the gateway needs to judge it.
public struct InboundMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    /// Set on a retained message delivered because the subscription was made (a reconnect).
    public var retained: Bool
    /// MQTT 5: where the sender wants its answer, and the bytes to echo with it.
    public var responseTopic: String?
    public var correlationData: [UInt8]?
    /// MQTT 5: the Message Expiry Interval left when the broker delivered it.
    public var expiry: Duration?

    public init(topic: String, payload: [UInt8], retained: Bool = false, responseTopic: String? = nil, correlationData: [UInt8]? = nil,
                expiry: Duration? = nil) {
        self.topic = topic
        self.payload = payload
        self.retained = retained
        self.responseTopic = responseTopic
        self.correlationData = correlationData
        self.expiry = expiry
    }
}
