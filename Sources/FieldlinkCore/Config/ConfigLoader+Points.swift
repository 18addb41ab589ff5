#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// A device's points: its profile's and its own entries, the keys every point shares, the family's through `readPoint`.
extension DocumentReader {
    /// `map: {0: off, 1: running, 2: fault}`: raw integers (decimal or 0x hex) to the labels published.
    func readLabels(_ value: ConfigValue) -> [Int64: String]? {
        guard let entries = value.entries() else { return nil }
        if entries.isEmpty { return value.fail("a map needs at least one raw value and its label") }
        var labels: [Int64: String] = [:]
        for (key, label) in entries {
            guard let raw = key.int(in: Int.min...Int.max), let text = label.nonEmptyString() else { continue }
            labels[Int64(raw)] = text
        }
        return labels
    }

    /// A device's point entries: its profile's points in the profile's order (those named in
    /// `profile_points:` only, when given), each under the device's own entry of the same name if it
    /// has one, then the device's other points. nil when an entry is not even a mapping (reported).
    func pointEntries(_ value: ConfigValue?, profile: DeviceProfile?, selection: ConfigValue?) -> [(ConfigMapping, PointOrigin)]? {
        var own: [ConfigMapping] = []
        var complete = true
        if let value {
            guard let list = value.list() else { return nil }
            for entry in list {
                if let map = entry.mapping() { own.append(map) } else { complete = false }
            }
        }
        guard let profile else { return complete ? own.map { ($0, .config) } : nil }
        let names = profile.points.map { $0.peek("name") }
        var selected: Set<String>?
        if let selection, let list = selection.list() {
            selected = []
            for item in list {
                guard let name = item.string() else { continue }
                if names.contains(name) {
                    selected?.insert(name)
                } else {
                    item.report("no point \"\(name)\" in profile \(profile.name) (points: \(names.compactMap { $0 }.joined(separator: ", ")))")
                }
            }
        }
        var entries: [(ConfigMapping, PointOrigin)] = []
        for (point, name) in zip(profile.points, names) {
            if let index = own.firstIndex(where: { $0.peek("name") == name && name != nil }) {
                entries.append((own.remove(at: index).layered(over: point), .profileOverridden))
            } else if selected.map({ name.map($0.contains) ?? true }) ?? true {
                entries.append((point, .profile))
            }
        }
        entries += own.map { ($0, .config) }
        return complete ? entries : nil
    }

    /// `readPoint`: the family's reader, which knows the device; `device`: the device's own route and
    /// names, for a point's `topic`/`qos`/`retain` overrides.
    /// `sparkplug`: the device publishes Sparkplug B, where a point has no route of its own.
    func readPoints(_ entries: [(ConfigMapping, PointOrigin)], bus: BusConfig, readPoint: (inout ConfigMapping) -> (any PointOptions)?,
                    device: (name: String, gateway: String, route: PublishRoute)?, sparkplug: Bool = false) -> [PointConfig]? {
        var points: [PointConfig] = []
        var names = Set<String>()
        var complete = true
        for (entry, origin) in entries {
            var map = entry
            let pointName = uniqueName(&map, "point", taken: &names)
            let unit = map.optional("unit").flatMap { $0.string() }
            let scaleValue = map.optional("scale")
            let scale = scaleValue.flatMap { $0.double() } ?? 1
            if scale == 0, let scaleValue { scaleValue.report("scale must not be 0") }
            let offset = map.optional("offset").flatMap { $0.double() } ?? 0
            let precision = map.optional("precision")?.int(in: PointConfig.precisionRange)
            let labels = map.optional("map").flatMap(readLabels)
            let topicValue = map.optional("topic")
            let topic = topicValue.flatMap { value -> TopicTemplate? in
                guard let text = value.string() else { return nil }
                if let reason = TopicTemplate.validate(text, placeholders: TopicTemplate.pointPlaceholders) { return value.fail(reason) }
                return TopicTemplate(text, placeholders: TopicTemplate.pointPlaceholders)
            }
            let qosValue = map.optional("qos"), retainValue = map.optional("retain")
            let qos = qosValue?.int(in: DeviceConfig.qosRange)
            let retain = retainValue?.bool()
            if sparkplug, let routeValue = topicValue ?? qosValue ?? retainValue {
                routeValue.report("a sparkplugb device publishes every point as a metric of its DDATA: a point cannot have its own topic, qos or retain")
            }
            let deadband = map.optional("deadband")?.deadband()
            let writableValue = map.optional("writable")
            let writable = writableValue?.bool() ?? false
            let limits = readWriteLimits(&map, writable: writable)
            let options = readPoint(&map)
            map.rejectUnknownKeys()
            guard let pointName, let options else { complete = false; continue }
            if writable, let writableValue, let refusal = options.writeRefusal {
                writableValue.report("this point cannot be writable: \(refusal)")
            }
            var ownRoute: PublishRoute?
            if let device, topic != nil || qos != nil || retain != nil {
                // Its own message: its own topic, or the device's topic with the point's name under it.
                let rendered = topic?.render(gateway: device.gateway, device: device.name, bus: bus.name, point: pointName)
                    ?? "\(device.route.topic)/\(pointName)"
                ownRoute = PublishRoute(topic: rendered, qos: qos ?? device.route.qos, retain: retain ?? device.route.retain)
                if let topicValue, rendered == device.route.topic {
                    topicValue.report("\(rendered) is the device's own topic: a point with its own message needs a topic of its own (e.g. {device}/{point})")
                } else if let reason = TopicTemplate.lengthProblem(rendered) {
                    if let topicValue { topicValue.report(reason) } else { map.report(reason) }
                }
            }
            // The family's unit only for the raw value: a scaled point's unit is the user's to say.
            let pointUnit = unit ?? (scale == 1 && offset == 0 ? options.defaultUnit : nil)
            points.append(PointConfig(name: pointName, unit: pointUnit, transform: LinearTransform(scale: scale, offset: offset, precision: precision),
                                      options: options, location: entry.location, ownRoute: ownRoute, deadband: deadband,
                                      labels: labels, origin: origin))
            points[points.count - 1].write = writable ? limits : nil
        }
        return complete ? points : nil
    }

    /// `min`, `max` (engineering units) and `min_write_interval`: only beside `writable: true`.
    func readWriteLimits(_ map: inout ConfigMapping, writable: Bool) -> WriteLimits {
        var limits = WriteLimits()
        let minValue = map.optional("min"), maxValue = map.optional("max"), intervalValue = map.optional("min_write_interval")
        limits.min = minValue?.double()
        limits.max = maxValue?.double()
        limits.minInterval = intervalValue?.duration()
        if !writable {
            for (key, value) in [("min", minValue), ("max", maxValue), ("min_write_interval", intervalValue)] {
                value?.report("\(key) limits what a command may write: it needs writable: true on the point")
            }
        }
        if let low = limits.min, let high = limits.max, low > high, let maxValue {
            maxValue.report("max \(high) is below min \(low)")
        }
        return limits
    }
}
