import FieldlinkCore
import FieldlinkPayload
import Logging
import Synchronization

/// The middle of the data path: numbers a device's reading, encodes it and queues it for the broker.
///
/// Called on the bus's own thread right after a poll, so the occasional sequence-file write stays
/// off the cooperative pool.
public final class TelemetryPipeline: ReadingSink {
    /// Where one device's messages go: its own topic, and the points that have a topic of their own.
    struct DeviceRoutes: Sendable {
        var device: PublishRoute
        var points: [String: PublishRoute]
        var encoder: any PayloadEncoder
        var report: ReportPolicy
        var batch: BatchPolicy?
    }

    /// Replaced whole on reload; read once per reading.
    private let routes: Mutex<[String: DeviceRoutes]>
    private let statusTopic: Mutex<String>
    /// Report-by-exception state per device; it outlives a reload, so a reload sends no burst.
    private let filters = Mutex<[String: ReportFilter]>([:])
    /// Readings waiting to go out together, per topic and format (devices with `batch:` only):
    /// devices that share a topic share its batches.
    private let batches = Mutex<[String: PendingBatch]>([:])
    /// Told when a batch starts filling, so the `BatchFlusher` sleeps while no batch is in the making.
    let batchStarts: AsyncStream<Void>
    private let batchStarted: AsyncStream<Void>.Continuation

    private struct PendingBatch {
        var batcher = Batcher<Reading>()
        /// Where the batch goes and how it is encoded: the routes of the device that started it.
        var routes: DeviceRoutes
    }
    let sequences: SequenceStore
    let ring: any MessageRing
    /// The Sparkplug B edge node, when the config has a `sparkplug:` section.
    public let sparkplug: SparkplugEdgeNode?
    let logger: Logger

    /// `sparkplug`: the edge node of the `sparkplugb` devices; required when there are any.
    public init(devices: [DeviceConfig], statusTopic: String, sparkplug: SparkplugEdgeNode?, sequences: SequenceStore,
                ring: any MessageRing, logger: Logger) {
        self.sparkplug = sparkplug
        self.routes = Mutex(Self.routes(for: devices, sparkplug: sparkplug, ring: ring))
        self.statusTopic = Mutex(statusTopic)
        self.sequences = sequences
        self.ring = ring
        self.logger = logger
        (batchStarts, batchStarted) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        describe(devices)
    }

    /// The daemon's pipeline: the Sparkplug edge node keeps its `bdSeq` in the state directory.
    public convenience init(config: Config, sequences: SequenceStore, ring: any MessageRing, logger: Logger) {
        let node = config.sparkplug.map {
            SparkplugEdgeNode(config: $0, devices: config.devices, stateDirectory: config.gateway.stateDirectory)
        }
        self.init(devices: config.devices, statusTopic: config.mqtt.statusTopic, sparkplug: node, sequences: sequences, ring: ring,
                  logger: logger)
    }

    /// Names, units and types of JSON and CBOR devices, retained next to their data (Sparkplug
    /// devices say it in their births).
    private func describe(_ devices: [DeviceConfig]) {
        for device in devices where device.format != .sparkplugb {
            ring.append(OutboundMessage(topic: device.topic + "/meta", payload: JSONPayloadEncoder().encode(description: device), qos: 1,
                                        retain: true, contentType: "application/json"))
        }
    }

    private static func routes(for devices: [DeviceConfig], sparkplug: SparkplugEdgeNode?,
                               ring: any MessageRing) -> [String: DeviceRoutes] {
        Dictionary(uniqueKeysWithValues: devices.map { device in
            let own = device.points.compactMap { point in point.ownRoute.map { (point.name, $0) } }
            var route = PublishRoute(topic: device.topic, qos: device.qos, retain: device.retain)
            let encoder: any PayloadEncoder
            switch (device.format, sparkplug) {
            case (.json, _): encoder = JSONPayloadEncoder()
            case (.cbor, _): encoder = CBORPayloadEncoder()
            case (.sparkplugb, let node?):
                route = PublishRoute(topic: node.topic("DDATA", device: device.name), qos: node.config.dataQoS, retain: false)
                encoder = SparkplugDataEncoder(node: node) { ring.append($0) }
            case (.sparkplugb, nil):
                preconditionFailure("the config loader requires a sparkplug: section for sparkplugb devices")
            }
            return (device.name, DeviceRoutes(device: route, points: device.format == .sparkplugb ? [:] : Dictionary(uniqueKeysWithValues: own),
                                              encoder: encoder, report: device.report, batch: device.batch))
        })
    }

    /// A reload's new topics, QoS and retain flags; readings from devices that are gone are dropped.
    /// Batches in the making go out first, under the settings they were made with.
    public func update(devices: [DeviceConfig], statusTopic: String) {
        flushAll()
        sparkplug?.configure(devices: devices)
        routes.withLock { $0 = Self.routes(for: devices, sparkplug: sparkplug, ring: ring) }
        describe(devices)
        self.statusTopic.withLock { $0 = statusTopic }
    }

    public func deliver(_ reading: Reading) {
        guard let routes = routes.withLock({ $0[reading.device] }) else {
            // A poll that finished just as a reload removed its device.
            logger.debug("reading from a device no longer configured; dropped", metadata: ["device": "\(reading.device)"])
            return
        }
        // On-change reporting: what did not change (enough) is not published, and takes no seq.
        guard var reading = filters.withLock({ $0[reading.device, default: ReportFilter()].apply(reading, policy: routes.report) }) else {
            return
        }
        let (sequence, persistError) = sequences.next(for: reading.device)
        if let persistError {
            logger.error("\(persistError); sequence numbers may repeat after a crash", metadata: ["device": "\(reading.device)"])
        }
        reading.sequence = sequence
        if routes.points.isEmpty {
            queue(reading, of: routes)
        } else {
            // Points with a route of their own go as their own messages, with the poll's ts and seq.
            var shared = reading
            shared.values.removeAll { routes.points[$0.name] != nil }
            shared.errors.removeAll { routes.points[$0.name] != nil }
            if !shared.values.isEmpty { queue(shared, of: routes) }
            for (name, route) in routes.points {
                var own = reading
                own.values = reading.values.filter { $0.name == name }
                own.errors = reading.errors.filter { $0.name == name }
                if !own.values.isEmpty { queue(own, on: route, encoder: routes.encoder) }
            }
        }
        // After the append: a line here means the reading is in the ring (tests count on that).
        logger.trace("queued", metadata: ["device": "\(reading.device)", "seq": "\(sequence)"])
    }

    public func healthChanged(_ health: DeviceHealth) {
        if let death = sparkplug?.deviceDeath(health) {
            ring.append(death)
        }
        let topic = statusTopic.withLock { $0 } + "/" + health.device
        ring.append(OutboundMessage(topic: topic, payload: JSONPayloadEncoder().encode(health: health), qos: 1, retain: true,
                                    contentType: "application/json"))
    }

    /// The device's own message: at once, or into its batch.
    private func queue(_ reading: Reading, of routes: DeviceRoutes) {
        guard let policy = routes.batch else {
            queue(reading, on: routes.device, encoder: routes.encoder)
            return
        }
        let size = routes.encoder.batchSize(of: reading)
        let key = routes.encoder.contentType + " " + routes.device.topic
        let (ready, started) = batches.withLock { batches in
            let started = batches[key]?.batcher.isEmpty ?? true
            // Monotonic when stamped, so a clock step neither holds a batch back nor sends it early.
            let ready = batches[key, default: PendingBatch(routes: routes)].batcher.add(reading, size: size, takenAt: reading.time?.monotonic ?? reading.timestamp,
                                                                                        policy: policy)
            return (ready, started)
        }
        if started { batchStarted.yield() }
        for batch in ready { queue(batch: batch, of: routes) }
    }

    private func queue(batch: [Reading], of routes: DeviceRoutes) {
        queue(routes.encoder.encode(batch: batch), on: routes.device, encoder: routes.encoder, sequence: Self.sequence(of: batch.last),
              time: batch.first?.time)
    }

    /// Wakes the `BatchFlusher` (at shutdown, so it sees it).
    func wakeFlusher() { batchStarted.yield() }

    /// True while some batch holds readings: the flusher then looks for due ones a few times a second.
    var hasBatchesInTheMaking: Bool {
        batches.withLock { $0.values.contains { !$0.batcher.isEmpty } }
    }

    /// Batches whose oldest reading has waited `max_delay` (called a few times a second); `now` in
    /// the readings' monotonic milliseconds (their wall ms when unstamped).
    public func flushDue(now: Int64) {
        let due = batches.withLock { batches in
            batches.keys.compactMap { key -> ([Reading], DeviceRoutes)? in
                guard let routes = batches[key]?.routes, let policy = routes.batch,
                      let batch = batches[key]?.batcher.flushIfDue(now: now, policy: policy) else { return nil }
                return (batch, routes)
            }
        }
        for (batch, routes) in due { queue(batch: batch, of: routes) }
    }

    /// Every batch in the making (shutdown, reload).
    public func flushAll() {
        let all = batches.withLock { batches in
            defer { batches.removeAll() }
            return batches.values.compactMap { pending in pending.batcher.isEmpty ? nil : (pending.batcher, pending.routes) }
        }
        for (var batcher, routes) in all {
            if let batch = batcher.flush() { queue(batch: batch, of: routes) }
        }
    }

    private func queue(_ reading: Reading, on route: PublishRoute, encoder: any PayloadEncoder) {
        queue(encoder.encode(reading), on: route, encoder: encoder, sequence: Self.sequence(of: reading), time: reading.time)
    }

    private static func sequence(of reading: Reading?) -> MessageSequence? {
        guard let reading, reading.sequence > 0 else { return nil }
        return MessageSequence(device: reading.device, number: reading.sequence)
    }

    /// An empty payload is an encoder saying there is nothing to send (see `SparkplugEdgeNode.messages`).
    private func queue(_ payload: [UInt8], on route: PublishRoute, encoder: any PayloadEncoder, sequence: MessageSequence?, time: TimeStamp?) {
        guard !payload.isEmpty else { return }
        ring.append(OutboundMessage(topic: route.topic, payload: payload, qos: route.qos, retain: route.retain, contentType: encoder.contentType,
                                    sequence: sequence, time: time))
    }
}
