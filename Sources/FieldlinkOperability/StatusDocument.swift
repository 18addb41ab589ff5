import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What the running daemon says about itself: `fieldlink status` prints it (as text, or as this
/// JSON with `--json`), and the metrics textfile renders the same numbers.
///
/// Keys are snake_case in JSON (`uptime_seconds`); durations are seconds, times are ages.
public struct StatusDocument: Codable, Sendable, Equatable {
    public var version: String
    public var gateway: String
    public var pid: Int32
    public var uptimeSeconds: Double
    public var broker: Broker
    public var buses: [Bus]
    public var devices: [Device]
    public var ring: Ring
    /// Whether the wall clock is synchronised, and the readings held until it is (see `TimeConfig`);
    /// nil from a daemon that does not say.
    public var clock: Clock?

    public struct Clock: Codable, Sendable, Equatable {
        public var synchronised: Bool
        public var heldReadings: Int

        public init(synchronised: Bool, heldReadings: Int) {
            self.synchronised = synchronised
            self.heldReadings = heldReadings
        }
    }

    public struct Broker: Codable, Sendable, Equatable {
        /// The broker connected to; the most preferred one while none is.
        public var url: String
        /// `connected` or `disconnected`.
        public var state: String
        /// Every broker of the config, in order of preference.
        public var configured: [String]
        /// Per QoS, "0", "1", "2": PUBLISHes handed to the broker, and what it acknowledged (at QoS 0,
        /// written to the socket).
        public var published: [String: UInt64]
        public var acknowledged: [String: UInt64]
        /// Successful connections after the first.
        public var reconnects: UInt64
    }

    public struct Bus: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        /// Line time used (inside transactions) as a fraction of wall time since the bus started.
        public var utilisation: Double
        public var busySeconds: Double
        public var runningSeconds: Double
    }

    public struct Device: Codable, Sendable, Equatable {
        public var name: String
        public var bus: String
        /// `ok`, `failing`, `backed off` (failing, and probed only now and then), or `not polled yet`.
        public var health: String
        /// nil until the first reading with a value.
        public var lastGoodAgeSeconds: Double?
        public var polls: UInt64
        public var pointErrors: UInt64
        public var backedOff: Bool
    }

    public struct Ring: Codable, Sendable, Equatable {
        /// Messages held until the broker acknowledges them (pending and in flight).
        public var messages: Int
        public var inFlight: Int
        public var bytes: Int
        /// nil when the ring is empty.
        public var oldestAgeSeconds: Double?
        /// Dropped because the ring was full or too old, since the ring was created.
        public var dropped: UInt64
    }

    /// Everything the daemon knows about the config's buses and devices, put together.
    public init(config: Config, version: String, pid: Int32, uptime: Duration, health: HealthBoard.Snapshot,
                counters: GatewayCounters.Snapshot, ring: RingStatistics, occupancy: RingOccupancy, now: Int64) {
        self.init(gateway: config.gateway.id, brokers: config.mqtt.brokers.map(\.url),
                  buses: config.buses.filter { !config.devices(on: $0).isEmpty }.map { ($0.name, $0.type) },
                  devices: config.devices.map { ($0.name, $0.bus) }, version: version, pid: pid, uptime: uptime, health: health,
                  counters: counters, ring: ring, occupancy: occupancy, now: now)
    }

    /// `brokers`: in order of preference. `now`: Unix milliseconds, for ages.
    public init(gateway: String, brokers: [String], buses: [(name: String, type: String)], devices: [(name: String, bus: String)],
                version: String, pid: Int32, uptime: Duration, health: HealthBoard.Snapshot, counters: GatewayCounters.Snapshot,
                ring: RingStatistics, occupancy: RingOccupancy, now: Int64) {
        self.version = version
        self.gateway = gateway
        self.pid = pid
        self.uptimeSeconds = uptime.seconds
        let qos = ["0", "1", "2"]
        broker = Broker(url: health.broker ?? brokers.first ?? "", state: health.broker == nil ? "disconnected" : "connected",
                        configured: brokers, published: Dictionary(uniqueKeysWithValues: zip(qos, counters.published)),
                        acknowledged: Dictionary(uniqueKeysWithValues: zip(qos, counters.acknowledged)), reconnects: counters.reconnects)
        self.buses = buses.map { bus in
            let counted = counters.buses[bus.name]
            let running = counted.map { (counters.takenAt - $0.since).seconds } ?? 0
            let busy = counted?.busy.seconds ?? 0
            return Bus(name: bus.name, type: bus.type, utilisation: running > 0 ? min(1, busy / running) : 0, busySeconds: busy,
                       runningSeconds: running)
        }
        self.devices = devices.map { device in
            let counted = counters.devices[device.name] ?? GatewayCounters.Device()
            let backedOff = health.backedOff.contains(device.name)
            let state = switch health.devices[device.name] {
            case true?: "ok"
            case false?: backedOff ? "backed off" : "failing"
            case nil: "not polled yet"
            }
            return Device(name: device.name, bus: device.bus, health: state,
                          lastGoodAgeSeconds: counted.lastGood.map { Double(max(0, now - $0)) / 1_000 }, polls: counted.polls,
                          pointErrors: counted.pointErrors, backedOff: backedOff)
        }
        self.ring = Ring(messages: ring.depth, inFlight: ring.inFlight, bytes: occupancy.bytes,
                         oldestAgeSeconds: occupancy.oldestAppendedAt.map { Double(max(0, now - $0)) / 1_000 }, dropped: ring.dropped)
    }

    public static func decode(_ data: Data) throws -> StatusDocument {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatusDocument.self, from: data)
    }

    public func json(pretty: Bool = true) -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Plain numbers, strings and optionals: encoding cannot fail.
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
