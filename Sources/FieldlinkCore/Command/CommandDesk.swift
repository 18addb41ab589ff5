import Logging
import Synchronization

/// Where MQTT commands meet the buses (write-back): which topics are command topics, what a
/// command's payload says, whether it is taken at all (retained, expired), which bus thread runs
/// it, and what is answered, where.
///
/// The topics are exactly `{device topic}/set/{point}` for each writable point and
/// `{device topic}/set` for each device that has one; nothing else is subscribed. Every check of
/// the values themselves is the bus owner's, on the bus thread, so `fieldlink write` and MQTT make
/// the same ones. Nothing here is kept across a connection: a command is answered or dropped.
public final class CommandDesk: Sendable {
    private struct Target: Sendable {
        var device: DeviceConfig
        /// nil: the device's `set` topic, a JSON object of several points.
        var point: String?
        var inbox: WriteInbox
        /// Set for another format's command topic (Sparkplug DCMD): how its payload names points.
        var format: CommandFormat?
    }

    private let targets = Mutex<[String: Target]>([:])
    private let formats: [CommandFormat]
    private let logger: Logger

    /// `formats`: command topics of payload formats beside the `set` topics (Sparkplug's DCMD).
    public init(formats: [CommandFormat] = [], logger: Logger) {
        self.formats = formats
        self.logger = logger
    }

    /// The devices and the inbox of each one's bus (by bus name), at start and after a reload.
    public func update(devices: [DeviceConfig], inboxes: [String: WriteInbox]) {
        var table: [String: Target] = [:]
        for device in devices where device.isWritable {
            guard let inbox = inboxes[device.bus] else { continue }
            table["\(device.topic)/set"] = Target(device: device, point: nil, inbox: inbox)
            for point in device.points where point.write != nil {
                table["\(device.topic)/set/\(point.name)"] = Target(device: device, point: point.name, inbox: inbox)
            }
            for format in formats {
                if let topic = format.topic(device) { table[topic] = Target(device: device, point: nil, inbox: inbox, format: format) }
            }
        }
        targets.withLock { $0 = table }
    }

    /// Every command topic, sorted.
    public var subscriptions: [String] { targets.withLock { $0.keys.sorted() } }

    /// Takes a message if it is on a command topic (false: not a command, someone else's). The
    /// answers come later, on the bus thread, through `answer`.
    public func handle(_ message: InboundMessage, now: ContinuousClock.Instant = .now, answer: @escaping @Sendable ([OutboundMessage]) -> Void) -> Bool {
        guard let target = targets.withLock({ $0[message.topic] }) else { return false }
        let device = target.device
        if message.retained, !device.commands.acceptRetained {
            audit(device: device.name, point: target.point ?? "*", value: message.payload, topic: message.topic,
                  result: "ignored: retained (set accept_retained: true on the device to execute retained commands)")
            return true
        }
        // What clears a retained command on the broker arrives as an empty message: nothing to do.
        if message.payload.isEmpty {
            audit(device: device.name, point: target.point ?? "*", value: [], topic: message.topic, result: "ignored: empty payload")
            return true
        }
        let parsed = if let format = target.format {
            format.decode(device, message.payload)
        } else {
            target.point.map { point in CommandPayload.scalar(message.payload).map { [(point, $0)] } } ?? CommandPayload.object(message.payload)
        }
        // A payload that is not a command still goes to the bus owner, which refuses, audits and counts it.
        let values: [(point: String, value: Value)], refusal: String?
        switch parsed {
        case .success(let parsed): (values, refusal) = (parsed, nil)
        case .failure(let error):
            // A binary payload (Sparkplug) is shown by its size; text as it came, cut short.
            let shown = target.format == nil ? String(decoding: message.payload.prefix(200), as: UTF8.self) : "<\(message.payload.count) bytes>"
            (values, refusal) = ([(target.point ?? "*", .string(shown))], error.description)
        }
        // MQTT 5's expiry, where the sender gave one, says how long the command stays valid.
        let deadline = now + (message.expiry ?? device.commands.maxAge)
        var request = WriteRequest(device: device.name, values: values, deadline: deadline, source: message.topic)
        request.refusal = refusal
        let single = target.point
        target.inbox.submit(WriteJob(request: request) { [self] results in
            let json = if let refusal, single == nil {
                CommandAnswer.json(error: refusal, point: nil)
            } else {
                single != nil && results.count == 1 ? CommandAnswer.json(results[0]) : CommandAnswer.json(results)
            }
            let perPoint = results.filter { $0.point != "*" }.map { ($0.point, CommandAnswer.json($0)) }
            answer(answers(for: message, device: device, single: single, json: json, perPoint: perPoint))
        })
        return true
    }

    /// The answer on the command's Response Topic (MQTT 5, with its Correlation Data), and each
    /// point's on `{device topic}/set/{point}/result` when the device has `command_results: true`.
    private func answers(for message: InboundMessage, device: DeviceConfig, single: String?, json: String,
                         perPoint: [(point: String, json: String)]) -> [OutboundMessage] {
        var out: [OutboundMessage] = []
        if let topic = message.responseTopic {
            out.append(OutboundMessage(topic: topic, payload: Array(json.utf8), qos: 1, retain: false, contentType: "application/json",
                                       correlationData: message.correlationData))
        }
        if device.commands.results {
            for (point, json) in perPoint {
                out.append(OutboundMessage(topic: "\(device.topic)/set/\(point)/result", payload: Array(json.utf8), qos: 1, retain: false,
                                           contentType: "application/json"))
            }
        }
        return out
    }

    /// A command that never reached a bus: one audit line, as the bus owner writes for the others.
    private func audit(device: String, point: String, value: [UInt8], topic: String, result: String) {
        let text = String(decoding: value.prefix(200), as: UTF8.self)
        logger.warning("command on \(topic) \(result)",
                       metadata: ["device": "\(device)", "point": "\(point)", "value": "\(text)", "result": "\(result)", "topic": "\(topic)"])
    }
}

/// A payload format's own command topic (Sparkplug B's DCMD): which topic a device takes commands
/// on in it, and how a payload there names points and values. Everything after is the `set` path.
public struct CommandFormat: Sendable {
    public var name: String
    public var topic: @Sendable (DeviceConfig) -> String?
    public var decode: @Sendable (DeviceConfig, [UInt8]) -> Result<[(point: String, value: Value)], ConversionError>

    public init(name: String, topic: @escaping @Sendable (DeviceConfig) -> String?,
                decode: @escaping @Sendable (DeviceConfig, [UInt8]) -> Result<[(point: String, value: Value)], ConversionError>) {
        self.name = name
        self.topic = topic
        self.decode = decode
    }
}
