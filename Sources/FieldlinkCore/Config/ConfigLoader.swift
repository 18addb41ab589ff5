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
        switch ConfigText.read(file: file) {
        case .success(let text): return try parse(yaml: text, file: file)
        case .failure(let problem): throw ConfigErrors(problems: [problem])
        }
    }

    public func parse(yaml: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigErrors) -> Config {
        let diagnostics = ConfigDiagnostics(file: file, environment: environment)
        guard yaml.utf8.count <= ConfigLimits.fileBytes else {
            throw ConfigErrors(problems: [ConfigProblem(location: ConfigLocation(file: file, line: 1, column: 1), path: "",
                                                        message: "the config is over \(ConfigLimits.fileBytes >> 20) MiB; a config may be at most that (is it the right file?)")])
        }
        if let problem = TextShape.problem(yaml, file: file) { throw ConfigErrors(problems: [problem]) }
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
        guard DocumentCheck.check(root, diagnostics: diagnostics) else { throw ConfigErrors(problems: diagnostics.problems) }
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

    /// An entry's `name:`, checked as `name` does, and reported when an earlier entry has it;
    /// `taken` holds the names so far (a set: thousands of points are checked in linear time).
    func uniqueName(_ map: inout ConfigMapping, _ kind: String, taken: inout Set<String>) -> String? {
        let value = map.required("name")
        guard let text = name(value) else { return nil }
        if let value, !taken.insert(text).inserted { value.report("duplicate \(kind) name \"\(text)\"") }
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
        var firstSparkplug: (value: ConfigValue, path: String)?
        let devicesValue = top.required("devices")
        let devices = devicesValue.flatMap {
            readDevices($0, buses: buses, brokenBuses: brokenBuses, gatewayID: gateway?.id ?? "", format: payloadFormat,
                        firstSparkplug: &firstSparkplug)
        } ?? []
        let sparkplugValue = top.optional("sparkplug")
        let sparkplug = sparkplugValue.flatMap { readSparkplug($0, gatewayID: gateway?.id) }
        if sparkplugValue == nil, let first = firstSparkplug {
            diagnostics.report("sparkplugb needs a top-level sparkplug: section with at least group_id", at: first.value.node, path: first.path)
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
        let runningNames = Set(running.map(\.name))
        config.disabledDevices = devices.filter { !runningNames.contains($0.name) }.map(\.name)
        config.sparkplug = sparkplug
        config.homeAssistant = homeAssistant
        config.metrics = metrics
        config.time = time
        config.devicesLocation = devicesValue?.location
        return config
    }
}
