import FieldlinkOperability
import Foundation
import Testing

struct PrometheusTextTests {
    let text = PrometheusText.render(sampleDocument())

    @Test func everyFamilyHasHelpAndTypeBeforeItsSamples() {
        var declared: [String: String] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                declared[String(parts[2])] = String(parts[3])
            } else if !line.hasPrefix("#") {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                #expect(declared[name] != nil, "\(name) has no TYPE line before it")
            }
        }
        for (name, type) in declared {
            #expect(text.contains("# HELP \(name) "))
            #expect((type == "counter") == name.hasSuffix("_total"), "\(name) is a \(type)")
        }
        #expect(declared.count == 17)
    }

    @Test func theSeriesTheIssueAsksFor() {
        for sample in [
            #"fieldlink_build_info{gateway="gw1",version="1.2.3"} 1"#,
            #"fieldlink_device_polls_total{device="meter1",bus="line1"} 40"#,
            #"fieldlink_device_point_errors_total{device="meter2",bus="line1"} 36"#,
            #"fieldlink_device_up{device="meter1",bus="line1"} 1"#,
            #"fieldlink_device_up{device="meter2",bus="line1"} 0"#,
            #"fieldlink_bus_utilisation_ratio{bus="line1",type="modbus-rtu"} 0.125"#,
            #"fieldlink_bus_busy_seconds_total{bus="line1",type="modbus-rtu"} 2.5"#,
            "fieldlink_ring_messages 5", "fieldlink_ring_bytes 2048", "fieldlink_ring_oldest_message_age_seconds 1.5",
            "fieldlink_ring_dropped_messages_total 7",
            #"fieldlink_mqtt_connected{broker="mqtt://127.0.0.1:1883"} 1"#, #"fieldlink_mqtt_connected{broker="mqtt://10.0.0.9:1883"} 0"#,
            #"fieldlink_mqtt_published_messages_total{qos="1"} 50"#, #"fieldlink_mqtt_acknowledged_messages_total{qos="1"} 48"#,
            "fieldlink_mqtt_reconnects_total 2",
        ] {
            #expect(text.contains(sample + "\n"), "missing: \(sample)")
        }
    }

    @Test func labelValuesAreEscaped() {
        var document = sampleDocument()
        document.devices[0].name = #"a"b\c"#
        #expect(PrometheusText.render(document).contains(#"fieldlink_device_up{device="a\"b\\c",bus="line1"} 1"#))
    }

    @Test func theFileIsReplacedWholeWithMode0644() throws {
        let directory = NSTemporaryDirectory() + "metrics-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/fieldlink.prom"
        let old = umask(0o077)
        defer { umask(old) }
        try MetricsTextfileService.write("a 1\n", to: path)
        try MetricsTextfileService.write(text, to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["fieldlink.prom"])
    }
}

/// The clock's state, in the metrics and in `fieldlink status`.
struct ClockStatusTests {
    @Test func metricsAndTextSayWhetherTheClockIsSynchronisedAndWhatIsHeld() throws {
        var document = sampleDocument()
        #expect(!PrometheusText.render(document).contains("fieldlink_clock"))
        document.clock = .init(synchronised: false, heldReadings: 12)
        let metrics = PrometheusText.render(document)
        #expect(metrics.contains("fieldlink_clock_synchronised 0\n") && metrics.contains("fieldlink_clock_held_readings 12\n"))
        #expect(document.text.contains("\nclock: not synchronised, 12 reading(s) held until it is\n"))
        document.clock = .init(synchronised: true, heldReadings: 0)
        #expect(document.text.hasSuffix("\nclock: synchronised\n"))
        #expect(String(decoding: document.json(pretty: false), as: UTF8.self).contains(#""clock":{"held_readings":0,"synchronised":true}"#))
        #expect(try StatusDocument.decode(document.json()) == document)
    }
}
