import Synchronization

/// Running totals for `fieldlink status` and the metrics textfile: polls and point errors per
/// device, line time per bus, MQTT publishes and acknowledgements per QoS, reconnects.
///
/// Written on the hot path (once per poll, once per publish), read when someone asks: a lock per
/// poll, atomics per message. Process-wide, like `HealthBoard`: one daemon per process.
public final class GatewayCounters: Sendable {
    public static let shared = GatewayCounters()

    public struct Device: Sendable, Equatable {
        /// Readings taken (polls, or stream readings), whatever their outcome.
        public var polls: UInt64 = 0
        /// Points that failed, summed over every reading.
        public var pointErrors: UInt64 = 0
        /// The last reading with at least one value, Unix milliseconds.
        public var lastGood: Int64?

        public init(polls: UInt64 = 0, pointErrors: UInt64 = 0, lastGood: Int64? = nil) {
            self.polls = polls
            self.pointErrors = pointErrors
            self.lastGood = lastGood
        }
    }

    public struct Bus: Sendable, Equatable {
        /// Time spent inside transactions on the line (polls and writes).
        public var busy: Duration = .zero
        /// Since when the bus has been running (its current owner: a reload that restarts it starts again).
        public var since: ContinuousClock.Instant

        public init(busy: Duration = .zero, since: ContinuousClock.Instant) {
            self.busy = busy
            self.since = since
        }
    }

    public struct Snapshot: Sendable {
        public var devices: [String: Device]
        public var buses: [String: Bus]
        /// Indexed by QoS (0, 1, 2).
        public var published: [UInt64]
        public var acknowledged: [UInt64]
        /// Successful connections after the first.
        public var reconnects: UInt64
        public var takenAt: ContinuousClock.Instant

        public init(devices: [String: Device] = [:], buses: [String: Bus] = [:], published: [UInt64] = [0, 0, 0],
                    acknowledged: [UInt64] = [0, 0, 0], reconnects: UInt64 = 0, takenAt: ContinuousClock.Instant = .now) {
            self.devices = devices
            self.buses = buses
            self.published = published
            self.acknowledged = acknowledged
            self.reconnects = reconnects
            self.takenAt = takenAt
        }
    }

    private struct State {
        var devices: [String: Device] = [:]
        var buses: [String: Bus] = [:]
    }

    private let state = Mutex(State())
    private let published0 = Atomic<UInt64>(0), published1 = Atomic<UInt64>(0), published2 = Atomic<UInt64>(0)
    private let acknowledged0 = Atomic<UInt64>(0), acknowledged1 = Atomic<UInt64>(0), acknowledged2 = Atomic<UInt64>(0)
    private let connections = Atomic<UInt64>(0)

    public init() {}

    /// A bus owner starts (at start, or when a reload restarts the bus).
    public func busStarted(_ bus: String) {
        state.withLock { $0.buses[bus] = Bus(since: .now) }
    }

    public func addLineTime(_ duration: Duration, bus: String) {
        state.withLock { $0.buses[bus, default: Bus(since: .now)].busy += duration }
    }

    /// One reading of `device`, as the bus owner hands it on.
    public func recordReading(device: String, pointErrors: Int, goodAt timestamp: Int64?) {
        state.withLock { state in
            state.devices[device, default: Device()].polls += 1
            state.devices[device, default: Device()].pointErrors += UInt64(pointErrors)
            if let timestamp { state.devices[device, default: Device()].lastGood = timestamp }
        }
    }

    /// Handed to the broker (a PUBLISH written or queued by libmosquitto).
    public func published(qos: Int) {
        switch qos {
        case 0: published0.add(1, ordering: .relaxed)
        case 1: published1.add(1, ordering: .relaxed)
        default: published2.add(1, ordering: .relaxed)
        }
    }

    /// PUBACK/PUBCOMP received (QoS 1/2), or on the socket (QoS 0).
    public func acknowledged(qos: Int) {
        switch qos {
        case 0: acknowledged0.add(1, ordering: .relaxed)
        case 1: acknowledged1.add(1, ordering: .relaxed)
        default: acknowledged2.add(1, ordering: .relaxed)
        }
    }

    /// The broker accepted a CONNECT.
    public func connected() {
        connections.add(1, ordering: .relaxed)
    }

    public func snapshot() -> Snapshot {
        let locked = state.withLock { $0 }
        let connections = self.connections.load(ordering: .relaxed)
        return Snapshot(devices: locked.devices, buses: locked.buses,
                        published: [published0.load(ordering: .relaxed), published1.load(ordering: .relaxed), published2.load(ordering: .relaxed)],
                        acknowledged: [acknowledged0.load(ordering: .relaxed), acknowledged1.load(ordering: .relaxed),
                                       acknowledged2.load(ordering: .relaxed)],
                        reconnects: connections > 0 ? connections - 1 : 0, takenAt: .now)
    }
}
