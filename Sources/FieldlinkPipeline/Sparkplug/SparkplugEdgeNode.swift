import FieldlinkCore
import FieldlinkPayload
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The gateway as one Sparkplug B 3.0 edge node, its devices as Sparkplug devices.
///
/// Sparkplug is stateful where JSON and CBOR are not: a host application learns each metric's name
/// and datatype from a birth certificate (NBIRTH, DBIRTH) once per session and then reads data by
/// alias, and checks a node-wide `seq` (0–255) for gaps. So this object keeps what births need (the
/// metric definitions and each metric's last value) and the two counters:
/// - `bdSeq` numbers MQTT sessions: the NDEATH registered as the will at CONNECT and the NBIRTH
///   after it carry the same value, so a host can tell a stale death from a current one. It is kept
///   in the state directory, so a restart does not reuse the previous session's number.
/// - `seq` is stamped when a message is *sent* (`stamp`), not when it is encoded: a reading that
///   waited in the ring through an outage is numbered in the session that delivers it, after that
///   session's NBIRTH (seq 0) and DBIRTHs. Data is encoded without `seq`, and sending appends the
///   field (protobuf fields may come in any order, and a repeated-free scalar's last occurrence wins).
public final class SparkplugEdgeNode: Sendable {
    typealias DataType = SparkplugEncoding.DataType

    /// One metric as announced in a birth.
    struct MetricDefinition: Sendable, Equatable {
        var name: String
        var alias: UInt64
        /// nil: not declared by the driver; taken from the value at birth time.
        var declared: DataType?
        var unit: String?
    }

    struct DeviceDefinition: Sendable, Equatable {
        let metrics: [MetricDefinition]
        /// The reading's own sequence number, a metric too, so per-device gaps stay visible
        /// through store and forward (Sparkplug's `seq` restarts with every session).
        let sequenceAlias: UInt64
        /// Point name to its metric, so encoding a reading is one lookup per value.
        let byName: [String: MetricDefinition]

        init(metrics: [MetricDefinition], sequenceAlias: UInt64) {
            self.metrics = metrics
            self.sequenceAlias = sequenceAlias
            self.byName = Dictionary(metrics.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    struct LastValues: Sendable {
        var values: [String: Value] = [:]
        var errors: [String: String] = [:]
        var timestamp: Int64 = 0
        var sequence: UInt64 = 0
    }

    private struct State: Sendable {
        var devices: [String: DeviceDefinition] = [:]
        var order: [String] = []
        var last: [String: LastValues] = [:]
        /// Devices announced dead (DDEATH) since their last birth.
        var dead: Set<String> = []
        var bdSeq: UInt64 = 0
        var sessionStarted = false
        var seq: UInt64 = 0
        var datatypes: [String: [String: DataType]] = [:]
    }

    public let config: SparkplugConfig
    private let state: Mutex<State>
    private let rebirthPending = Atomic<Bool>(false)
    private let bdSeqFile: String?

    /// `stateDirectory`: where `bdSeq` survives a restart; nil keeps it in memory (tests).
    public init(config: SparkplugConfig, devices: [DeviceConfig], stateDirectory: String?) {
        self.config = config
        self.bdSeqFile = stateDirectory.map { "\($0)/sparkplug-bdseq" }
        var initial = State()
        if let file = bdSeqFile, let text = try? String(contentsOfFile: file, encoding: .utf8),
           let stored = UInt64(text.trimmingWhitespaceAndNewlines()) {
            initial.bdSeq = stored % 256
        }
        self.state = Mutex(initial)
        configure(devices: devices)
    }

    // MARK: Topics

    public func topic(_ type: String, device: String? = nil) -> String {
        let node = "\(SparkplugEncoding.namespace)/\(config.groupID)/\(type)/\(config.edgeNodeID)"
        return device.map { "\(node)/\($0)" } ?? node
    }

    public var commandTopic: String { topic("NCMD") }

    /// The metric a device's alias stands for (a DCMD may name metrics by alias).
    public func metricName(device: String, alias: UInt64) -> String? {
        state.withLock { $0.devices[device]?.metrics.first { $0.alias == alias }?.name }
    }

    // MARK: Definitions

    /// Aliases are numbered across the whole node (the specification wants them unique per edge
    /// node); a reload that changes any definition asks the connection for a rebirth.
    public func configure(devices: [DeviceConfig]) {
        let sparkplugDevices = devices.filter { $0.format == .sparkplugb }
        var definitions: [String: DeviceDefinition] = [:]
        var alias: UInt64 = 1
        for device in sparkplugDevices {
            var metrics: [MetricDefinition] = []
            for point in device.points {
                let declared = point.transform.isIdentity ? point.options.valueKind.map(SparkplugEncoding.dataType) : .double
                metrics.append(MetricDefinition(name: point.name, alias: alias, declared: declared, unit: point.unit))
                alias += 1
            }
            definitions[device.name] = DeviceDefinition(metrics: metrics, sequenceAlias: alias)
            alias += 1
        }
        let changed = state.withLock { state in
            let changed = state.devices != definitions
            state.devices = definitions
            state.order = sparkplugDevices.map(\.name)
            state.last = state.last.filter { definitions[$0.key] != nil }
            state.dead = state.dead.filter { definitions[$0] != nil }
            if changed { state.datatypes = [:] }
            return changed
        }
        if changed, state.withLock({ $0.sessionStarted }) { rebirthPending.store(true, ordering: .releasing) }
    }

    // MARK: Session lifecycle (called on the MQTT connection's thread)

    /// The NDEATH to register as the will of the next CONNECT. A session that got as far as its
    /// NBIRTH used its number up, so the next one counts on.
    public func will() -> OutboundMessage {
        state.withLock { state in
            if state.sessionStarted {
                state.bdSeq = (state.bdSeq + 1) % 256
                state.sessionStarted = false
            }
        }
        return death()
    }

    /// NDEATH with the current `bdSeq`: the will, and what a clean disconnect sends first.
    public func death() -> OutboundMessage {
        let bdSeq = state.withLock { $0.bdSeq }
        return Self.message(topic("NDEATH"), SparkplugEncoding.nodeDeath(bdSeq: bdSeq, at: Self.now()), qos: 1)
    }

    /// NBIRTH (seq 0) and a DBIRTH per device, with every metric's name, alias, datatype and last
    /// value: after every CONNECT, on a rebirth command, and after a reload changed the metrics.
    public func births() -> [OutboundMessage] {
        rebirthPending.store(false, ordering: .relaxed)
        let now = Self.now()
        let (messages, bdSeq, first) = state.withLock { state in
            let first = !state.sessionStarted
            state.sessionStarted = true
            state.seq = 0
            state.dead = []
            let node = SparkplugEncoding.nodeBirth(bdSeq: state.bdSeq, at: now, seq: Self.nextSeq(&state))
            var messages = [Self.message(topic("NBIRTH"), node, qos: 0)]
            for device in state.order {
                var birth = deviceBirth(device, state: &state, now: now)
                birth.payload = SparkplugEncoding.appending(seq: Self.nextSeq(&state), to: birth.payload)
                messages.append(birth)
            }
            return (messages, state.bdSeq, first)
        }
        // This number is used now: the next start of the process begins after it.
        if first, let bdSeqFile { try? "\((bdSeq + 1) % 256)\n".write(toFile: bdSeqFile, atomically: true, encoding: .utf8) }
        return messages
    }

    /// A reload changed the metric definitions: the connection sends births at its next turn.
    public func takeRebirthRequest() -> Bool {
        rebirthPending.load(ordering: .acquiring) && rebirthPending.exchange(false, ordering: .acquiringAndReleasing)
    }

    /// An NCMD: true when it asks for a rebirth (`Node Control/Rebirth` = true). Anything else is
    /// ignored: fieldlink has no writable metrics.
    public func isRebirthCommand(_ payload: [UInt8]) -> Bool {
        SparkplugEncoding.isRebirthCommand(payload)
    }

    /// Appends this session's next `seq` to a message on its way out; other topics pass unchanged.
    public func stamp(topic: String, payload: [UInt8]) -> [UInt8]? {
        guard topic.hasPrefix(SparkplugEncoding.namespace + "/") else { return nil }
        return SparkplugEncoding.appending(seq: state.withLock { Self.nextSeq(&$0) }, to: payload)
    }

    private static func nextSeq(_ state: inout State) -> UInt64 {
        defer { state.seq = (state.seq + 1) % 256 }
        return state.seq
    }

    // MARK: Device messages (called on the bus threads, through the pipeline)

    /// What to queue for a reading: a DBIRTH first when the device was declared dead, then its DDATA.
    /// A device the node does not define (a poll finishing just as a reload removed or added it)
    /// gives nothing: it has no aliases to send by, and its next birth will carry it.
    public func messages(for reading: Reading) -> (birth: OutboundMessage?, data: [UInt8]) {
        state.withLock { state in
            guard state.devices[reading.device] != nil else { return (nil, []) }
            var last = state.last[reading.device, default: LastValues()]
            for (name, value) in reading.values {
                last.values[name] = value
                last.errors[name] = nil
            }
            for (name, reason) in reading.errors {
                last.errors[name] = reason
                last.values[name] = nil
            }
            last.timestamp = reading.timestamp
            last.sequence = reading.sequence
            state.last[reading.device] = last
            var birth: OutboundMessage?
            if state.dead.contains(reading.device) {
                state.dead.remove(reading.device)
                birth = deviceBirth(reading.device, state: &state, now: UInt64(max(0, reading.timestamp)))
            }
            return (birth, data(reading, state: &state))
        }
    }

    /// DDATA without `seq` (see `stamp`): changed or polled metrics by alias, each with its own
    /// timestamp; a failed point as `is_null` with its reason in the `Quality`/`Error` properties.
    private func data(_ reading: Reading, state: inout State) -> [UInt8] {
        let definition = state.devices[reading.device]!
        let values = reading.values.compactMap { name, value -> (alias: UInt64, type: DataType, value: Value)? in
            guard let metric = definition.byName[name] else { return nil }
            return (metric.alias, datatype(of: metric, device: reading.device, value: value, state: &state), value)
        }
        let failures = reading.errors.compactMap { name, reason in definition.byName[name].map { (alias: $0.alias, reason: reason) } }
        return SparkplugEncoding.data(at: UInt64(max(0, reading.timestamp)), values: values, failures: failures,
                                      sequenceAlias: definition.sequenceAlias, sequence: reading.sequence,
                                      unsyncedTime: reading.hasUnsyncedTime)
    }

    /// A device that can no longer be read (DDEATH): sent when its health says nothing was read.
    public func deviceDeath(_ health: DeviceHealth) -> OutboundMessage? {
        let nothingRead = !health.ok && (health.lastSuccess ?? Int64.min) < health.since
        return state.withLock { state -> OutboundMessage? in
            guard nothingRead, state.devices[health.device] != nil, !state.dead.contains(health.device) else { return nil }
            state.dead.insert(health.device)
            return Self.message(topic("DDEATH", device: health.device), SparkplugEncoding.deviceDeath(at: UInt64(max(0, health.since))),
                                qos: config.dataQoS)
        }
    }

    private func deviceBirth(_ device: String, state: inout State, now: UInt64) -> OutboundMessage {
        let last = state.last[device]
        let definition = state.devices[device]!
        let metrics = definition.metrics.map { metric in
            let value = last?.values[metric.name]
            return SparkplugEncoding.BirthMetric(name: metric.name, alias: metric.alias,
                                                 type: datatype(of: metric, device: device, value: value, state: &state),
                                                 unit: metric.unit, value: value, reason: last?.errors[metric.name] ?? "not read yet")
        }
        let payload = SparkplugEncoding.deviceBirth(at: now, metricsAt: last.map { UInt64(max(0, $0.timestamp)) } ?? now, metrics: metrics,
                                                    sequenceAlias: definition.sequenceAlias, sequence: last?.sequence ?? 0)
        return Self.message(topic("DBIRTH", device: device), payload, qos: 0)
    }

    /// A metric's datatype is fixed by its birth: declared by the driver, or taken from the first
    /// value seen, and kept until the next rebirth.
    private func datatype(of metric: MetricDefinition, device: String, value: Value?, state: inout State) -> DataType {
        if let declared = metric.declared { return declared }
        if let known = state.datatypes[device]?[metric.name] { return known }
        let inferred = SparkplugEncoding.dataType(inferredFrom: value)
        if value != nil { state.datatypes[device, default: [:]][metric.name] = inferred }
        return inferred
    }

    /// Births, deaths and data are never retained: a host learns the state from births, not the broker.
    static func message(_ topic: String, _ payload: [UInt8], qos: Int) -> OutboundMessage {
        OutboundMessage(topic: topic, payload: payload, qos: qos, retain: false, contentType: SparkplugEncoding.contentType)
    }

    static func now() -> UInt64 {
        UInt64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
    }
}
