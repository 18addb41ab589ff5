import FieldlinkBuffer
import FieldlinkCore
import FieldlinkPayload
import Logging
import Synchronization

/// The middle of the data path: numbers a device's reading, encodes it and queues it for the broker.
///
/// Called on the bus's own thread right after a poll, so the occasional sequence-file write stays
/// off the cooperative pool.
final class TelemetryPipeline: ReadingSink {
    struct Route: Sendable {
        var topic: String
        var qos: Int
        var retain: Bool
    }

    /// Replaced whole on reload; read once per reading.
    private let routes: Mutex<[String: Route]>
    let sequences: SequenceStore
    let encoder: any PayloadEncoder
    let ring: any MessageRing
    let logger: Logger

    init(devices: [DeviceConfig], sequences: SequenceStore, encoder: any PayloadEncoder, ring: any MessageRing, logger: Logger) {
        self.routes = Mutex(Self.routes(for: devices))
        self.sequences = sequences
        self.encoder = encoder
        self.ring = ring
        self.logger = logger
    }

    private static func routes(for devices: [DeviceConfig]) -> [String: Route] {
        Dictionary(uniqueKeysWithValues: devices.map { ($0.name, Route(topic: $0.topic, qos: $0.qos, retain: $0.retain)) })
    }

    /// A reload's new topics, QoS and retain flags; readings from devices that are gone are dropped.
    func update(devices: [DeviceConfig]) {
        routes.withLock { $0 = Self.routes(for: devices) }
    }

    func deliver(_ reading: Reading) {
        guard let route = routes.withLock({ $0[reading.device] }) else {
            // A poll that finished just as a reload removed its device.
            logger.debug("reading from a device no longer configured; dropped", metadata: ["device": "\(reading.device)"])
            return
        }
        var reading = reading
        let (sequence, persistError) = sequences.next(for: reading.device)
        if let persistError {
            logger.error("\(persistError); sequence numbers may repeat after a crash", metadata: ["device": "\(reading.device)"])
        }
        reading.sequence = sequence
        ring.append(OutboundMessage(topic: route.topic, payload: encoder.encode(reading), qos: route.qos,
                                    retain: route.retain, contentType: encoder.contentType))
        // After the append: a line here means the reading is in the ring (tests count on that).
        logger.trace("queued", metadata: ["device": "\(reading.device)", "seq": "\(sequence)"])
    }
}
