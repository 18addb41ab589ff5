#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import FieldlinkYAML

/// A device profile: the points of one device model as data (`devices/<name>.yaml`), so a register
/// map is transcribed once from its datasheet and checked once by a golden test, not retyped into
/// every config. The file's keys: `model:` (text), `manufacturer:` (text, optional), `defaults:` (point keys every point starts
/// from), `points:` (a list of point entries, as in a config). Generic: any family's points work.
public struct DeviceProfile {
    public var name: String
    public var file: String
    public var model: String
    /// `manufacturer:`, optional (Home Assistant's device block shows it).
    public var manufacturer: String?
    /// Each point's mapping, already layered over the profile's `defaults:`.
    var points: [ConfigMapping]

    public var reference: ProfileReference { ProfileReference(name: name, file: file, model: model, manufacturer: manufacturer) }
}

/// Where `profile: NAME` is looked for, in order; the first `NAME.yaml` found wins.
public enum ProfileSearchPath {
    /// After `<config dir>/devices`: the profiles installed beside the binary
    /// (`<prefix>/bin/fieldlink` -> `<prefix>/share/fieldlink/devices`, so both the package's /usr
    /// and `make install`'s /usr/local), then /usr/share/fieldlink/devices.
    public static var installed: [String] {
        var directories: [String] = []
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let prefix = executable.deletingLastPathComponent().deletingLastPathComponent()
        directories.append(prefix.appendingPathComponent("share/fieldlink/devices").path)
        for directory in ["/usr/local/share/fieldlink/devices", "/usr/share/fieldlink/devices"] where !directories.contains(directory) {
            directories.append(directory)
        }
        return directories
    }

    /// The environment variable that adds profile directories (colon-separated, like PATH).
    public static let environmentVariable = "FIELDLINK_PROFILES"

    /// How a user adds a directory, for the message when a profile is not found.
    static let howToAdd = "add its directory with a top-level profiles: [DIR, ...] (relative to the config file) or FIELDLINK_PROFILES=DIR:DIR, or give profile: a path to the .yaml file"

    /// `<config dir>/devices` first, so a site's own profiles (or corrected copies) win; then
    /// `$FIELDLINK_PROFILES`, then the installed ones. A config's `profiles:` goes after its own `devices/`.
    static func directories(configFile: String, environment: [String: String] = [:], then installed: [String]) -> [String] {
        let own = URL(fileURLWithPath: configFile).deletingLastPathComponent().appendingPathComponent("devices").standardizedFileURL.path
        let fromEnvironment = (environment[environmentVariable] ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        var directories: [String] = []
        for directory in [own] + fromEnvironment + installed where !directories.contains(directory) { directories.append(directory) }
        return directories
    }
}

/// Loads each profile once per config parse; a profile used by ten devices reports its problems once.
final class ProfileLoader {
    private var directories: [String]
    private let diagnostics: ConfigDiagnostics
    private var loaded: [String: DeviceProfile?] = [:]

    static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.".unicodeScalars.contains(scalar))
    }

    init(directories: [String], diagnostics: ConfigDiagnostics) {
        self.directories = directories
        self.diagnostics = diagnostics
    }

    /// A config's `profiles:` directories: searched right after the config's own `devices/`.
    func add(directories extra: [String]) {
        let own = directories.prefix(1)
        let rest = directories.dropFirst().filter { !extra.contains($0) }
        directories = Array(own) + extra.filter { !own.contains($0) } + rest
    }

    /// `profile: eastron-sdm120` (searched for), or a path to a YAML file (relative to the config file).
    func profile(_ value: ConfigValue) -> DeviceProfile? {
        guard let text = value.nonEmptyString() else { return nil }
        let isPath = text.contains("/") || text.hasSuffix(".yaml") || text.hasSuffix(".yml")
        let file: String
        if isPath {
            guard let path = value.readableFilePath() else { return nil }
            if case .success(true) = FileAccess.isDirectory(path) {
                return value.fail("\(path) is a folder, not a profile file")
            }
            file = path
        } else {
            guard text.unicodeScalars.allSatisfy(Self.isNameCharacter) else {
                return value.fail("\"\(text)\" is neither a profile name (letters, digits, \"-\", \"_\", \".\") nor a path to a .yaml file")
            }
            guard let found = directories.lazy.map({ "\($0)/\(text).yaml" }).first(where: FileManager.default.isReadableFile) else {
                let known = Set(directories.flatMap { directory in
                    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
                }).sorted()
                let available = known.isEmpty ? "none found" : "available: \(known.joined(separator: ", "))"
                return value.fail("no profile \"\(text)\" in \(directories.joined(separator: ", ")) (\(available)); \(ProfileSearchPath.howToAdd)")
            }
            file = found
        }
        if let cached = loaded[file] { return cached }
        let profile = read(file: file, name: isPath ? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent : text)
        loaded[file] = profile
        return profile
    }

    private func read(file: String, name: String) -> DeviceProfile? {
        let own = ConfigDiagnostics(file: file, reportingTo: diagnostics)
        let start = ConfigLocation(file: file, line: 1, column: 1)
        let text: String
        switch ConfigText.read(file: file) {
        case .success(let read):
            text = read
        case .failure(let problem):
            own.record(problem)
            return nil
        }
        if let problem = TextShape.problem(text, file: file) {
            own.record(problem)
            return nil
        }
        let root: Node?
        do throws(YAMLError) {
            root = try YAML.compose(yaml: text)
        } catch {
            own.record(ConfigLoader.problem(from: error, file: file))
            return nil
        }
        guard let root else {
            own.record(ConfigProblem(location: start, path: "", message: "profile is empty"))
            return nil
        }
        guard DocumentCheck.check(root, diagnostics: own) else { return nil }
        let merged = MergeKeys.resolve(root, path: "", diagnostics: own)
        guard var top = ConfigValue(node: merged, path: "", diagnostics: own).mapping() else { return nil }
        let model = top.required("model")?.nonEmptyString()
        let manufacturer = top.optional("manufacturer")?.nonEmptyString()
        let defaults = top.optional("defaults")?.mapping()
        var points: [ConfigMapping] = []
        if let list = top.required("points")?.list() {
            if list.isEmpty { own.record(ConfigProblem(location: own.location(of: root), path: "points", message: "a profile needs at least one point")) }
            for entry in list {
                guard let point = entry.mapping() else { continue }
                points.append(defaults.map { point.layered(over: $0) } ?? point)
            }
        }
        top.rejectUnknownKeys()
        guard let model else { return nil }
        return DeviceProfile(name: name, file: file, model: model, manufacturer: manufacturer, points: points)
    }
}
