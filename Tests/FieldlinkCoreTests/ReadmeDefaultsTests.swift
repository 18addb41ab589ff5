import FieldlinkCore
import FieldlinkModbus
import Testing
import TestSupport

/// The README's defaults are the loader's: each documented default is held against the named
/// constant the loader falls back to, so changing one without the other fails here.
@Suite struct ReadmeDefaultsTests {
    let readme: Readme
    init() throws { readme = try Readme() }

    @Test func brokerConnectionTable() throws {
        let table = readme.tableDefaults("The broker connection")
        #expect(table["version"] == MQTTConfig.defaultVersion.rawValue)
        #expect(table["status_topic"] == MQTTConfig.defaultStatusTopic)
        #expect(table["keepalive"].flatMap(Duration.init(configText:)) == MQTTConfig.defaultKeepalive)
        #expect(table["max_inflight"] == "\(MQTTConfig.defaultMaxInflight)")
        #expect(table["reconnect_delay"] == "\(MQTTConfig.defaultReconnectDelay.configText), \(MQTTConfig.defaultReconnectDelayMax.configText)")
        #expect(table["drain_timeout"].flatMap(Duration.init(configText:)) == MQTTConfig.defaultDrainTimeout)
        #expect(table["failover_after"].flatMap(Duration.init(configText:)) == MQTTConfig.defaultFailoverAfter)
        #expect(table["ack_timeout"] == "keepalive / \(MQTTConfig.ackTimeoutKeepaliveDivisor)")
        #expect(table["connect_timeout"].flatMap(Duration.init(configText:)) == MQTTConfig.defaultConnectTimeout)
        #expect(table["failback_after"] == "\(MQTTConfig.defaultFailbackAfter.configText), true")
        #expect(table["qos2_unsupported"] == MQTTConfig.defaultQoS2Unsupported.rawValue)
    }

    @Test func writeBackTable() {
        let table = readme.tableDefaults("Write-back: setting registers and coils from MQTT")
        #expect(table["command_max_age"].flatMap(Duration.init(configText:)) == CommandPolicy.defaultMaxAge)
        #expect(table["accept_retained"] == "\(CommandPolicy().acceptRetained)")
        #expect(table["command_results"] == "\(CommandPolicy().results)")
    }

    @Test func bufferExampleShowsTheDefaults() {
        let example = readme.exampleValues("The buffer")
        let defaults = BufferConfig()
        #expect(example["durability"] == defaults.durability.rawValue)
        #expect(example["max_bytes"] == "\(BufferConfig.defaultMaxBytes >> 20)MiB")
        #expect(example["max_age"].flatMap(Duration.init(configText:)) == BufferConfig.defaultMaxAge)
        #expect(example["sync_interval"].flatMap(Duration.init(configText:)) == BufferConfig.defaultSyncInterval)
        #expect(example["replay_rate"] == "\(BufferConfig.defaultReplayRate)")
    }

    @Test func modbusBusTable() {
        let table = readme.tableDefaults("Modbus buses")
        #expect(table["timeout"].flatMap(Duration.init(configText:)) == ModbusBusDefaults.defaultTimeout)
        #expect(table["retries"] == "\(ModbusBusDefaults.defaultRetries)")
        #expect(table["delay_before_request"].flatMap(Duration.init(configText:)) == ModbusBusDefaults.defaultDelayBeforeRequest)
        #expect(table["max_gap"] == "\(ModbusDeviceOptions.defaultMaxGap)")
        #expect(table["merge"] == "\(ModbusDeviceOptions.defaultMerge)")
        #expect(table["backoff_after"] == "\(ModbusBusDefaults.defaultBackoffAfter)")
        #expect(table["backoff_max"].flatMap(Duration.init(configText:)) == ModbusBusDefaults.defaultBackoffMax)
        #expect(table["host"] == "—, \(ModbusFamily.defaultTCPPort)")
        #expect(table["unit"] == "RTU: required; TCP: \(ModbusFamily.defaultTCPUnit)")
    }
}
