#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A validated configuration: if you hold one, every value in it was checked.
public struct Config: Sendable {
    public var file: String
    /// Worth telling the user, not worth refusing the config for (e.g. a world-readable password).
    public var warnings: [ConfigProblem] = []
    public var gateway: GatewayConfig
    public var mqtt: MQTTConfig
    public var buffer: BufferConfig
    public var buses: [BusConfig]
    public var devices: [DeviceConfig]
    /// Checked but left out of the run (`enabled: false`; a disabled bus takes its devices along).
    public var disabledBuses: [String] = []
    public var disabledDevices: [String] = []
    /// Set when a device publishes `sparkplugb`: the edge node those devices belong to.
    public var sparkplug: SparkplugConfig? = nil
    /// `homeassistant:`; nil when the section is absent.
    public var homeAssistant: HomeAssistantConfig? = nil
    /// `metrics:`; nil when the section is absent.
    public var metrics: MetricsConfig? = nil
    /// `time:`: readings taken before the clock is synchronised.
    public var time = TimeConfig()

    /// Where `devices:` stands, to point at it when it is empty.
    public var devicesLocation: ConfigLocation? = nil

    /// Why the gateway would have nothing to do (`devices: []`), for `check`, `run` and a reload;
    /// nil otherwise. Devices that are all `enabled: false` were turned off on purpose and pass.
    /// The commissioning commands (`probe --bus`, `scan`) take a config with buses only.
    public var nothingToRun: ConfigProblem? {
        guard devices.isEmpty, disabledDevices.isEmpty else { return nil }
        return ConfigProblem(location: devicesLocation ?? ConfigLocation(file: file, line: 1, column: 1), path: "devices",
                             message: "no device is configured, so the gateway would publish nothing: add one (fieldlink reference lists the keys)")
    }

    public func devices(on bus: BusConfig) -> [DeviceConfig] {
        devices.filter { $0.bus == bus.name }
    }
}

public struct GatewayConfig: Sendable {
    public var id: String
    /// Holds what must survive a restart (sequence numbers, later the ring).
    public var stateDirectory: String

    public static let defaultStateDirectory = "/var/lib/fieldlink"
}

/// How a reading is put into bytes.
public enum PayloadFormat: String, Sendable, Hashable, CaseIterable {
    case json, cbor, sparkplugb
}

/// The Sparkplug B edge node this gateway is (`sparkplug:`): its devices publish on
/// `spBv1.0/{group_id}/DDATA/{edge_node_id}/{device}`, and its life is told by NBIRTH/NDEATH.
public struct SparkplugConfig: Sendable, Hashable {
    public var groupID: String
    public var edgeNodeID: String
    /// The specification says QoS 0 for data (the default); 1 makes the broker acknowledge every
    /// DDATA, so the ring keeps it until the broker has it, at the price of a PUBACK each.
    public var dataQoS: Int

    public static let defaultDataQoS = 0
    /// QoS 2 is not allowed for Sparkplug data.
    public static let dataQoSRange = 0...1

    public init(groupID: String, edgeNodeID: String, dataQoS: Int = SparkplugConfig.defaultDataQoS) {
        self.groupID = groupID
        self.edgeNodeID = edgeNodeID
        self.dataQoS = dataQoS
    }
}

/// When messages are written to disk.
public enum Durability: String, Sendable, CaseIterable {
    /// In memory while the broker is reachable; to disk when it is not, when memory is full, at shutdown.
    case spill
    /// Every message goes through the disk ring (survives a crash, costs SD-card writes).
    case always
}

public struct BufferConfig: Sendable {
    /// Messages held in memory (spill mode) before they spill to disk; nil: the MQTT in-flight
    /// window, so a crash while online loses at most what the broker had not acknowledged yet.
    public var memoryMessages: Int?
    /// Disk ring size; past it the oldest segment is dropped and counted.
    public var maxBytes = BufferConfig.defaultMaxBytes
    /// Older messages are dropped and counted; nil keeps them until `maxBytes` forces them out.
    public var maxAge: Duration? = BufferConfig.defaultMaxAge
    public var durability = BufferConfig.defaultDurability
    /// Group commit: how often appended records are fsynced.
    public var syncInterval = BufferConfig.defaultSyncInterval
    /// Messages per second at most while replaying a backlog from disk.
    public var replayRate = BufferConfig.defaultReplayRate

    public init() {}

    public static let defaultMaxBytes = 64 << 20
    /// A ring smaller than a few segments could not hold one outage's worth of readings.
    public static let minimumMaxBytes = 64 << 10
    public static let defaultMaxAge = Duration.seconds(7 * 86_400)
    public static let minimumMaxAge = Duration.seconds(1)
    public static let defaultDurability = Durability.spill
    public static let defaultSyncInterval = Duration.seconds(1)
    /// A shorter group commit is an fsync per record on an SD card.
    public static let minimumSyncInterval = Duration.milliseconds(10)
    public static let defaultReplayRate = 2_000
    public static let replayRateRange = 1...1_000_000
    public static let memoryMessagesRange = 1...10_000_000
}

/// What a driver family reads from a bus entry beyond name and type.
public protocol BusOptions: Sendable, Hashable, CustomStringConvertible {
    /// The physical thing the bus owns (a serial port, an I2C adapter), so the loader can refuse
    /// two buses on one line: each has its own owner thread, and their transactions would collide.
    /// nil when nothing local is owned (a TCP connection).
    var physicalResource: String? { get }
    /// The bus entry's key that names `physicalResource` (`port`, or `device` for I2C), where a
    /// second bus on the same line is reported.
    var physicalResourceKey: String { get }
}

extension BusOptions {
    public var physicalResource: String? { nil }
    public var physicalResourceKey: String { "port" }
}
/// What a driver family reads from a device entry beyond the common keys.
public protocol DeviceOptions: Sendable, Hashable, CustomStringConvertible {}
/// What a driver family reads from a point entry beyond the common keys.
public protocol PointOptions: Sendable, Hashable, CustomStringConvertible {
    /// What the point's raw value is, when the family knows before the first poll (a register's
    /// type does; a parsed text field may not). Formats that declare types up front use it
    /// (Sparkplug B's birth certificates); nil lets them infer it from the values.
    var valueKind: ValueKind? { get }
    /// The unit a point has when its entry gives none (an I2C chip knows what it measures in).
    var defaultUnit: String? { get }
    /// Why `writable: true` is refused for this point (a read-only table, a family that does not
    /// write); nil when it can be written.
    var writeRefusal: String? { get }
    /// The raw type a command's value is fitted to (write-back); the family's `valueKind` unless it
    /// knows more about its writable points than it declares to the payload formats.
    var writeKind: ValueKind? { get }
}

extension PointOptions {
    public var valueKind: ValueKind? { nil }
    public var defaultUnit: String? { nil }
    public var writeRefusal: String? { "this bus family does not write points" }
    public var writeKind: ValueKind? { valueKind }
}

public struct BusConfig: Sendable {
    public var name: String
    public var type: String
    public var options: any BusOptions
    public var location: ConfigLocation
    /// `enabled: false`: checked, not run.
    public var enabled = true
}

public struct DeviceConfig: Sendable {
    public var name: String
    public var bus: String
    public var interval: Duration
    /// Rendered from the topic template with this device's names.
    public var topic: String
    public var qos: Int
    public var retain: Bool
    /// `payload.format`, or the device's own `format`.
    public var format: PayloadFormat = .json
    /// Every poll (default), or only what changed (`report: on-change`, `deadband`, `heartbeat`).
    public var report: ReportPolicy = .everyPoll
    /// Several polls per message; nil sends each poll at once.
    public var batch: BatchPolicy?
    public var options: any DeviceOptions
    public var points: [PointConfig]
    public var location: ConfigLocation
    /// The device profile its points come from (`profile:`), if any.
    public var profile: ProfileReference? = nil
    /// `enabled: false`: checked, not run.
    public var enabled = true
    /// How its writable points take commands (`accept_retained`, `command_max_age`, `command_results`).
    public var commands = CommandPolicy()

    /// Whether any point is writable: only then are command topics subscribed.
    public var isWritable: Bool { points.contains { $0.write != nil } }

    /// A poll faster than this is a typo (`10` for `10s`), not a plan.
    public static let minimumInterval = Duration.milliseconds(10)
    public static let defaultQoS = 1
    /// A device's and a point's `qos:`.
    public static let qosRange = 0...2
    public static let minimumHeartbeat = Duration.seconds(1)

    /// For tools and benchmarks that describe a device without a config file.
    public init(name: String, bus: String, interval: Duration, topic: String, qos: Int, retain: Bool, format: PayloadFormat = .json,
                report: ReportPolicy = .everyPoll, batch: BatchPolicy? = nil, options: any DeviceOptions, points: [PointConfig],
                location: ConfigLocation, profile: ProfileReference? = nil) {
        self.name = name
        self.bus = bus
        self.interval = interval
        self.topic = topic
        self.qos = qos
        self.retain = retain
        self.format = format
        self.report = report
        self.batch = batch
        self.options = options
        self.points = points
        self.location = location
        self.profile = profile
    }
}

/// Which profile file a device's points came from, for `check` and for error messages.
public struct ProfileReference: Sendable, Hashable {
    public var name: String
    public var file: String
    /// The profile's `model:`, e.g. "Eastron SDM120-Modbus".
    public var model: String
    /// The profile's `manufacturer:`, e.g. "Eastron"; nil when the profile does not say.
    public var manufacturer: String?

    public init(name: String, file: String, model: String, manufacturer: String? = nil) {
        (self.name, self.file, self.model, self.manufacturer) = (name, file, model, manufacturer)
    }
}

/// Where a point was declared: shown by `check`, so a user sees what a profile contributed.
public enum PointOrigin: String, Sendable, Hashable {
    case config
    case profile
    /// A profile's point with some keys changed by the device's own entry of the same name.
    case profileOverridden = "profile, overridden"
}

/// Where a message goes and how: a device's, or a point's own.
public struct PublishRoute: Sendable, Hashable {
    public var topic: String
    public var qos: Int
    public var retain: Bool

    public init(topic: String, qos: Int, retain: Bool) {
        self.topic = topic
        self.qos = qos
        self.retain = retain
    }
}

public struct PointConfig: Sendable {
    public var name: String
    public var unit: String?
    public var transform: LinearTransform
    public var options: any PointOptions
    public var location: ConfigLocation
    /// Set when the point has its own `topic`, `qos` or `retain`: it is then published as its own message.
    public var ownRoute: PublishRoute?
    /// Overrides the device's deadband for this point (on-change reporting).
    public var deadband: Deadband?
    /// `map:`: raw integers to the labels published instead (status registers).
    public var labels: [Int64: String]? = nil
    public var origin: PointOrigin = .config
    /// Set for `writable: true`: the point takes commands within these limits; nil is read-only.
    public var write: WriteLimits? = nil

    /// Decimal places a point may publish (`precision:`); more than a double holds is noise.
    public static let precisionRange = 0...12

    /// Raw value to published value, as every family applies it.
    public var conversion: PointConversion { PointConversion(transform: transform, labels: labels) }

    public init(name: String, unit: String? = nil, transform: LinearTransform = .identity, options: any PointOptions,
                location: ConfigLocation, ownRoute: PublishRoute? = nil, deadband: Deadband? = nil,
                labels: [Int64: String]? = nil, origin: PointOrigin = .config) {
        self.name = name
        self.unit = unit
        self.transform = transform
        self.options = options
        self.location = location
        self.ownRoute = ownRoute
        self.deadband = deadband
        self.labels = labels
        self.origin = origin
    }
}

extension ReportPolicy {
    /// This policy with the points' own deadbands filled in.
    func with(pointDeadbands points: [PointConfig]) -> ReportPolicy {
        var policy = self
        for point in points {
            if let deadband = point.deadband { policy.pointDeadbands[point.name] = deadband }
        }
        return policy
    }
}

// MARK: Comparing configs on reload

extension BusConfig {
    /// The same bus as far as running it goes; where it stands in the file does not matter.
    public func sameSettings(as other: BusConfig) -> Bool {
        name == other.name && type == other.type && AnyHashable(options) == AnyHashable(other.options)
    }
}

extension DeviceConfig {
    public func sameSettings(as other: DeviceConfig) -> Bool {
        name == other.name && bus == other.bus && interval == other.interval && topic == other.topic && qos == other.qos
            && retain == other.retain && format == other.format && report == other.report && batch == other.batch
            && AnyHashable(options) == AnyHashable(other.options) && profile == other.profile && commands == other.commands
            && points.count == other.points.count && zip(points, other.points).allSatisfy { $0.sameSettings(as: $1) }
    }
}

extension PointConfig {
    public func sameSettings(as other: PointConfig) -> Bool {
        name == other.name && unit == other.unit && transform == other.transform && AnyHashable(options) == AnyHashable(other.options)
            && ownRoute == other.ownRoute && deadband == other.deadband && labels == other.labels && write == other.write
    }
}

extension BatchPolicy {
    /// `batch: {max_messages}`'s bounds; the defaults are `BatchPolicy.init`'s.
    public static let maxMessagesRange = 1...10_000
    /// Shorter than a poll's own jitter, a batch would not batch.
    public static let minimumMaxDelay = Duration.milliseconds(10)
    /// Room for at least one reading's message.
    public static let minimumMaxBytes = 256
}
