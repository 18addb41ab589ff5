import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// Announces the config's points to Home Assistant at start and on every reload, and removes what
/// is no longer there with an empty retained config.
///
/// What was announced is remembered in the state directory (`homeassistant-topics`, one topic a
/// line), so a point removed while the daemon was stopped is removed at the next start too. A clean
/// stop removes nothing: the entities stay, unavailable, until the gateway is back.
public final class HomeAssistantAnnouncer: Sendable {
    private let ring: any MessageRing
    private let version: String
    private let file: String
    private let logger: Logger
    private let announced: Mutex<Set<String>>

    public init(ring: any MessageRing, stateDirectory: String, version: String, logger: Logger) {
        self.ring = ring
        self.version = version
        self.file = "\(stateDirectory)/homeassistant-topics"
        self.logger = logger
        let saved = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        self.announced = Mutex(Set(saved.split(separator: "\n").map(String.init)))
    }

    /// Queues the configs of `config` (none when `homeassistant:` is absent or off) and the
    /// removals of what was announced before and is not now.
    public func announce(_ config: Config) {
        var current: [String: HomeAssistantDiscovery.EntityConfig] = [:]
        if let settings = config.homeAssistant, settings.enabled {
            current = HomeAssistantDiscovery(config: config, homeAssistant: settings, version: version).entities(of: config.devices)
        }
        let previous = announced.withLock { $0 }
        guard !(current.isEmpty && previous.isEmpty) else { return }
        let messages = HomeAssistantDiscovery.messages(announcing: current, removing: previous)
        for message in messages { ring.append(message) }
        let removed = previous.subtracting(current.keys).count
        announced.withLock { $0 = Set(current.keys) }
        do {
            try current.keys.sorted().joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            logger.warning("cannot remember the Home Assistant configs in \(file): \(error); a point removed while stopped stays in Home Assistant")
        }
        logger.info("Home Assistant discovery: \(current.count) entit(ies) announced, \(removed) removed")
    }
}
