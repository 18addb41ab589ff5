#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import FieldlinkYAML

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
        let start = ConfigLocation(file: file, line: 1, column: 1)
        let text: String
        switch FileAccess.contents(of: file) {
        case .success(let data):
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ConfigErrors(problems: [ConfigProblem(location: start, path: "", message: "the config file is not UTF-8 text")])
            }
            text = decoded
        case .failure(let why):
            throw ConfigErrors(problems: [ConfigProblem(location: start, path: "", message: "cannot read config file: \(why.text)")])
        }
        return try parse(yaml: text, file: file)
    }

    public func parse(yaml: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigErrors) -> Config {
        let diagnostics = ConfigDiagnostics(file: file, environment: environment)
        let root: Node?
        do throws(YAMLError) {
            root = try YAML.compose(yaml: yaml)
        } catch {
            throw ConfigErrors(problems: [Self.problem(from: error, file: file)])
        }
        guard let root else {
            throw ConfigErrors(problems: [ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "", message: "config is empty")])
        }
        let profiles = ProfileLoader(directories: ProfileSearchPath.directories(configFile: file, environment: environment, then: profileDirectories), diagnostics: diagnostics)
        var reader = DocumentReader(families: families, diagnostics: diagnostics, profiles: profiles)
        let merged = MergeKeys.resolve(root, path: "", diagnostics: diagnostics)
        var config = reader.read(ConfigValue(node: merged, path: "", diagnostics: diagnostics))
        config?.warnings = diagnostics.warnings
        guard diagnostics.problems.isEmpty, let config else {
            // In file order, so a user can fix them top to bottom; a profile's problems once, however
            // many devices use it, and an anchor's once, however many entries merge it.
            var seen = Set<String>()
            throw ConfigErrors(problems: diagnostics.problems.filter { seen.insert("\($0.location) \($0.message)").inserted }.enumerated().sorted {
                ($0.element.location.file == file ? 0 : 1, $0.element.location.file, $0.element.location.line, $0.element.location.column, $0.offset)
                    < ($1.element.location.file == file ? 0 : 1, $1.element.location.file, $1.element.location.line, $1.element.location.column, $1.offset)
            }.map(\.element))
        }
        return config
    }

    static func problem(from error: YAMLError, file: String) -> ConfigProblem {
        let location = ConfigLocation(file: file, line: error.mark.line, column: error.mark.column)
        switch error {
        case .reader(let problem, _), .scanner(let problem, _), .parser(let problem, _):
            return ConfigProblem(location: location, path: "", message: "YAML syntax: \(problem)")
        case .composer(let problem, _):
            return ConfigProblem(location: location, path: "", message: "YAML: \(problem)")
        case .duplicatedKeys(let duplicates, _):
            let names = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigProblem(location: location, path: "", message: "duplicate key \(names) in this mapping")
        case .memory:
            return ConfigProblem(location: location, path: "", message: "YAML: \(error)")
        }
    }
}

/// One pass over the document; the common keys here, the family keys in each `DriverFamily`.
struct DocumentReader {
    let families: [any DriverFamily]
    let diagnostics: ConfigDiagnostics
    let profiles: ProfileLoader

    static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool { scalar.isAlphanumeric || "-_.".unicodeScalars.contains(scalar) }

    /// Names end up in topics, file names and log fields: keep them plain.
    func name(_ value: ConfigValue?) -> String? {
        guard let value, let text = value.nonEmptyString() else { return nil }
        guard text.unicodeScalars.allSatisfy(Self.isNameCharacter) else {
            return value.fail("\"\(text)\" may contain only letters, digits, \"-\", \"_\" and \".\"")
        }
        return text
    }

    /// An entry's `name:`, checked as `name` does, and reported when an earlier entry has it.
    func uniqueName(_ map: inout ConfigMapping, _ kind: String, taken: [String]) -> String? {
        let value = map.required("name")
        guard let text = name(value) else { return nil }
        if let value, taken.contains(text) { value.report("duplicate \(kind) name \"\(text)\"") }
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
        if let directories = top.optional("profiles") { profiles.add(directories: readProfileDirectories(directories)) }
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
        let homeAssistant = readHomeAssistant(top.optional("homeassistant"))
        let metrics = readMetrics(top.optional("metrics"))
        let time = readTime(top.optional("time"))
        top.ignoreKeys(withPrefix: "x-")
        top.rejectUnknownKeys()
        guard let gateway, let mqtt else { return nil }
        // `enabled: false` keeps an entry checked but out of the run; a bus's devices go with it.
        let offBuses = Set(buses.filter { !$0.enabled }.map(\.name))
        let running = devices.filter { $0.enabled && !offBuses.contains($0.bus) }
        var config = Config(file: diagnostics.file, gateway: gateway, mqtt: mqtt, buffer: buffer,
                            buses: buses.filter(\.enabled), devices: running)
        config.disabledBuses = buses.filter { !$0.enabled }.map(\.name)
        config.disabledDevices = devices.filter { device in !running.contains { $0.name == device.name } }.map(\.name)
        config.sparkplug = sparkplug
        config.homeAssistant = homeAssistant
        config.metrics = metrics
        config.time = time
        return config
    }
}
