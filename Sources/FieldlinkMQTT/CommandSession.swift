import FieldlinkCore
import Synchronization

/// A connection's session with write-back commands on top: the base session's will, births and
/// commands, plus the command topics of the `CommandDesk`. Answers come back from the bus threads
/// whenever their writes are done; they wait here, wake the connection, and go out directly
/// (never through the ring: an answer means nothing on another connection).
final class CommandSession: MQTTSession {
    private let base: any MQTTSession
    private let desk: CommandDesk
    private let answers = Mutex<[OutboundMessage]>([])
    private let wake = Mutex<(@Sendable () -> Void)?>(nil)

    init(base: any MQTTSession, desk: CommandDesk) {
        self.base = base
        self.desk = desk
    }

    func will() -> OutboundMessage { base.will() }
    func births() -> [OutboundMessage] { base.births() }
    func farewell() -> [OutboundMessage] { base.farewell() }
    func stamp(_ message: OutboundMessage) -> [UInt8]? { base.stamp(message) }
    var subscriptions: [String] { base.subscriptions + desk.subscriptions }

    func attach(wake: @escaping @Sendable () -> Void) {
        self.wake.withLock { $0 = wake }
        base.attach(wake: wake)
    }

    func received(_ message: InboundMessage) -> [OutboundMessage] {
        let taken = desk.handle(message) { [weak self] messages in
            guard let self, !messages.isEmpty else { return }
            answers.withLock { $0 += messages }
            wake.withLock { $0 }?()
        }
        return taken ? [] : base.received(message)
    }

    func received(topic: String, payload: [UInt8]) -> [OutboundMessage] {
        received(InboundMessage(topic: topic, payload: payload))
    }

    func pending() -> [OutboundMessage] {
        let ready = answers.withLock { answers in
            defer { answers.removeAll() }
            return answers
        }
        return base.pending() + ready
    }
}
