import FieldlinkCore
import FieldlinkPipeline
import Foundation
import Testing

struct HomeAssistantDiscoveryTests {
    let discovery = HomeAssistantDiscovery(prefix: "ha", gateway: "gw1", gatewayStatusTopic: "fl/gw1/status",
                                           healthTopicBase: "fl/gw1/status", version: "9.9")

    @Test(arguments: [
        ("V", "voltage", "measurement", "V"), ("A", "current", "measurement", "A"), ("W", "power", "measurement", "W"),
        ("kW", "power", "measurement", "kW"), ("Wh", "energy", "total_increasing", "Wh"), ("kWh", "energy", "total_increasing", "kWh"),
        ("°C", "temperature", "measurement", "°C"), ("°F", "temperature", "measurement", "°F"), ("%RH", "humidity", "measurement", "%"),
        ("hPa", "pressure", "measurement", "hPa"), ("Pa", "pressure", "measurement", "Pa"), ("bar", "pressure", "measurement", "bar"),
        ("lx", "illuminance", "measurement", "lx"), ("Hz", "frequency", "measurement", "Hz"), ("VA", "apparent_power", "measurement", "VA"),
        ("var", "reactive_power", "measurement", "var"),
    ])
    func deviceClassFromUnit(unit: String, deviceClass: String, stateClass: String, spelled: String) {
        let mapped = HomeAssistantDiscovery.classes(forUnit: unit)
        #expect(mapped.deviceClass == deviceClass)
        #expect(mapped.stateClass == stateClass)
        #expect(mapped.unit == spelled)
    }

    @Test(arguments: [("%", "measurement"), ("°", "measurement"), ("rpm", "measurement"), ("kvarh", "total_increasing")])
    func unitsWithoutADeviceClass(unit: String, stateClass: String) {
        let mapped = HomeAssistantDiscovery.classes(forUnit: unit)
        #expect(mapped.deviceClass == nil)
        #expect(mapped.stateClass == stateClass)
        #expect(mapped.unit == unit)
    }

    @Test func aNumericPointIsASensorWithAvailabilityOfGatewayAndDevice() throws {
        var meter = device("meter1", topic: "fl/gw1/meter1", points: [pointWithUnit("voltage", "V"), pointWithUnit("import_energy", "kWh")])
        meter.profile = ProfileReference(name: "eastron-sdm120", file: "/x.yaml", model: "Eastron SDM120-Modbus", manufacturer: "Eastron")
        let entities = discovery.entities(of: [meter])
        #expect(entities.keys.sorted() == ["ha/sensor/gw1/meter1_import_energy/config", "ha/sensor/gw1/meter1_voltage/config"])
        let voltage = try #require(entities["ha/sensor/gw1/meter1_voltage/config"])
        #expect(voltage.state_topic == "fl/gw1/meter1")
        #expect(voltage.value_template == "{{ value_json.values.voltage }}")
        #expect(voltage.unit_of_measurement == "V")
        #expect(voltage.device_class == "voltage")
        #expect(voltage.state_class == "measurement")
        #expect(voltage.unique_id == "fieldlink_gw1_meter1_voltage")
        #expect(voltage.device.identifiers == ["fieldlink_gw1_meter1"])
        #expect(voltage.device.name == "gw1 meter1")
        #expect(voltage.device.manufacturer == "Eastron")
        #expect(voltage.device.model == "Eastron SDM120-Modbus")
        #expect(voltage.availability_mode == "all")
        #expect(voltage.availability.count == 2)
        #expect(voltage.availability.map(\.topic) == ["fl/gw1/status", "fl/gw1/status/meter1"])
        #expect(voltage.availability.map(\.value_template) == [nil, "{{ value_json.state }}"])
        #expect(voltage.availability.map(\.payload_available) == ["online", "ok"])
        #expect(voltage.availability.map(\.payload_not_available) == ["offline", "failing"])
        #expect(voltage.origin.name == "fieldlink" && voltage.origin.sw_version == "9.9")
        #expect(entities["ha/sensor/gw1/meter1_import_energy/config"]?.state_class == "total_increasing")
    }

    @Test func coilsAreBinarySensorsLabelsAreStringSensorsOwnTopicsAreFollowed() throws {
        var status = point("state", kind: .uint(bits: 16))
        status.labels = [0: "off", 1: "on"]
        let own = point("alarm", kind: .bool, route: PublishRoute(topic: "fl/gw1/plc/alarm", qos: 1, retain: true))
        let entities = discovery.entities(of: [device("plc", points: [own, status, point("count-a", kind: nil)])])
        let alarm = try #require(entities["ha/binary_sensor/gw1/plc_alarm/config"])
        #expect(alarm.state_topic == "fl/gw1/plc/alarm")
        #expect(alarm.value_template == "{{ 'ON' if value_json.values.alarm else 'OFF' }}")
        #expect(alarm.payload_on == "ON" && alarm.payload_off == "OFF")
        #expect(alarm.state_class == nil && alarm.device_class == nil)
        let state = try #require(entities["ha/sensor/gw1/plc_state/config"])
        #expect(state.state_class == nil && state.unit_of_measurement == nil)
        // A name that is no template identifier is indexed; the topic level keeps only what Home Assistant allows.
        let count = try #require(entities["ha/sensor/gw1/plc_count-a/config"])
        #expect(count.value_template == "{{ value_json.values['count-a'] }}")
    }

    @Test func cborAndSparkplugDevicesAreNotAnnounced() {
        let devices = [device("c", format: .cbor, points: [point("x")]), device("s", format: .sparkplugb, points: [point("y")])]
        #expect(discovery.entities(of: devices).isEmpty)
        #expect(HomeAssistantDiscovery.notAnnounced(devices[0])?.contains("CBOR") == true)
        #expect(HomeAssistantDiscovery.notAnnounced(devices[1])?.contains("Sparkplug") == true)
    }

    @Test func batchedDevicesAreNotAnnounced() {
        let batched = device("b", batch: BatchPolicy(), points: [point("x")])
        #expect(discovery.entities(of: [batched]).isEmpty)
        #expect(HomeAssistantDiscovery.notAnnounced(batched)?.contains("batches") == true)
    }

    @Test func removalIsAnEmptyRetainedConfig() throws {
        let before = discovery.entities(of: [device("m", points: [pointWithUnit("v", "V"), pointWithUnit("i", "A")])])
        let after = discovery.entities(of: [device("m", points: [pointWithUnit("v", "V")])])
        let messages = HomeAssistantDiscovery.messages(announcing: after, removing: Set(before.keys))
        #expect(messages.map(\.topic) == ["ha/sensor/gw1/m_i/config", "ha/sensor/gw1/m_v/config"])
        #expect(messages[0].payload.isEmpty && messages[0].retain)
        #expect(messages[1].retain && messages[1].qos == 1)
        let decoded = try JSONDecoder().decode(HomeAssistantDiscovery.EntityConfig.self, from: Data(messages[1].payload))
        #expect(decoded == after["ha/sensor/gw1/m_v/config"])
    }

    @Test func withoutAGatewayStatusOnlyDeviceHealthDecides() throws {
        var sparkplugGateway = discovery
        sparkplugGateway.gatewayStatusTopic = nil
        let entity = try #require(sparkplugGateway.entities(of: [device("m", points: [pointWithUnit("v", "V")])]).values.first)
        #expect(entity.availability.map(\.topic) == ["fl/gw1/status/m"])
    }

    @Test func writablePointsAreNumbersSwitchesAndSelectsWithTheirSetTopic() throws {
        var setpoint = pointWithUnit("setpoint", "°C")
        setpoint.transform = LinearTransform(scale: 0.1, offset: 0)
        setpoint.write = WriteLimits(min: 5, max: 30)
        var relay = point("relay", kind: .bool)
        relay.write = WriteLimits()
        var mode = point("mode", kind: .uint(bits: 16))
        mode.labels = [2: "manual", 1: "auto"]
        mode.write = WriteLimits()
        let entities = discovery.entities(of: [device("pump", topic: "fl/gw1/pump", points: [setpoint, relay, mode])])
        #expect(entities.keys.sorted() == ["ha/number/gw1/pump_setpoint/config", "ha/select/gw1/pump_mode/config", "ha/switch/gw1/pump_relay/config"])
        let number = try #require(entities["ha/number/gw1/pump_setpoint/config"])
        #expect(number.command_topic == "fl/gw1/pump/set/setpoint")
        #expect(number.min == 5 && number.max == 30 && number.step == 0.1 && number.mode == "box")
        #expect(number.unit_of_measurement == "°C" && number.device_class == "temperature" && number.state_class == nil)
        let relaySwitch = try #require(entities["ha/switch/gw1/pump_relay/config"])
        #expect(relaySwitch.command_topic == "fl/gw1/pump/set/relay")
        #expect(relaySwitch.payload_on == "true" && relaySwitch.payload_off == "false")
        #expect(relaySwitch.state_on == "ON" && relaySwitch.state_off == "OFF")
        #expect(relaySwitch.value_template == "{{ 'ON' if value_json.values.relay else 'OFF' }}")
        let select = try #require(entities["ha/select/gw1/pump_mode/config"])
        #expect(select.options == ["auto", "manual"], "labels in the order of their raw values")
        #expect(select.command_topic == "fl/gw1/pump/set/mode")
        #expect(select.availability.count == 2, "a control is unavailable with its device, like a sensor")
    }

    private func pointWithUnit(_ name: String, _ unit: String) -> PointConfig {
        var point = point(name, kind: .float32)
        point.unit = unit
        return point
    }
}
