import CMosquitto
import FieldlinkCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a connection tells the publisher service. Acknowledgements never travel this way: they go
/// from libmosquitto's callback straight into the ring, on the connection's own thread.
enum ConnectionEvent: Sendable {
    case connected
    /// The broker answered CONNECT with a refusal (bad credentials, not authorised, ...).
    case refused(reason: String)
    /// The connection ended, or never came up; its thread is gone. `silentFor`: how long before the
    /// end the broker was last heard from (or the attempt began), so a silent broker's time counts
    /// towards failover from when it fell silent, not from when that was noticed.
    case closed(reason: String, wasConnected: Bool, silentFor: Duration, failure: ConnectionFailure?)
}

/// Failures the publisher answers with more than a retry.
enum ConnectionFailure: Sendable, Equatable {
    /// The broker refused the protocol version, closed the socket before its CONNACK, or sent none
    /// within connect_timeout: with `version: auto`, the other version is tried.
    case noMQTTAnswer
    /// The broker answered a QoS 2 PUBLISH with PUBACK (RabbitMQ): QoS 2 messages to the named
    /// topics go at QoS 1 on this broker from now on.
    case brokenQoS2(topics: [String])
}

/// The publisher's handle on whichever connection thread is running: wake it when the ring has
/// work, ask it to drain and disconnect, or to disconnect now. Safe from any thread.
final class ConnectionControl: Sendable {
    enum Command: Int { case run = 0, drain = 1, stop = 2 }

    /// An eventfd the connection thread polls beside the broker's socket.
    let wakeFD: Int32
    private let command = Atomic<Int>(Command.run.rawValue)
    private let drainDeadline = Atomic<Int64>(0)

    init() throws(MQTTError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw MQTTError(returnCode: MOSQ_ERR_ERRNO.rawValue, operation: "eventfd") }
        wakeFD = fd
    }

    deinit { close(wakeFD) }

    /// The ring has records to send (`eventfd_write`).
    func wake() {
        _ = eventfd_write(wakeFD, 1)
    }

    /// Clears a pending wake-up (`eventfd_read`).
    func consumeWake() {
        var value: eventfd_t = 0
        _ = eventfd_read(wakeFD, &value)
    }

    /// Send what the ring holds, then disconnect cleanly; disconnect anyway after `timeout`.
    func drain(within timeout: Duration) {
        drainDeadline.store(Self.uptime() + timeout.milliseconds * 1_000_000, ordering: .relaxed)
        command.store(Command.drain.rawValue, ordering: .releasing)
        wake()
    }

    func stop() {
        command.store(Command.stop.rawValue, ordering: .releasing)
        wake()
    }

    /// A fresh connection starts in `run`.
    func reset() {
        command.store(Command.run.rawValue, ordering: .releasing)
    }

    var current: Command { Command(rawValue: command.load(ordering: .acquiring)) ?? .run }
    var drainExpired: Bool { Self.uptime() >= drainDeadline.load(ordering: .relaxed) }

    static func uptime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
