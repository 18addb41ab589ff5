import Synchronization

/// Cheap, thread-safe signs of life from the threads that do the work, read once a second by the
/// systemd watchdog and status line.
///
/// Each working thread (a bus loop, the MQTT connection) registers a `Heartbeat` while it runs
/// and bumps it every turn of its loop, including while it waits (its waits are bounded), so a
/// heartbeat that stops moving means a thread stuck inside a call. Device health and the broker
/// state are set on change only. Process-wide: one daemon per process.
public final class HealthBoard: Sendable {
    public static let shared = HealthBoard()

    /// One thread's beat counter; `beat()` is a relaxed atomic add, safe on the hot path.
    public final class Heartbeat: Sendable {
        public let name: String
        private let counter = Atomic<UInt64>(0)

        init(name: String) { self.name = name }

        public func beat() { counter.add(1, ordering: .relaxed) }
        public var count: UInt64 { counter.load(ordering: .relaxed) }
    }

    /// What the board says right now.
    public struct Snapshot: Sendable {
        /// Running threads and their beat counts, keyed by identity (names may repeat).
        public var heartbeats: [ObjectIdentifier: (name: String, count: UInt64)]
        /// Devices polled at least once: true when the last poll read every point.
        public var devices: [String: Bool]
        /// Devices not answering, polled only now and then until they do.
        public var backedOff: Set<String> = []
        /// The broker in use (URL) while connected; nil while not.
        public var broker: String?
    }

    private struct State {
        var heartbeats: [ObjectIdentifier: Heartbeat] = [:]
        var devices: [String: Bool] = [:]
        var backedOff: Set<String> = []
        var broker: String?
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers a thread that is starting; `unregister` it when the thread ends.
    public func register(_ name: String) -> Heartbeat {
        let heartbeat = Heartbeat(name: name)
        state.withLock { $0.heartbeats[ObjectIdentifier(heartbeat)] = heartbeat }
        return heartbeat
    }

    public func unregister(_ heartbeat: Heartbeat) {
        _ = state.withLock { $0.heartbeats.removeValue(forKey: ObjectIdentifier(heartbeat)) }
    }

    public func setDevice(_ name: String, ok: Bool) {
        state.withLock { $0.devices[name] = ok }
    }

    public func setDevice(_ name: String, backedOff: Bool) {
        state.withLock { state in
            if backedOff { state.backedOff.insert(name) } else { state.backedOff.remove(name) }
        }
    }

    /// The broker now connected (its URL), or nil when the connection is gone.
    public func setBroker(_ url: String?) {
        state.withLock { $0.broker = url }
    }

    public func snapshot() -> Snapshot {
        state.withLock { state in
            Snapshot(heartbeats: state.heartbeats.mapValues { ($0.name, $0.count) }, devices: state.devices, backedOff: state.backedOff,
                     broker: state.broker)
        }
    }
}
