import Foundation
import Testing
import TestSupport

/// Home Assistant MQTT discovery against a real mosquitto: the retained configs as Home Assistant
/// would read them, their availability followed through the topics they name, removal on reload.
@Suite("Home Assistant discovery")
struct HomeAssistantTests {
    /// The last message on each topic under `homeassistant/#` (an empty payload is a removal).
    static func configs(_ subscriber: Subscriber) -> [String: String] {
        var last: [String: String] = [:]
        for message in subscriber.messages { last[message.topic] = message.payload }
        return last
    }

    static func decode(_ payload: String?) -> [String: Any]? {
        payload.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    /// Evaluates a config's availability as Home Assistant does with `availability_mode: all`:
    /// every topic's retained payload (through its `{{ value_json.state }}` template, the only one
    /// fieldlink writes) must equal its `payload_available`.
    static func isAvailable(_ config: [String: Any], broker: Broker) throws -> Bool {
        #expect(config["availability_mode"] as? String == "all")
        let entries = try #require(config["availability"] as? [[String: Any]])
        for entry in entries {
            let topic = try #require(entry["topic"] as? String)
            guard let payload = try broker.retained(topic) else { return false }
            var value = payload
            if let template = entry["value_template"] as? String {
                try #require(template == "{{ value_json.state }}", "a template this test cannot evaluate: \(template)")
                value = try #require(decode(payload)?["state"] as? String, "\(topic): \(payload)")
            }
            if value != entry["payload_available"] as? String { return false }
        }
        return true
    }

    @Test("a meter profile device, an I2C chip and a serial sensor announced field by field; availability follows dead devices and a stopped gateway",
          .timeLimit(.minutes(2)))
    func discoveryAndAvailability() throws {
        let peers = try Peers("ha-discovery")
        defer { peers.stop() }
        let (workspace, broker) = (peers.workspace, peers.broker)
        try FileManager.default.createSymbolicLink(atPath: "\(workspace.path)/devices", withDestinationPath: "\(packageRoot)/devices")
        let discovery = try Subscriber(broker: broker, topic: "homeassistant/#", in: workspace.path, name: "ha-sub")
        defer { discovery.process.stop() }
        let image: [Int: [[String: Any]]] = [1: [
            ["table": "input", "address": 0, "type": "float32", "value": 230.5],
            ["table": "input", "address": 0x46, "type": "float32", "value": 50.0],
            ["table": "input", "address": 0x48, "type": "float32", "value": 1234.5],
        ]]
        let simulator = try ModbusSimulator(tcpImage: image, in: workspace.path)
        defer { simulator.process.stop() }
        let port = try #require(simulator.tcpPort)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let sensor = try TextSensor.stream("T=21.5 H=40\n", port: pty.deviceSide, in: workspace.path)
        defer { sensor.stop() }
        let config = try workspace.write(configHead(gateway: "gw-ha", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            homeassistant: {enabled: true}
            buses:
              - {name: plc, type: modbus-tcp, host: 127.0.0.1, port: \(port), timeout: 300ms}
              - {name: uart, type: serial, port: \(pty.gatewaySide), baud: 9600}
              - {name: header, type: i2c, device: \(workspace.path)/i2c-9}
            devices:
              - {name: meter, bus: plc, unit: 1, interval: 300ms, profile: eastron-sdm120, profile_points: [voltage, frequency, import_active_energy]}
              - {name: dead, bus: plc, unit: 7, interval: 300ms, points: [{name: relay, table: coil, address: 0}]}
              - name: climate
                bus: uart
                interval: 500ms
                parser: keyvalue
                points: [{name: temperature, field: T, unit: °C}, {name: humidity, field: H, unit: "%RH"}]
              - {name: room, bus: header, driver: bme280, interval: 300ms, points: [{name: pressure}, {name: rh, measure: humidity}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }

        let expected = ["homeassistant/sensor/gw-ha/meter_voltage/config", "homeassistant/sensor/gw-ha/meter_frequency/config",
                        "homeassistant/sensor/gw-ha/meter_import_active_energy/config", "homeassistant/binary_sensor/gw-ha/dead_relay/config",
                        "homeassistant/sensor/gw-ha/climate_temperature/config", "homeassistant/sensor/gw-ha/climate_humidity/config",
                        "homeassistant/sensor/gw-ha/room_pressure/config", "homeassistant/sensor/gw-ha/room_rh/config"]
        try #require(discovery.waitFor(timeout: .seconds(15)) { _ in Set(Self.configs(discovery).keys) == Set(expected) },
                     "configs: \(Self.configs(discovery).keys.sorted()); log:\n\(gateway.stderr)")
        #expect(discovery.messages.allSatisfy { !$0.payload.isEmpty })
        let configs = Self.configs(discovery)

        let voltage = try #require(Self.decode(configs[expected[0]]))
        #expect(voltage["name"] as? String == "voltage")
        #expect(voltage["unique_id"] as? String == "fieldlink_gw-ha_meter_voltage")
        #expect(voltage["state_topic"] as? String == "fieldlink/gw-ha/meter")
        #expect(voltage["value_template"] as? String == "{{ value_json.values.voltage }}")
        #expect(voltage["unit_of_measurement"] as? String == "V")
        #expect(voltage["device_class"] as? String == "voltage")
        #expect(voltage["state_class"] as? String == "measurement")
        let device = try #require(voltage["device"] as? [String: Any])
        #expect(device["identifiers"] as? [String] == ["fieldlink_gw-ha_meter"])
        #expect(device["name"] as? String == "gw-ha meter")
        #expect(device["manufacturer"] as? String == "Eastron")
        #expect(device["model"] as? String == "Eastron SDM120-Modbus")
        let availability = try #require(voltage["availability"] as? [[String: Any]])
        #expect(availability.map { $0["topic"] as? String } == ["fieldlink/gw-ha/status", "fieldlink/gw-ha/status/meter"])
        let energy = try #require(Self.decode(configs[expected[2]]))
        #expect(energy["device_class"] as? String == "energy" && energy["state_class"] as? String == "total_increasing")
        #expect(energy["unit_of_measurement"] as? String == "kWh")
        let frequency = try #require(Self.decode(configs[expected[1]]))
        #expect(frequency["device_class"] as? String == "frequency")
        let relay = try #require(Self.decode(configs[expected[3]]))
        #expect(relay["value_template"] as? String == "{{ 'ON' if value_json.values.relay else 'OFF' }}")
        #expect(relay["payload_on"] as? String == "ON" && relay["payload_off"] as? String == "OFF")

        let temperature = try #require(Self.decode(configs[expected[4]]))
        #expect(temperature["state_topic"] as? String == "fieldlink/gw-ha/climate")
        #expect(temperature["unit_of_measurement"] as? String == "°C" && temperature["device_class"] as? String == "temperature")
        #expect((temperature["device"] as? [String: Any])?["manufacturer"] == nil, "no profile, no manufacturer")
        let humidity = try #require(Self.decode(configs[expected[5]]))
        #expect(humidity["unit_of_measurement"] as? String == "%" && humidity["device_class"] as? String == "humidity")
        #expect(humidity["value_template"] as? String == "{{ value_json.values.humidity }}")

        // An I2C chip's points take their unit from its driver: BME280 pressure in Pa, humidity in %RH.
        let pressure = try #require(Self.decode(configs[expected[6]]))
        #expect(pressure["unit_of_measurement"] as? String == "Pa" && pressure["device_class"] as? String == "pressure")
        #expect(pressure["state_topic"] as? String == "fieldlink/gw-ha/room")
        #expect(pressure["value_template"] as? String == "{{ value_json.values.pressure }}")
        let rh = try #require(Self.decode(configs[expected[7]]))
        #expect(rh["unit_of_measurement"] as? String == "%" && rh["device_class"] as? String == "humidity")
        #expect(rh["state_class"] as? String == "measurement")

        // The value template finds the value in what the state topic carries.
        try #require(peers.subscriber.waitFor(device: "meter", count: 2, timeout: .seconds(15)), "log:\n\(gateway.stderr)")
        #expect(peers.subscriber.telemetry(device: "meter").last?.valueText("voltage") == "230.5")

        // A live meter is available; a meter that never answers is not.
        #expect(eventually(timeout: .seconds(15)) { (try? Self.isAvailable(voltage, broker: broker)) == true },
                "meter not available; log:\n\(gateway.stderr)")
        #expect(eventually(timeout: .seconds(15)) { (try? broker.retained("fieldlink/gw-ha/status/dead")) != nil })
        #expect(try Self.isAvailable(relay, broker: broker) == false)
        // The I2C adapter does not exist: that device is unavailable too.
        #expect(eventually(timeout: .seconds(15)) { (try? broker.retained("fieldlink/gw-ha/status/room")) != nil })
        #expect(try Self.isAvailable(pressure, broker: broker) == false)
        #expect(eventually(timeout: .seconds(15)) { (try? Self.isAvailable(temperature, broker: broker)) == true },
                "serial sensor not available; log:\n\(gateway.stderr)")

        // A stopped gateway takes every entity with it; a clean stop removes no config.
        #expect(gateway.stop() == 0)
        #expect(try Self.isAvailable(voltage, broker: broker) == false)
        #expect(try Self.isAvailable(temperature, broker: broker) == false)
        #expect(try broker.retained(expected[0]) != nil)
    }

    @Test("a reload removes what left the config with an empty retained config; check names the devices it cannot announce",
          .timeLimit(.minutes(2)))
    func removalOnReload() throws {
        let peers = try Peers("ha-reload")
        defer { peers.stop() }
        let (workspace, broker) = (peers.workspace, peers.broker)
        let discovery = try Subscriber(broker: broker, topic: "ha/#", in: workspace.path, name: "ha-sub")
        defer { discovery.process.stop() }
        let image: [Int: [[String: Any]]] = [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7],
                                                 ["table": "holding", "address": 1, "type": "uint16", "value": 8]]]
        let simulator = try ModbusSimulator(tcpImage: image, in: workspace.path)
        defer { simulator.process.stop() }
        let port = try #require(simulator.tcpPort)
        func write(_ devices: String) throws -> String {
            try workspace.write(configHead(gateway: "gw-r", stateDirectory: "\(workspace.path)/state", broker: broker) + """
                homeassistant: {enabled: true, prefix: ha}
                buses:
                  - {name: plc, type: modbus-tcp, host: 127.0.0.1, port: \(port), timeout: 300ms}
                devices:
                \(devices)

                """, to: "fieldlink.yaml")
        }
        let config = try write("""
              - {name: a, bus: plc, interval: 300ms, points: [{name: x, address: 0, unit: W}, {name: y, address: 1}]}
              - {name: b, bus: plc, interval: 300ms, points: [{name: z, address: 0}]}
              - {name: c, bus: plc, interval: 300ms, format: cbor, points: [{name: w, address: 0}]}
            """)
        let check = try runFieldlink(["check", "--config", config], in: workspace.path, name: "check")
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("Home Assistant discovery on ha/…/config: 3 entities"), "\(check.stdout)")
        #expect(check.stdout.contains("device c not announced: its payload is CBOR"), "\(check.stdout)")

        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        let all = ["ha/sensor/gw-r/a_x/config", "ha/sensor/gw-r/a_y/config", "ha/sensor/gw-r/b_z/config"]
        try #require(discovery.waitFor(timeout: .seconds(15)) { _ in Set(Self.configs(discovery).keys) == Set(all) },
                     "configs: \(Self.configs(discovery)); log:\n\(gateway.stderr)")

        // Point y and device b leave; x stays.
        _ = try write("""
              - {name: a, bus: plc, interval: 300ms, points: [{name: x, address: 0, unit: W}]}
              - {name: c, bus: plc, interval: 300ms, format: cbor, points: [{name: w, address: 0}]}
            """)
        gateway.signal(SIGHUP)
        #expect(discovery.waitFor(timeout: .seconds(15)) { _ in
            let configs = Self.configs(discovery)
            return configs[all[1]] == "" && configs[all[2]] == ""
        }, "no removal; configs: \(Self.configs(discovery)); log:\n\(gateway.stderr)")
        #expect(Self.decode(Self.configs(discovery)[all[0]])?["device_class"] as? String == "power")
        #expect(try broker.retained(all[1]) == nil)
        #expect(try broker.retained(all[2]) == nil)
        #expect(try broker.retained(all[0]) != nil)
        #expect(gateway.stop() == 0)
    }
}
