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
    /// The same port by another name (`/dev/serial/by-id/...` is a link to `/dev/ttyUSB0`).
    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `broken` collects the names of buses that were declared but are invalid (already reported).
    func readBuses(_ value: ConfigValue, broken: inout Set<String>) -> [BusConfig]? {
        guard let list = value.list() else { return nil }
        var buses: [BusConfig] = []
        for entry in list {
            guard var map = entry.mapping() else { continue }
            let busName = uniqueName(&map, "bus", taken: buses.map(\.name))
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
            if let resource = options?.physicalResource.map(Self.canonicalPath),
               let owner = buses.first(where: { $0.options.physicalResource.map(Self.canonicalPath) == resource }) {
                typeValue.report("\(resource) is already bus \"\(owner.name)\"'s: one bus per line, so put these devices on that bus")
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
