import Foundation

// `buffer:`: the store-and-forward ring.
extension DocumentReader {
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
}
