#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `devices:`: the keys every device shares (bus, interval, topic, reporting, batching); the family reads its own.
extension DocumentReader {
    /// `firstSparkplug`: the first `sparkplugb` device's format (or its entry, when the format is
    /// the default) and key path, where a missing `sparkplug:` section is reported.
    func readDevices(_ value: ConfigValue, buses: [BusConfig], brokenBuses: Set<String>, gatewayID: String,
                     format defaultFormat: PayloadFormat, firstSparkplug: inout (value: ConfigValue, path: String)?) -> [DeviceConfig]? {
        guard let list = value.list() else { return nil }
        var devices: [DeviceConfig] = []
        var names = Set<String>()
        for entry in list {
            guard var map = entry.mapping() else { continue }
            let deviceName = uniqueName(&map, "device", taken: &names)
            let enabled = map.optional("enabled")?.bool() ?? true
            let busValue = map.required("bus")
            let bus: BusConfig? = busValue.flatMap { value in
                guard let busName = value.string() else { return nil }
                if let bus = buses.first(where: { $0.name == busName }) { return bus }
                if brokenBuses.contains(busName) { return nil }  // reported at the bus
                let known = buses.map(\.name).joined(separator: ", ")
                return value.fail("no bus named \"\(busName)\" (buses: \(known.isEmpty ? "none" : known))")
            }
            let interval = map.required("interval")?.duration(minimum: DeviceConfig.minimumInterval)
            let topicValue = map.optional("topic")
            let template = readTopic(topicValue)
            let qos = map.optional("qos").flatMap { $0.int(in: DeviceConfig.qosRange) } ?? DeviceConfig.defaultQoS
            let retain = map.optional("retain").flatMap { $0.bool() } ?? false
            let format = map.optional("format")?.oneOf(PayloadFormat.self) ?? defaultFormat
            var report = ReportPolicy.everyPoll
            if let mode = map.optional("report") {
                switch mode.string() {
                case "every-poll": report.onChange = false
                case "on-change": report.onChange = true
                case let other?: mode.report("unknown value \"\(other)\" (expected one of every-poll, on-change)")
                case nil: break
                }
            }
            report.deadband = map.optional("deadband")?.deadband()
            report.heartbeat = map.optional("heartbeat")?.duration(minimum: DeviceConfig.minimumHeartbeat)
            var batch: BatchPolicy?
            if let batchValue = map.optional("batch"), var batchMap = batchValue.mapping() {
                var policy = BatchPolicy()
                if let count = batchMap.optional("max_messages")?.int(in: BatchPolicy.maxMessagesRange) { policy.maxMessages = count }
                if let delay = batchMap.optional("max_delay")?.duration(minimum: BatchPolicy.minimumMaxDelay) { policy.maxDelay = delay }
                if let bytes = batchMap.optional("max_bytes")?.byteSize(minimum: BatchPolicy.minimumMaxBytes) { policy.maxBytes = bytes }
                batchMap.rejectUnknownKeys()
                batch = policy
            }
            var commands = CommandPolicy()
            let retainedValue = map.optional("accept_retained"), ageValue = map.optional("command_max_age")
            let resultsValue = map.optional("command_results")
            if let accept = retainedValue?.bool() { commands.acceptRetained = accept }
            if let age = ageValue?.duration(minimum: CommandPolicy.minimumMaxAge) { commands.maxAge = age }
            if let results = resultsValue?.bool() { commands.results = results }
            // Without the bus there is no family to claim its keys (unit, points, ...): judging them
            // here would report every one as unknown, so the rest of this entry waits for a valid bus.
            guard let bus, let family = families.first(where: { $0.busTypes.contains(bus.type) }) else {
                continue
            }
            let (options, readPoint) = family.readDeviceWithPointReader(&map, on: bus)
            let route = deviceName.flatMap { name in
                template.map { PublishRoute(topic: $0.render(gateway: gatewayID, device: name, bus: bus.name), qos: qos, retain: retain) }
            }
            if let route, let reason = TopicTemplate.lengthProblem(route.topic) { (topicValue ?? entry).report(reason) }
            if format == .sparkplugb, firstSparkplug == nil {
                let own = map.optional("format")
                firstSparkplug = (own ?? entry, own?.path ?? "\(entry.path).format")
            }
            let context = deviceName.flatMap { name in route.map { (name: name, gateway: gatewayID, route: $0) } }
            let profileValue = map.optional("profile")
            let profile = profileValue.flatMap(profiles.profile)
            let selection = map.optional("profile_points")
            let pointsValue = profileValue == nil ? map.required("points") : map.optional("points")
            var points: [PointConfig]?
            if profileValue == nil || profile != nil, let entries = pointEntries(pointsValue, profile: profile, selection: selection) {
                if entries.isEmpty {
                    (pointsValue ?? profileValue)?.report("a device needs at least one point")
                } else {
                    points = readPoints(entries, bus: bus, readPoint: readPoint, device: context, sparkplug: format == .sparkplugb)
                }
            }
            if let selection, profileValue == nil { selection.report("profile_points picks points of a profile; this device has no profile") }
            map.rejectUnknownKeys()
            if let points, !points.contains(where: { $0.write != nil }) {
                for value in [retainedValue, ageValue, resultsValue].compactMap({ $0 }) {
                    value.report("this device has no writable point: command settings need a point with writable: true")
                }
            }
            guard let deviceName, let interval, let template, let options, let points else { continue }
            let topic = template.render(gateway: gatewayID, device: deviceName, bus: bus.name)
            var device = DeviceConfig(name: deviceName, bus: bus.name, interval: interval, topic: topic, qos: qos, retain: retain, format: format, report: report.with(pointDeadbands: points), batch: batch,
                                      options: options, points: points, location: entry.location, profile: profile?.reference)
            device.enabled = enabled
            device.commands = commands
            devices.append(device)
        }
        return devices
    }

    func readTopic(_ value: ConfigValue?) -> TopicTemplate? {
        guard let value else { return TopicTemplate(TopicTemplate.defaultDeviceTopic) }
        guard let text = value.string() else { return nil }
        if let reason = TopicTemplate.validate(text) { return value.fail(reason) }
        return TopicTemplate(text)
    }

    /// `profiles:` a directory or a list of them, each relative to the config file, each one that exists.
    func readProfileDirectories(_ value: ConfigValue) -> [String] {
        let entries: [ConfigValue]
        if case .scalar = value.node { entries = [value] } else { entries = value.list() ?? [] }
        return entries.compactMap { entry in
            guard let path = entry.filePath() else { return nil }
            guard case .success(true) = FileAccess.isDirectory(path) else { return entry.fail("\(path) is not a directory") }
            return path
        }
    }
}
