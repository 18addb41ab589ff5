import BusTestSupport
import FieldlinkCore
@testable import FieldlinkModbus
import Testing

/// Garbage on an RTU line (noise, two talkers, a wrong baud rate for a while): it judges no device,
/// the line is flushed before the next request, and once a device answers cleanly every unit is
/// back at once, whatever backoff it had before.
@Suite struct LineGarbageTests {
    static let bus = "{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0, parity: none, timeout: 200ms, backoff_after: 3, backoff_max: 60s}"
    static let devices = """
        - {name: healthy, bus: rs485, unit: 1, interval: 1s, points: [{name: a, address: 0}]}
        - {name: abused, bus: rs485, unit: 2, interval: 1s, points: [{name: a, address: 0}]}
        """

    @Test func noiseBacksNoDeviceOffAndBothAreBackAtTheirFirstSlotOnceTheLineIsClean() throws {
        let harness = try ModbusHarness(bus: Self.bus, devices: Self.devices,
                                        images: [1: ModbusHarness.contiguous(1), 2: ModbusHarness.contiguous(1)])
        let (owner, transport, sink) = (harness.owner, harness.transport, harness.sink)
        // Twelve slots of noise: the abused unit's answers arrive damaged, the healthy unit's requests
        // are drowned (it never hears them, so it stays silent).
        for _ in 0..<12 {
            transport.script = [.badCRC, .timeout]
            owner.scheduledPoll(1)
            owner.scheduledPoll(0)
            harness.clock.advance(by: .seconds(1))
        }
        #expect(sink.readings.isEmpty)
        #expect(sink.health.filter { $0.backedOffSince != nil }.isEmpty, "silence in the noise backs nobody off")
        let before = transport.requests.count
        owner.scheduledPoll(0)
        owner.scheduledPoll(1)
        #expect(transport.requests.count == before + 2, "both are polled in their next slots")
        #expect(sink.readings.map(\.device) == ["healthy", "abused"])
        #expect(sink.health.last?.ok == true)
    }

    @Test func aDamagedAnswerIsFlushedAtOnceAndAgainRightBeforeTheNextRequest() throws {
        let harness = try ModbusHarness(bus: Self.bus, devices: Self.devices,
                                        images: [1: ModbusHarness.contiguous(1), 2: ModbusHarness.contiguous(1)])
        harness.transport.script = [.badResponse]
        harness.owner.scheduledPoll(1)
        #expect(harness.transport.flushes == 1)
        harness.owner.scheduledPoll(0)
        #expect(harness.transport.flushes == 2, "the noise that went on after the failure is not read as the next answer")
        harness.owner.scheduledPoll(1)
        #expect(harness.transport.flushes == 2, "a clean exchange leaves nothing to flush")
        #expect(harness.sink.readings.map(\.device) == ["healthy", "abused"])
    }

    @Test func aUnitBackedOffBeforeTheNoiseIsProbedAsSoonAsTheLineIsClean() throws {
        let harness = try ModbusHarness(bus: Self.bus, devices: Self.devices, images: [1: ModbusHarness.contiguous(1)])
        let (owner, transport, clock, sink) = (harness.owner, harness.transport, harness.clock, harness.sink)
        for _ in 0..<6 {  // unit 2 has no image: silent, backed off, its wait grown
            owner.scheduledPoll(0)
            owner.scheduledPoll(1)
            clock.advance(by: .seconds(1))
            _ = owner.idle(for: .seconds(1))
        }
        #expect(sink.health.last { $0.device == "abused" }?.backedOffSince != nil)
        transport.script = [.badCRC]
        owner.scheduledPoll(0)
        #expect(!owner.idle(for: .seconds(1)), "no probe before its time")
        transport.images[2] = ModbusHarness.contiguous(1)
        owner.scheduledPoll(0)  // the first clean answer ends the disturbance
        #expect(owner.idle(for: .seconds(1)), "the backed-off unit is probed at the next idle time")
        #expect(sink.readings.last?.device == "abused")
        #expect(sink.health.last { $0.device == "abused" }?.backedOffSince == nil)
    }

    @Test func silenceOnACleanLineStillBacksADeviceOff() throws {
        let harness = try ModbusHarness(bus: Self.bus, devices: Self.devices, images: [1: ModbusHarness.contiguous(1)])
        for _ in 0..<3 {
            harness.owner.scheduledPoll(0)
            harness.owner.scheduledPoll(1)
        }
        #expect(harness.sink.health.last { $0.device == "abused" }?.backedOffSince != nil)
        #expect(harness.sink.health.last { $0.device == "healthy" }?.backedOffSince == nil)
    }
}
