import FieldlinkCore
import Foundation
import Testing
import TestSupport

/// `homeassistant:` and `metrics:`: defaults (held against the README), what is refused, and
/// profiles' optional `manufacturer:`.
struct OperabilityConfigTests {
    @Test func absentSectionsAreNil() throws {
        let config = try ConfigFixture.parse(ConfigFixture.minimal)
        #expect(config.homeAssistant == nil)
        #expect(config.metrics == nil)
    }

    @Test func defaults() throws {
        let config = try ConfigFixture.parse(ConfigFixture.minimal + "homeassistant: {enabled: true}\nmetrics: {textfile: node/fieldlink.prom}\n")
        #expect(config.homeAssistant == HomeAssistantConfig(enabled: true, prefix: HomeAssistantConfig.defaultPrefix))
        // A relative path is the config file's folder's.
        #expect(config.metrics == MetricsConfig(textfile: "/etc/fieldlink/node/fieldlink.prom", interval: MetricsConfig.defaultInterval))
    }

    @Test func givenValues() throws {
        let config = try ConfigFixture.parse(ConfigFixture.minimal
            + "homeassistant: {enabled: false, prefix: ha/site1}\nmetrics: {textfile: /var/lib/node/fl.prom, interval: 1m}\n")
        #expect(config.homeAssistant == HomeAssistantConfig(enabled: false, prefix: "ha/site1"))
        #expect(config.metrics?.interval == .seconds(60))
    }

    @Test(arguments: [
        ("homeassistant: {prefix: ha}\n", "homeassistant", #"missing required key "enabled""#),
        ("homeassistant: {enabled: true, prefix: ha/#}\n", "homeassistant.prefix", "is not a topic prefix"),
        ("homeassistant: {enabled: true, discovery: yes}\n", "homeassistant.discovery", #"unknown key "discovery""#),
        ("metrics: {interval: 15s}\n", "metrics", #"missing required key "textfile""#),
        ("metrics: {textfile: /tmp/fl.txt}\n", "metrics.textfile", "ending in .prom"),
        ("metrics: {textfile: /tmp/fl.prom, interval: 100ms}\n", "metrics.interval", "too short (minimum 1s)"),
    ])
    func refused(yaml: String, path: String, message: String) {
        let problems = ConfigFixture.problems(ConfigFixture.minimal + yaml)
        #expect(problems.contains { $0.path == path && $0.message.contains(message) }, "\(problems)")
    }

    @Test func readmeDocumentsTheDefaults() throws {
        let readme = try Readme()
        #expect(readme.exampleValues("Home Assistant")["prefix"] == HomeAssistantConfig.defaultPrefix)
        #expect(readme.exampleValues("Metrics for Prometheus")["interval"].flatMap(Duration.init(configText:)) == MetricsConfig.defaultInterval)
    }
}

/// `time:`: defaults, given values, what is refused.
struct TimeConfigTests {
    @Test func defaults() throws {
        let config = try ConfigFixture.parse(ConfigFixture.minimal)
        #expect(config.time == TimeConfig())
        #expect(config.time.unsynced == .hold && config.time.trust == .sync && config.time.maxWait == .seconds(600))
    }

    @Test func givenValues() throws {
        let config = try ConfigFixture.parse(ConfigFixture.minimal + "time: {trust: always, unsynced: mark, max_wait: 30s}\n")
        #expect(config.time.trust == .always && config.time.unsynced == .mark && config.time.maxWait == .seconds(30))
    }

    @Test(arguments: [
        ("time: {unsynced: drop}\n", "time.unsynced", "hold"),
        ("time: {max_wait: 10ms}\n", "time.max_wait", "too short"),
        ("time: {sync: ntp}\n", "time.sync", #"unknown key "sync""#),
    ])
    func refused(yaml: String, path: String, message: String) {
        let problems = ConfigFixture.problems(ConfigFixture.minimal + yaml)
        #expect(problems.contains { $0.path == path && $0.message.contains(message) }, "\(problems)")
    }
}
