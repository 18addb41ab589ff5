import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Home Assistant MQTT discovery: one retained config per point of every JSON device, on
/// `{prefix}/{component}/{gateway}/{device}_{point}/config`, so the points appear in Home Assistant
/// with units, device classes and availability, and disappear when an empty config replaces it.
///
/// A pure function of the config; `HomeAssistantAnnouncer` puts its messages in the ring.
public struct HomeAssistantDiscovery: Sendable {
    public var prefix: String
    public var gateway: String
    /// The gateway's retained online/offline topic; nil when the gateway publishes none (a
    /// Sparkplug B edge node says it with NBIRTH/NDEATH instead).
    public var gatewayStatusTopic: String?
    /// Where device health goes: `{statusTopic}/{device}` (see `TelemetryPipeline.healthChanged`).
    public var healthTopicBase: String
    public var version: String

    public init(prefix: String, gateway: String, gatewayStatusTopic: String?, healthTopicBase: String, version: String) {
        self.prefix = prefix
        self.gateway = gateway
        self.gatewayStatusTopic = gatewayStatusTopic
        self.healthTopicBase = healthTopicBase
        self.version = version
    }

    /// The discovery of a loaded config: gateway status only where the status session publishes it.
    public init(config: Config, homeAssistant: HomeAssistantConfig, version: String) {
        self.init(prefix: homeAssistant.prefix, gateway: config.gateway.id,
                  gatewayStatusTopic: config.sparkplug == nil ? config.mqtt.statusTopic : nil,
                  healthTopicBase: config.mqtt.statusTopic, version: version)
    }

    /// Home Assistant's discovery payload (the fields fieldlink sets).
    public struct EntityConfig: Codable, Sendable, Equatable {
        public var name: String
        public var unique_id: String
        public var state_topic: String
        public var value_template: String
        public var unit_of_measurement: String?
        public var device_class: String?
        public var state_class: String?
        public var payload_on: String?
        public var payload_off: String?
        /// Writable points: where Home Assistant sends a new value (`{device topic}/set/{point}`).
        public var command_topic: String?
        /// `switch`: the state the value template renders, when it differs from the payloads sent.
        public var state_on: String?
        public var state_off: String?
        /// `number`: the point's limits and the smallest step its register can hold.
        public var min: Double?
        public var max: Double?
        public var step: Double?
        public var mode: String?
        /// `select`: the map's labels.
        public var options: [String]?
        public var availability: [Availability]
        public var availability_mode: String
        public var device: DeviceBlock
        public var origin: Origin
    }

    public struct Availability: Codable, Sendable, Equatable {
        public var topic: String
        public var value_template: String?
        public var payload_available: String
        public var payload_not_available: String
    }

    public struct DeviceBlock: Codable, Sendable, Equatable {
        public var identifiers: [String]
        public var name: String
        public var manufacturer: String?
        public var model: String?
    }

    public struct Origin: Codable, Sendable, Equatable {
        public var name: String
        public var sw_version: String
    }

    /// Why a device is not announced; nil when it is.
    public static func notAnnounced(_ device: DeviceConfig) -> String? {
        switch device.format {
        case .json where device.batch != nil: "its messages are batches (JSON arrays), from which a value template cannot pick the latest reading"
        case .json: nil
        case .cbor: "its payload is CBOR, which Home Assistant's templates cannot decode"
        case .sparkplugb: "Sparkplug B devices are described by their DBIRTH, not by discovery"
        }
    }

    /// Every point's config, keyed by its discovery topic.
    public func entities(of devices: [DeviceConfig]) -> [String: EntityConfig] {
        var entities: [String: EntityConfig] = [:]
        for device in devices where Self.notAnnounced(device) == nil {
            for point in device.points {
                let (component, entity) = self.entity(point, of: device)
                entities["\(prefix)/\(component)/\(Self.topicID(gateway))/\(Self.topicID(device.name))_\(Self.topicID(point.name))/config"] = entity
            }
        }
        return entities
    }

    /// The retained configs, in topic order: JSON for what `current` announces, empty for what
    /// only `previous` did (so Home Assistant removes it).
    public static func messages(announcing current: [String: EntityConfig], removing previous: Set<String>) -> [OutboundMessage] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var messages: [OutboundMessage] = []
        for topic in previous.subtracting(current.keys).sorted() {
            messages.append(OutboundMessage(topic: topic, payload: [], qos: 1, retain: true))
        }
        for (topic, entity) in current.sorted(by: { $0.key < $1.key }) {
            // Encoding plain strings and optionals cannot fail.
            let payload = (try? encoder.encode(entity)).map { Array($0) } ?? []
            messages.append(OutboundMessage(topic: topic, payload: payload, qos: 1, retain: true, contentType: "application/json"))
        }
        return messages
    }

    private func entity(_ point: PointConfig, of device: DeviceConfig) -> (component: String, EntityConfig) {
        let route = point.ownRoute?.topic ?? device.topic
        let field = Self.templateField(point.name)
        var availability: [Availability] = []
        if let gatewayStatusTopic {
            availability.append(Availability(topic: gatewayStatusTopic, value_template: nil, payload_available: "online",
                                             payload_not_available: "offline"))
        }
        availability.append(Availability(topic: "\(healthTopicBase)/\(device.name)", value_template: "{{ value_json.state }}",
                                         payload_available: "ok", payload_not_available: "failing"))
        var entity = EntityConfig(
            name: point.name, unique_id: "fieldlink_\(gateway)_\(device.name)_\(point.name)", state_topic: route,
            value_template: "{{ value_json.values\(field) }}", availability: availability, availability_mode: "all",
            device: DeviceBlock(identifiers: ["fieldlink_\(gateway)_\(device.name)"], name: "\(gateway) \(device.name)",
                                manufacturer: device.profile?.manufacturer, model: device.profile?.model),
            origin: Origin(name: "fieldlink", sw_version: version))
        let kind: ValueKind? = point.labels != nil ? .string : point.transform.isIdentity ? point.options.valueKind : .float64
        if let limits = point.write {
            return writable(entity, point, of: device, kind: kind, limits: limits)
        }
        switch kind {
        case .bool?:
            entity.value_template = "{{ 'ON' if value_json.values\(field) else 'OFF' }}"
            entity.payload_on = "ON"
            entity.payload_off = "OFF"
            return ("binary_sensor", entity)
        case .string?:
            return ("sensor", entity)
        default:
            // A number, or (kind unknown, as a parsed text field) a number when it has a unit.
            guard let unit = point.unit else {
                if kind != nil { entity.state_class = "measurement" }
                return ("sensor", entity)
            }
            let mapped = Self.classes(forUnit: unit)
            entity.unit_of_measurement = mapped.unit
            entity.device_class = mapped.deviceClass
            entity.state_class = mapped.stateClass
            return ("sensor", entity)
        }
    }

    /// A writable point as the control Home Assistant offers for it: a `select` of the map's labels,
    /// a `switch` for a coil or bit, else a `number` bounded by the point's min/max. The command goes
    /// to the point's set topic as plain text (a label, `true`/`false`, a number), which the gateway
    /// checks like any other command.
    private func writable(_ base: EntityConfig, _ point: PointConfig, of device: DeviceConfig, kind: ValueKind?,
                          limits: WriteLimits) -> (component: String, EntityConfig) {
        var entity = base
        entity.command_topic = "\(device.topic)/set/\(point.name)"
        if let labels = point.labels {
            entity.options = labels.sorted { $0.key < $1.key }.map(\.value)
            return ("select", entity)
        }
        if kind == .bool {
            entity.value_template = "{{ 'ON' if value_json.values\(Self.templateField(point.name)) else 'OFF' }}"
            entity.state_on = "ON"
            entity.state_off = "OFF"
            entity.payload_on = "true"
            entity.payload_off = "false"
            return ("switch", entity)
        }
        // Home Assistant's own defaults (0...100, step 1) would refuse most setpoints: a point without
        // limits gets its type's range, within what a double and Home Assistant's UI can show.
        entity.min = limits.min ?? -1e9
        entity.max = limits.max ?? 1e9
        let scale = abs(point.transform.scale)
        entity.step = point.transform.precision.map { Swift.max(0.001, 1 / pow(10, Double($0))) } ?? (scale > 0 && scale < 1 ? Swift.max(0.001, scale) : 1)
        entity.mode = "box"
        if let unit = point.unit {
            let mapped = Self.classes(forUnit: unit)
            entity.unit_of_measurement = mapped.unit
            entity.device_class = mapped.deviceClass
        }
        return ("number", entity)
    }

    /// A unit's Home Assistant device class (nil where none fits), state class, and the unit as
    /// Home Assistant spells it for that class (`%RH` is `%` there).
    public static func classes(forUnit unit: String) -> (deviceClass: String?, stateClass: String, unit: String) {
        if let (deviceClass, spelled) = unitClasses[unit] {
            let counter = ["energy", "reactive_energy"].contains(deviceClass) || counterUnits.contains(unit)
            return (deviceClass, counter ? "total_increasing" : "measurement", spelled ?? unit)
        }
        return (nil, counterUnits.contains(unit) ? "total_increasing" : "measurement", unit)
    }

    /// Unit -> (device class, Home Assistant's spelling when it differs). Only units that say
    /// one quantity: a bare `%` could be humidity, battery or a power factor, so it gets none.
    static let unitClasses: [String: (String, String?)] = [
        "V": ("voltage", nil), "mV": ("voltage", nil), "kV": ("voltage", nil),
        "A": ("current", nil), "mA": ("current", nil),
        "W": ("power", nil), "kW": ("power", nil), "MW": ("power", nil),
        "Wh": ("energy", nil), "kWh": ("energy", nil), "MWh": ("energy", nil),
        "VA": ("apparent_power", nil), "kVA": ("apparent_power", nil),
        "var": ("reactive_power", nil), "kvar": ("reactive_power", nil),
        "°C": ("temperature", nil), "°F": ("temperature", nil), "K": ("temperature", nil),
        "%RH": ("humidity", "%"),
        "Pa": ("pressure", nil), "hPa": ("pressure", nil), "kPa": ("pressure", nil), "bar": ("pressure", nil),
        "mbar": ("pressure", nil), "psi": ("pressure", nil),
        "lx": ("illuminance", nil),
        "Hz": ("frequency", nil), "kHz": ("frequency", nil),
        "s": ("duration", nil), "min": ("duration", nil), "h": ("duration", nil),
        "dBm": ("signal_strength", nil),
    ]

    /// Counters without a device class of their own that fits every Home Assistant version
    /// (reactive energy), still totals that only grow.
    static let counterUnits: Set<String> = ["varh", "kvarh"]

    /// A topic level and an id Home Assistant accepts: `[a-zA-Z0-9_-]`, anything else as `_`.
    static func topicID(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar in
            (scalar.isASCII && (scalar.isAlphanumeric || scalar == "_" || scalar == "-")) ? Character(scalar) : "_"
        })
    }

    /// `.voltage`, or `['l1-voltage']` where the name is not a template identifier.
    static func templateField(_ name: String) -> String {
        let plain = name.first.map { $0.isLetter || $0 == "_" } ?? false
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.isAlphanumeric || $0 == "_") }
        return plain ? ".\(name)" : "['\(name)']"
    }
}
