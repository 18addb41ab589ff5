import Foundation
import Yams

/// Reads a YAML config into a `Config`, collecting every problem before giving up.
public struct ConfigLoader: Sendable {
    public let families: [any DriverFamily]
    /// Searched for `profile: NAME` after the config file's own `devices/` folder.
    public let profileDirectories: [String]

    public init(families: [any DriverFamily], profileDirectories: [String] = ProfileSearchPath.installed) {
        self.families = families
        self.profileDirectories = profileDirectories
    }

    public func load(file: String) throws(ConfigErrors) -> Config {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigErrors(problems: [
                ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "",
                              message: "cannot read config file: \(error.localizedDescription)")
            ])
        }
        return try parse(yaml: text, file: file)
    }

    public func parse(yaml: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigErrors) -> Config {
        let diagnostics = ConfigDiagnostics(file: file, environment: environment)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigErrors(problems: [Self.problem(from: error, file: file)])
        } catch {
            throw ConfigErrors(problems: [ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "", message: "\(error)")])
        }
        guard let root else {
            throw ConfigErrors(problems: [ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "", message: "config is empty")])
        }
        let profiles = ProfileLoader(directories: ProfileSearchPath.directories(configFile: file, then: profileDirectories), diagnostics: diagnostics)
        var reader = DocumentReader(families: families, diagnostics: diagnostics, profiles: profiles)
        var config = reader.read(ConfigValue(node: root, path: "", diagnostics: diagnostics))
        config?.warnings = diagnostics.warnings
        guard diagnostics.problems.isEmpty, let config else {
            // In file order, so a user can fix them top to bottom; a profile's problems once, however
            // many devices use it.
            var seen = Set<ConfigProblem>()
            throw ConfigErrors(problems: diagnostics.problems.filter { seen.insert($0).inserted }.enumerated().sorted {
                ($0.element.location.file == file ? 0 : 1, $0.element.location.file, $0.element.location.line, $0.element.location.column, $0.offset)
                    < ($1.element.location.file == file ? 0 : 1, $1.element.location.file, $1.element.location.line, $1.element.location.column, $1.offset)
            }.map(\.element))
        }
        return config
    }

    static func problem(from error: YamlError, file: String) -> ConfigProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ConfigProblem(location: ConfigLocation(file: file, line: mark.line, column: mark.column), path: "", message: "YAML syntax: \(problem)")
        case .composer(_, let problem, let mark, _):
            return ConfigProblem(location: ConfigLocation(file: file, line: mark.line, column: mark.column), path: "", message: "YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            let mark = context.mark
            return ConfigProblem(location: ConfigLocation(file: file, line: mark.line, column: mark.column), path: "", message: "duplicate key \(names) in this mapping")
        default:
            return ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "", message: "YAML: \(error)")
        }
    }
}

/// One pass over the document; the common keys here, the family keys in each `DriverFamily`.
private struct DocumentReader {
    let families: [any DriverFamily]
    let diagnostics: ConfigDiagnostics
    let profiles: ProfileLoader


    static let nameCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))

    /// Names end up in topics, file names and log fields: keep them plain.
    func name(_ value: ConfigValue?) -> String? {
        guard let value, let text = value.nonEmptyString() else { return nil }
        guard text.unicodeScalars.allSatisfy(Self.nameCharacters.contains) else {
            return value.fail("\"\(text)\" may contain only letters, digits, \"-\", \"_\" and \".\"")
        }
        return text
    }

    mutating func read(_ root: ConfigValue) -> Config? {
        guard var top = root.mapping() else { return nil }
        let gateway = top.required("gateway").flatMap(readGateway)
        let mqtt = top.required("mqtt").flatMap { readMQTT($0, gatewayID: gateway?.id) }
        let buffer = readBuffer(top.optional("buffer"))
        var payloadFormat = PayloadFormat.json
        if let payload = top.optional("payload"), var payloadMap = payload.mapping() {
            payloadFormat = payloadMap.optional("format")?.oneOf(PayloadFormat.self) ?? .json
            payloadMap.rejectUnknownKeys()
        }
        var brokenBuses: Set<String> = []
        let buses = top.required("buses").flatMap { readBuses($0, broken: &brokenBuses) } ?? []
        let devices = top.required("devices").flatMap {
            readDevices($0, buses: buses, brokenBuses: brokenBuses, gatewayID: gateway?.id ?? "", format: payloadFormat)
        } ?? []
        let sparkplugValue = top.optional("sparkplug")
        let sparkplug = sparkplugValue.flatMap { readSparkplug($0, gatewayID: gateway?.id) }
        if sparkplugValue == nil, let first = devices.first(where: { $0.format == .sparkplugb }) {
            diagnostics.record(ConfigProblem(location: first.location, path: "devices.\(first.name).format",
                                             message: "sparkplugb needs a top-level sparkplug: section with at least group_id"))
        }
        top.rejectUnknownKeys()
        guard let gateway, let mqtt else { return nil }
        var config = Config(file: diagnostics.file, gateway: gateway, mqtt: mqtt, buffer: buffer, buses: buses, devices: devices)
        config.sparkplug = sparkplug
        return config
    }

    /// `sparkplug: {group_id, edge_node_id, data_qos}`; the ids become topic levels, so MQTT's
    /// separators and wildcards are refused in them.
    func readSparkplug(_ value: ConfigValue, gatewayID: String?) -> SparkplugConfig? {
        guard var map = value.mapping() else { return nil }
        func identifier(_ value: ConfigValue?) -> String? {
            guard let value, let text = value.nonEmptyString() else { return nil }
            if let bad = text.first(where: { "/+#".contains($0) }) {
                return value.fail("\"\(text)\" must not contain \"\(bad)\" (it is one level of a Sparkplug topic)")
            }
            return text
        }
        let group = identifier(map.required("group_id"))
        let node = map.optional("edge_node_id").map(identifier) ?? gatewayID
        let qos = map.optional("data_qos")?.int(in: 0...1) ?? 0
        map.rejectUnknownKeys()
        guard let group, let node else { return nil }
        return SparkplugConfig(groupID: group, edgeNodeID: node, dataQoS: qos)
    }

    func readGateway(_ value: ConfigValue) -> GatewayConfig? {
        guard var map = value.mapping() else { return nil }
        let id = name(map.required("id"))
        let stateDirectory = map.optional("state_dir").flatMap { $0.filePath() } ?? "/var/lib/fieldlink"
        map.rejectUnknownKeys()
        guard let id else { return nil }
        return GatewayConfig(id: id, stateDirectory: stateDirectory)
    }

    func readMQTT(_ value: ConfigValue, gatewayID: String?) -> MQTTConfig? {
        guard var map = value.mapping() else { return nil }
        let urlValue = map.optional("url")
        let urlsValue = map.optional("urls")
        let shared = readLogin(&map)
        var brokers: [BrokerEndpoint] = []
        switch (urlValue, urlsValue) {
        case (nil, nil):
            diagnostics.report("missing required key \"url\" (or \"urls\" for several brokers)", at: map.node, path: map.path)
        case (.some, .some):
            diagnostics.report("give either url or urls, not both", at: map.node, path: map.path)
        case (let url?, nil):
            if let broker = endpoint(url, login: shared) { brokers.append(broker) }
        case (nil, let urls?):
            guard let list = urls.list() else { break }
            if list.isEmpty { urls.report("give at least one broker URL") }
            for entry in list {
                if case .scalar = entry.node {
                    if let broker = endpoint(entry, login: shared) { brokers.append(broker) }
                } else if var entryMap = entry.mapping() {
                    let url = entryMap.required("url")
                    let own = readLogin(&entryMap)
                    entryMap.rejectUnknownKeys()
                    let login = Login(tls: own.tls ?? shared.tls, tlsValue: own.tlsValue ?? shared.tlsValue,
                                      username: own.username ?? shared.username, password: own.password ?? shared.password)
                    if let url, let broker = endpoint(url, login: login) { brokers.append(broker) }
                }
            }
        }
        let statusValue = map.optional("status_topic")
        let statusTopic = statusValue.flatMap { value -> String? in
            guard let text = value.string() else { return nil }
            if let reason = TopicTemplate.validate(text) { return value.fail(reason) }
            return text
        } ?? "fieldlink/{gateway}/status"
        let clientID = map.optional("client_id").flatMap { $0.nonEmptyString() } ?? gatewayID
        let version = map.optional("version").flatMap { $0.oneOf(MQTTVersion.self) } ?? .v5
        let keepalive = map.optional("keepalive").flatMap { $0.duration(minimum: .seconds(5)) } ?? .seconds(30)
        let maxInflight = map.optional("max_inflight").flatMap { $0.int(in: 1...65_535) } ?? 100
        let reconnectDelay = map.optional("reconnect_delay").flatMap { $0.duration(minimum: .milliseconds(100)) } ?? .seconds(1)
        let reconnectDelayMax = map.optional("reconnect_delay_max").flatMap { $0.duration(minimum: .milliseconds(100)) } ?? .seconds(60)
        let drainTimeout = map.optional("drain_timeout").flatMap { $0.duration(minimum: .zero) } ?? .seconds(5)
        // A few keepalives: a broker that answered no PINGREQ for that long is gone, not slow.
        let failoverAfter = map.optional("failover_after").flatMap { $0.duration(minimum: .milliseconds(100)) } ?? keepalive * 3
        let failbackAfter = map.optional("failback_after").flatMap { $0.duration(minimum: .milliseconds(100)) } ?? .seconds(300)
        let failback = map.optional("failback").flatMap { $0.bool() } ?? true
        let messageExpiry = map.optional("message_expiry")?.duration(minimum: .seconds(1))
        map.rejectUnknownKeys()
        guard !brokers.isEmpty, let clientID else { return nil }
        let status = TopicTemplate(statusTopic)?.render(gateway: gatewayID ?? clientID, device: "", bus: "") ?? statusTopic
        return MQTTConfig(brokers: brokers, statusTopic: status, clientID: clientID, version: version, keepalive: keepalive,
                          maxInflight: maxInflight, reconnectDelay: reconnectDelay,
                          reconnectDelayMax: max(reconnectDelay, reconnectDelayMax), drainTimeout: drainTimeout,
                          failoverAfter: failoverAfter, failbackAfter: failback ? failbackAfter : nil, messageExpiry: messageExpiry)
    }

    /// How to log in to a broker: the mqtt section's, or one `urls` entry's own.
    struct Login {
        var tls: TLSConfig?
        var tlsValue: ConfigValue?
        var username: String?
        var password: Secret?
    }

    func readLogin(_ map: inout ConfigMapping) -> Login {
        let tlsValue = map.optional("tls")
        let tls = tlsValue.flatMap(readTLS)
        let username = map.optional("username").flatMap { $0.nonEmptyString() }
        let passwordValue = map.optional("password")
        var password = passwordValue.flatMap { $0.string() }.map(Secret.init)
        if let passwordValue, password != nil, passwordValue.node.string?.contains("${") == false, Self.isReadableByOthers(diagnostics.file) {
            diagnostics.warn("an inline password in a file other users can read; use password_file (or ${ENV}) or chmod o-r the file",
                             at: passwordValue.node, path: passwordValue.path)
        }
        if let fileValue = map.optional("password_file"), let path = fileValue.secretFilePath() {
            if password != nil {
                fileValue.report("give either password or password_file, not both")
            } else {
                password = readSecretFile(path, at: fileValue)
            }
        }
        if password != nil && username == nil {
            diagnostics.report("a password needs a username", at: map.node, path: map.path)
        }
        return Login(tls: tls, tlsValue: tlsValue, username: username, password: password)
    }

    func endpoint(_ value: ConfigValue, login: Login) -> BrokerEndpoint? {
        guard let parsed = readBrokerURL(value) else { return nil }
        var tls = login.tls
        if parsed.secure, tls == nil, login.tlsValue == nil { tls = TLSConfig() }
        if !parsed.secure, let tlsValue = login.tlsValue {
            tlsValue.report("tls: is for mqtts:// URLs; \(value.node.string ?? "this one") is mqtt://")
            tls = nil
        }
        return BrokerEndpoint(host: parsed.host, port: parsed.port, tls: parsed.secure ? tls : nil,
                              username: login.username, password: login.password)
    }

    static func isReadableByOthers(_ file: String) -> Bool {
        let permissions = (try? FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue ?? 0
        return permissions & 0o004 != 0
    }

    func readTLS(_ value: ConfigValue) -> TLSConfig? {
        guard var map = value.mapping() else { return nil }
        var tls = TLSConfig()
        tls.caFile = map.optional("ca_file")?.readableFilePath()
        tls.certFile = map.optional("cert_file")?.readableFilePath()
        let keyValue = map.optional("key_file")
        tls.keyFile = keyValue?.readableFilePath(secret: true)
        tls.insecure = map.optional("insecure")?.bool() ?? false
        if let version = map.optional("min_version") {
            if let text = version.string(), ["tlsv1.2", "tlsv1.3"].contains(text) { tls.minimumVersion = text } else {
                version.report("expected tlsv1.2 or tlsv1.3")
            }
        }
        if (tls.certFile == nil) != (keyValue == nil) {
            diagnostics.report("cert_file and key_file go together (mTLS needs both)", at: map.node, path: map.path)
        }
        map.rejectUnknownKeys()
        return tls
    }

    func readSecretFile(_ path: String, at value: ConfigValue) -> Secret? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return value.fail("cannot read password file \(path)")
        }
        let secret = text.trimmingCharacters(in: .newlines)
        // Under the unit a missing /etc/fieldlink/mqtt-password arrives as an empty credential (its
        // fallback), so a fresh install starts; only a config that asks for a password refuses it.
        guard !secret.isEmpty else {
            return value.fail("password file \(path) is empty: put the broker's password in it, or remove password_file if the broker takes none")
        }
        return Secret(secret)
    }

    func readBrokerURL(_ value: ConfigValue) -> (host: String, port: Int, secure: Bool)? {
        guard let text = value.nonEmptyString() else { return nil }
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            return value.fail("\"\(text)\" is not a URL (write mqtt://HOST:PORT)")
        }
        guard scheme == "mqtt" || scheme == "mqtts" else {
            return value.fail("unsupported scheme \"\(scheme)\" (expected mqtt or mqtts)")
        }
        // URLComponents keeps an IPv6 literal's brackets; the host has none (`MQTTConfig.url` adds them back).
        let host = components.host.map { $0.hasPrefix("[") && $0.hasSuffix("]") ? String($0.dropFirst().dropLast()) : $0 }
        guard let host, !host.isEmpty else { return value.fail("\"\(text)\" has no host") }
        if !components.path.isEmpty && components.path != "/" || components.query != nil || components.user != nil {
            return value.fail("\"\(text)\": give only scheme, host and port (credentials go in username/password)")
        }
        let port = components.port ?? (scheme == "mqtts" ? 8883 : 1883)
        guard (1...65_535).contains(port) else { return value.fail("port \(port) is out of range") }
        return (host, port, scheme == "mqtts")
    }

    func readBuffer(_ value: ConfigValue?) -> BufferConfig {
        var config = BufferConfig()
        guard let value, var map = value.mapping() else { return config }
        if let bytes = map.optional("max_bytes")?.byteSize(minimum: 64 << 10) { config.maxBytes = bytes }
        if let age = map.optional("max_age") {
            // `max_age: 0` (or `none`) keeps messages until max_bytes forces them out.
            config.maxAge = ["0", "none"].contains(age.node.string ?? "") ? nil : age.duration(minimum: .seconds(1))
        }
        if let durability = map.optional("durability")?.oneOf(Durability.self) { config.durability = durability }
        if let interval = map.optional("sync_interval")?.duration(minimum: .milliseconds(10)) { config.syncInterval = interval }
        if let rate = map.optional("replay_rate")?.int(in: 1...1_000_000) { config.replayRate = rate }
        if let count = map.optional("memory_messages")?.int(in: 1...10_000_000) { config.memoryMessages = count }
        map.rejectUnknownKeys()
        return config
    }

    /// `broken` collects the names of buses that were declared but are invalid (already reported).
    /// The same port by another name (`/dev/serial/by-id/...` is a link to `/dev/ttyUSB0`).
    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    func readBuses(_ value: ConfigValue, broken: inout Set<String>) -> [BusConfig]? {
        guard let list = value.list() else { return nil }
        var buses: [BusConfig] = []
        for entry in list {
            guard var map = entry.mapping() else { continue }
            let nameValue = map.required("name")
            let busName = name(nameValue)
            if let busName, let nameValue, buses.contains(where: { $0.name == busName }) {
                nameValue.report("duplicate bus name \"\(busName)\"")
            }
            // Without a family its keys cannot be told from typos: no unknown-key check then.
            guard let typeValue = map.required("type"), let type = typeValue.string() else {
                if let busName { broken.insert(busName) }
                continue
            }
            guard let family = families.first(where: { $0.busTypes.contains(type) }) else {
                let known = families.flatMap(\.busTypes).joined(separator: ", ")
                typeValue.report("unknown bus type \"\(type)\" (expected one of \(known))")
                if let busName { broken.insert(busName) }
                continue
            }
            let options = family.readBus(type: type, &map)
            map.rejectUnknownKeys()
            if let resource = options?.physicalResource.map(Self.canonicalPath),
               let owner = buses.first(where: { $0.options.physicalResource.map(Self.canonicalPath) == resource }) {
                typeValue.report("\(resource) is already bus \"\(owner.name)\"'s: one bus per line, so put these devices on that bus")
            }
            if let busName, let options {
                buses.append(BusConfig(name: busName, type: type, options: options, location: entry.location))
            } else if let busName {
                broken.insert(busName)
            }
        }
        return buses
    }

    func readDevices(_ value: ConfigValue, buses: [BusConfig], brokenBuses: Set<String>, gatewayID: String,
                     format defaultFormat: PayloadFormat) -> [DeviceConfig]? {
        guard let list = value.list() else { return nil }
        var devices: [DeviceConfig] = []
        for entry in list {
            guard var map = entry.mapping() else { continue }
            let nameValue = map.required("name")
            let deviceName = name(nameValue)
            if let deviceName, let nameValue, devices.contains(where: { $0.name == deviceName }) {
                nameValue.report("duplicate device name \"\(deviceName)\"")
            }
            let busValue = map.required("bus")
            let bus: BusConfig? = busValue.flatMap { value in
                guard let busName = value.string() else { return nil }
                if let bus = buses.first(where: { $0.name == busName }) { return bus }
                if brokenBuses.contains(busName) { return nil }  // reported at the bus
                let known = buses.map(\.name).joined(separator: ", ")
                return value.fail("no bus named \"\(busName)\" (buses: \(known.isEmpty ? "none" : known))")
            }
            let interval = map.required("interval")?.duration(minimum: .milliseconds(10))
            let topicValue = map.optional("topic")
            let template = readTopic(topicValue)
            let qos = map.optional("qos").flatMap { $0.int(in: 0...2) } ?? 1
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
            report.heartbeat = map.optional("heartbeat")?.duration(minimum: .seconds(1))
            var batch: BatchPolicy?
            if let batchValue = map.optional("batch"), var batchMap = batchValue.mapping() {
                var policy = BatchPolicy()
                if let count = batchMap.optional("max_messages")?.int(in: 1...10_000) { policy.maxMessages = count }
                if let delay = batchMap.optional("max_delay")?.duration(minimum: .milliseconds(10)) { policy.maxDelay = delay }
                if let bytes = batchMap.optional("max_bytes")?.byteSize(minimum: 256) { policy.maxBytes = bytes }
                batchMap.rejectUnknownKeys()
                batch = policy
            }
            // Without the bus there is no family to claim its keys (unit, points, ...): judging them
            // here would report every one as unknown, so the rest of this entry waits for a valid bus.
            guard let bus, let family = families.first(where: { $0.busTypes.contains(bus.type) }) else {
                continue
            }
            let options = family.readDevice(&map, on: bus)
            let route = deviceName.flatMap { name in
                template.map { PublishRoute(topic: $0.render(gateway: gatewayID, device: name, bus: bus.name), qos: qos, retain: retain) }
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
                    points = readPoints(entries, bus: bus, family: family, device: context)
                }
            }
            if let selection, profileValue == nil { selection.report("profile_points picks points of a profile; this device has no profile") }
            map.rejectUnknownKeys()
            if format == .sparkplugb, let points {
                for point in points where point.ownRoute != nil {
                    diagnostics.record(ConfigProblem(location: point.location, path: "devices.\(deviceName ?? "?").points.\(point.name)",
                                                     message: "a sparkplugb device publishes every point as a metric of its DDATA: a point cannot have its own topic, qos or retain"))
                }
            }
            guard let deviceName, let interval, let template, let options, let points else { continue }
            let topic = template.render(gateway: gatewayID, device: deviceName, bus: bus.name)
            devices.append(DeviceConfig(name: deviceName, bus: bus.name, interval: interval, topic: topic, qos: qos, retain: retain, format: format, report: report.with(pointDeadbands: points), batch: batch,
                                        options: options, points: points, location: entry.location, profile: profile?.reference))
        }
        return devices
    }

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

    func readTopic(_ value: ConfigValue?) -> TopicTemplate? {
        guard let value else { return TopicTemplate(TopicTemplate.defaultDeviceTopic) }
        guard let text = value.string() else { return nil }
        if let reason = TopicTemplate.validate(text) { return value.fail(reason) }
        return TopicTemplate(text)
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

    /// `device`: the device's own route and names, for a point's `topic`/`qos`/`retain` overrides.
    func readPoints(_ entries: [(ConfigMapping, PointOrigin)], bus: BusConfig, family: any DriverFamily,
                    device: (name: String, gateway: String, route: PublishRoute)?) -> [PointConfig]? {
        var points: [PointConfig] = []
        var complete = true
        for (entry, origin) in entries {
            var map = entry
            let nameValue = map.required("name")
            let pointName = name(nameValue)
            if let pointName, let nameValue, points.contains(where: { $0.name == pointName }) {
                nameValue.report("duplicate point name \"\(pointName)\"")
            }
            let unit = map.optional("unit").flatMap { $0.string() }
            let scaleValue = map.optional("scale")
            let scale = scaleValue.flatMap { $0.double() } ?? 1
            if scale == 0, let scaleValue { scaleValue.report("scale must not be 0") }
            let offset = map.optional("offset").flatMap { $0.double() } ?? 0
            let precision = map.optional("precision")?.int(in: 0...12)
            let labels = map.optional("map").flatMap(readLabels)
            let topicValue = map.optional("topic")
            let topic = topicValue.flatMap { value -> TopicTemplate? in
                guard let text = value.string() else { return nil }
                if let reason = TopicTemplate.validate(text, placeholders: TopicTemplate.pointPlaceholders) { return value.fail(reason) }
                return TopicTemplate(text, placeholders: TopicTemplate.pointPlaceholders)
            }
            let qos = map.optional("qos")?.int(in: 0...2)
            let retain = map.optional("retain")?.bool()
            let deadband = map.optional("deadband")?.deadband()
            let options = family.readPoint(&map, on: bus)
            map.rejectUnknownKeys()
            guard let pointName, let options else { complete = false; continue }
            var ownRoute: PublishRoute?
            if let device, topic != nil || qos != nil || retain != nil {
                // Its own message: its own topic, or the device's topic with the point's name under it.
                let rendered = topic?.render(gateway: device.gateway, device: device.name, bus: bus.name, point: pointName)
                    ?? "\(device.route.topic)/\(pointName)"
                ownRoute = PublishRoute(topic: rendered, qos: qos ?? device.route.qos, retain: retain ?? device.route.retain)
            }
            points.append(PointConfig(name: pointName, unit: unit, transform: LinearTransform(scale: scale, offset: offset, precision: precision),
                                      options: options, location: entry.location, ownRoute: ownRoute, deadband: deadband,
                                      labels: labels, origin: origin))
        }
        return complete ? points : nil
    }
}
