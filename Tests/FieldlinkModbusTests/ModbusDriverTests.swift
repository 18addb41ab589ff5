import BusTestSupport
import FieldlinkCore
@testable import FieldlinkModbus
import Logging
import Testing

/// One Modbus bus as the gateway runs it (driver and bus owner), over the fake transport and the
/// test clock: every wait is the clock's, so none of these tests sleeps.
struct ModbusHarness {
    let config: Config
    let clock = ManualClock()
    let sink = RecordingSink()
    let transport: FakeModbusTransport
    let owner: BusOwner<ModbusDriver>

    init(bus: String = "{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0, parity: none}", devices: String, images: [Int: RegisterImage]) throws {
        let yaml = """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [\(bus)]
            devices:
            \(devices.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n"))
            """
        config = try ConfigLoader(families: [ModbusFamily()]).parse(yaml: yaml, file: "/nonexistent-fieldlink-test/fieldlink.yaml")
        let options = config.buses[0].options as! any ModbusBusOptions
        let transport = FakeModbusTransport(images: images, clock: clock)
        self.transport = transport
        let driver = ModbusDriver(options: options, devices: config.devices.map { PolledDevice(config: $0, bus: options) }, clock: clock,
                                  logger: Logger(label: "test"), openTransport: { transport })
        owner = BusOwner(driver: driver, devices: config.devices, sink: sink, clock: clock, logger: Logger(label: "test"))
    }

    /// Holding registers 0..<count holding 100, 101, ...
    static func contiguous(_ count: Int) -> RegisterImage {
        var image = RegisterImage()
        image.set(.holding, 0, (0..<count).map { UInt16(100 + $0) })
        return image
    }
}

@Suite struct ModbusDriverTests {
    @Test func aRetryResendsARequestThatGotNoAnswerAndFlushesFirst() throws {
        let harness = try ModbusHarness(devices: "- {name: m, bus: rs485, unit: 1, interval: 1s, retries: 1, timeout: 300ms, points: [{name: a, address: 0}]}",
                                        images: [1: ModbusHarness.contiguous(1)])
        harness.transport.script = [.timeout]
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.first?.values.first?.value == .uint(100))
        #expect(harness.transport.requests.count == 2)
        #expect(harness.transport.flushes == 2, "a late answer is flushed at once and again right before the retry")
        #expect(harness.clock.offset >= .milliseconds(300), "the first attempt waited out its timeout")
        #expect(harness.sink.health.last?.timeouts == 1)
    }

    @Test func withoutRetriesADamagedAnswerFailsItsPointsOnlyAndIsCounted() throws {
        var image = ModbusHarness.contiguous(1)
        image.set(.holding, 200, [7])
        let harness = try ModbusHarness(devices: "- {name: m, bus: rs485, unit: 1, interval: 1s, points: [{name: a, address: 0}, {name: b, address: 200}]}",
                                        images: [1: image])
        harness.transport.script = [nil, .badCRC]
        harness.owner.scheduledPoll(0)
        let reading = try #require(harness.sink.readings.first)
        #expect(reading.values.map(\.name) == ["a"])
        #expect(reading.errors.map(\.name) == ["b"])
        #expect(harness.sink.health.last?.crcErrors == 1)
    }

    @Test func aMergedReadRejectedWithExceptionTwoIsSplitForGood() throws {
        var image = RegisterImage()
        image.set(.holding, 0, [1])
        image.set(.holding, 2, [3])
        let harness = try ModbusHarness(devices: "- {name: m, bus: rs485, unit: 1, interval: 1s, max_gap: 4, points: [{name: a, address: 0}, {name: b, address: 2}]}",
                                        images: [1: image])
        harness.owner.scheduledPoll(0)
        let requests = harness.transport.requests.map { "\($0.address)+\($0.count)" }
        #expect(requests == ["0+3", "0+1", "2+1"])
        #expect(harness.sink.readings.first?.values.map(\.value) == [.uint(1), .uint(3)])
        harness.owner.scheduledPoll(0)
        #expect(harness.transport.requests.dropFirst(3).map { "\($0.address)+\($0.count)" } == ["0+1", "2+1"], "the split plan stays")
    }

    @Test func aDeviceSilentOnItsFirstRequestCostsTheLineOneTimeoutNotOnePerRequest() throws {
        let harness = try ModbusHarness(devices: "- {name: m, bus: rs485, unit: 5, interval: 1s, timeout: 200ms, points: [{name: a, address: 0}, {name: b, address: 500}, {name: c, address: 900}]}",
                                        images: [:])
        harness.owner.scheduledPoll(0)
        #expect(harness.transport.requests.count == 1)
        #expect(harness.clock.offset < .milliseconds(300))
        #expect(harness.sink.readings.isEmpty)
        #expect(harness.sink.health.last?.error == "all 3 point(s) failed: no response (timeout)")
    }

    @Test func aSilentDeviceIsBackedOffProbedInIdleTimeThatFitsAndComesBack() throws {
        let harness = try ModbusHarness(
            bus: "{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0, parity: none, timeout: 200ms, backoff_after: 3, backoff_max: 4s}",
            devices: "- {name: dead, bus: rs485, unit: 3, interval: 1s, points: [{name: a, address: 0}]}", images: [:])
        let (owner, transport, clock, sink) = (harness.owner, harness.transport, harness.clock, harness.sink)
        for _ in 0..<3 { owner.scheduledPoll(0) }
        #expect(transport.requests.count == 3)
        #expect(sink.health.last?.backedOffSince != nil, "the backoff is published")
        #expect(sink.health.last?.consecutiveFailures == 3)

        owner.scheduledPoll(0)
        #expect(transport.requests.count == 3, "its own slot is skipped while backed off")
        #expect(!owner.idle(for: .seconds(1)), "no probe before its time")
        clock.advance(by: .seconds(2))  // the first wait: two intervals
        #expect(!owner.idle(for: .milliseconds(100)), "a probe that would not fit in the idle time waits")
        #expect(owner.idle(for: .seconds(1)))
        #expect(transport.requests.count == 4, "probed once")

        transport.images[3] = ModbusHarness.contiguous(1)
        clock.advance(by: .seconds(4))  // the next wait: four intervals, capped at backoff_max
        #expect(owner.idle(for: .seconds(1)))
        #expect(sink.readings.last?.values.first?.value == .uint(100))
        #expect(sink.health.last?.ok == true && sink.health.last?.backedOffSince == nil)
        owner.scheduledPoll(0)
        #expect(transport.requests.count == 6, "polled on its schedule again")
    }

    @Test func aFailedLineDoesNotJudgeTheDevice() throws {
        let yaml = "- {name: m, bus: rs485, unit: 1, interval: 1s, points: [{name: a, address: 0}]}"
        let harness = try ModbusHarness(devices: yaml, images: [:])
        let options = harness.config.buses[0].options as! any ModbusBusOptions
        let driver = ModbusDriver(options: options, devices: harness.config.devices.map { PolledDevice(config: $0, bus: options) }, clock: harness.clock,
                                  logger: Logger(label: "test"), openTransport: { () throws(ModbusError) -> any ModbusTransport in
                                      throw ModbusError(code: .port, detail: "cannot open /dev/ttyUSB0: No such file or directory")
                                  })
        let owner = BusOwner(driver: driver, devices: harness.config.devices, sink: harness.sink, clock: harness.clock, logger: Logger(label: "test"))
        for _ in 0..<5 { owner.scheduledPoll(0) }
        #expect(harness.sink.health.last?.error == "all 1 point(s) failed: cannot open /dev/ttyUSB0: No such file or directory")
        #expect(harness.sink.health.last?.consecutiveFailures == 0, "a missing port says nothing about the device: never backed off")
    }

    @Test func anErrorNamesWhereOnTheBusItHappened() {
        let error = ModbusError(code: .timeout, detail: "no response (timeout)").at(unit: 3, table: .input, address: 100)
        #expect(error.location == "unit 3, input 100")
        #expect(error.description == "no response (timeout)", "a point's error text stays short")
    }
}
