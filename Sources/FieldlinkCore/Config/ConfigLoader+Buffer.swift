#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `buffer:`: the store-and-forward ring.
extension DocumentReader {
    func readBuffer(_ value: ConfigValue?) -> BufferConfig {
        var config = BufferConfig()
        guard let value, var map = value.mapping() else { return config }
        if let bytes = map.optional("max_bytes")?.byteSize(minimum: BufferConfig.minimumMaxBytes) { config.maxBytes = bytes }
        if let age = map.optional("max_age") {
            // `max_age: 0` (or `none`) keeps messages until max_bytes forces them out.
            config.maxAge = ["0", "none"].contains(age.node.string ?? "") ? nil : age.duration(minimum: BufferConfig.minimumMaxAge)
        }
        if let durability = map.optional("durability")?.oneOf(Durability.self) { config.durability = durability }
        if let interval = map.optional("sync_interval")?.duration(minimum: BufferConfig.minimumSyncInterval) { config.syncInterval = interval }
        if let rate = map.optional("replay_rate")?.int(in: BufferConfig.replayRateRange) { config.replayRate = rate }
        if let count = map.optional("memory_messages")?.int(in: BufferConfig.memoryMessagesRange) { config.memoryMessages = count }
        map.rejectUnknownKeys()
        return config
    }
}
