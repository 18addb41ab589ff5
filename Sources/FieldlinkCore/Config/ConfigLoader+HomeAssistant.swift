#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `homeassistant:`: Home Assistant MQTT discovery.
extension DocumentReader {
    func readHomeAssistant(_ value: ConfigValue?) -> HomeAssistantConfig? {
        guard let value, var map = value.mapping() else { return nil }
        let enabled = map.required("enabled")?.bool()
        var prefix = HomeAssistantConfig.defaultPrefix
        if let entry = map.optional("prefix"), let text = entry.nonEmptyString() {
            // A topic prefix: no wildcards, and no leading or trailing "/" (they would make empty levels).
            if text.contains("+") || text.contains("#") || text.hasPrefix("/") || text.hasSuffix("/") {
                entry.report("\"\(text)\" is not a topic prefix: no \"+\", \"#\", or \"/\" at either end")
            } else {
                prefix = text
            }
        }
        map.rejectUnknownKeys()
        guard let enabled else { return nil }
        return HomeAssistantConfig(enabled: enabled, prefix: prefix)
    }
}
