#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `buses:`: each entry's name and type here, its other keys by the family that serves the type.
extension DocumentReader {
    /// The same port by another name (`/dev/serial/by-id/...` is a link to `/dev/ttyUSB0`, and
    /// `/dev/../dev/ttyUSB0` is it too): the real path when it exists, else the path with `.`, `..`
    /// and doubled slashes folded.
    static func canonicalPath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        var components: [Substring] = []
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + components.joined(separator: "/")
    }

    /// A device node's identity beyond its name: two nodes for one tty (a copy made with mknod, a
    /// udev alias that is not a link) share their device number. nil when it is not a device node now.
    static func deviceNumber(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFCHR else { return nil }
        return UInt64(info.st_rdev)
    }

    /// `broken` collects the names of buses that were declared but are invalid (already reported).
    func readBuses(_ value: ConfigValue, broken: inout Set<String>) -> [BusConfig]? {
        guard let list = value.list() else { return nil }
        var buses: [BusConfig] = []
        // Each line once, resolved once (not once per pair of buses).
        var names = Set<String>()
        var resources: [(name: String, resource: String, path: String, device: UInt64?)] = []
        for entry in list {
            guard var map = entry.mapping() else { continue }
            let busName = uniqueName(&map, "bus", taken: &names)
            let enabled = map.optional("enabled")?.bool() ?? true
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
            if let options, let resource = options.physicalResource {
                let identity = (path: Self.canonicalPath(resource), device: Self.deviceNumber(resource))
                if let owner = resources.first(where: { $0.path == identity.path || ($0.device != nil && $0.device == identity.device) }) {
                    // The key is read again only to point at it; it was asked for by the family already.
                    (map.optional(options.physicalResourceKey) ?? typeValue)
                        .report("\(resource) is already bus \"\(owner.name)\"'s\(owner.resource == resource ? "" : " (\(owner.resource))"): one bus per line, so put these devices on that bus")
                } else if let busName {
                    resources.append((busName, resource, identity.path, identity.device))
                }
            }
            if let busName, let options {
                buses.append(BusConfig(name: busName, type: type, options: options, location: entry.location, enabled: enabled))
            } else if let busName {
                broken.insert(busName)
            }
        }
        return buses
    }
}
