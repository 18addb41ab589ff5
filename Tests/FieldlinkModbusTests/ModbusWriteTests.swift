import BusTestSupport
import FieldlinkCore
@testable import FieldlinkModbus
import Testing

/// Write-back through the bus owner and the Modbus driver, over the fake transport: what goes on
/// the wire, what the device's registers hold after, and what never leaves the gateway.
@Suite(.timeLimit(.minutes(1)))
struct ModbusWriteTests {
    // MARK: Encoding: the exact inverse of decoding

    @Test(arguments: ModbusDataType.allCases.filter { $0 != .raw && $0 != .string && $0 != .bool },
          WordOrder.allCases)
    func everyTypeAndOrderEncodesToWhatDecodesBack(type: ModbusDataType, order: WordOrder) throws {
        let layout = RegisterLayout(type: type, order: order)
        let raw: Value = switch type {
        case .int16: .int(-12_345)
        case .int32: .int(-1_234_567_890)
        case .int64: .int(-1_234_567_890_123_456)
        case .uint16: .uint(0xBEEF)
        case .uint32: .uint(0xDEAD_BEEF)
        case .uint64: .uint(0x0123_4567_89AB_CDEF)
        case .float32: .double(-21.75)
        default: .double(1234.5678)
        }
        let words = try #require(layout.encode(raw))
        #expect(words.count == type.registerCount)
        #expect(layout.decode(words[...]) == raw)
    }

    @Test func aFloat32InCDABPutsTheLowWordFirst() throws {
        // 21.5f is 0x41AC0000: high word 0x41AC, low word 0x0000.
        #expect(RegisterLayout(type: .float32, order: .cdab).encode(.double(21.5)) == [0x0000, 0x41AC])
        #expect(RegisterLayout(type: .float32, order: .abcd).encode(.double(21.5)) == [0x41AC, 0x0000])
        #expect(RegisterLayout(type: .uint32, order: .badc).encode(.uint(0x1122_3344)) == [0x2211, 0x4433])
    }

    @Test func aStringFillsItsRegistersAndRefusesWhatDoesNotFit() {
        #expect(RegisterLayout(type: .string, length: 2).encode(.string("abc")) == [0x6162, 0x6300])
        #expect(RegisterLayout(type: .string, length: 1).encode(.string("abc")) == nil)
        #expect(RegisterLayout(type: .uint16).encode(.uint(70_000)) == nil)
    }

    // MARK: Through the owner and the driver

    static func thermostat(_ extra: String = "") throws -> ModbusHarness {
        var image = RegisterImage()
        image.set(.holding, 0, [215, 0x0000, 0x41AC, 0b1010, 0, 0])
        image.set(.coil, 8, bits: [false, false])
        image.set(.input, 0, [1])
        let devices = """
            - name: hp
              bus: rs485
              unit: 1
              interval: 1s
              points:
                - {name: setpoint, address: 0, scale: 0.1, writable: true, min: 5, max: 30\(extra)}
                - {name: flow, address: 1, type: float32, order: CDAB, writable: true}
                - {name: eco, address: 3, bit: 2, writable: true}
                - {name: relay, table: coil, address: 8, writable: true}
                - {name: relay2, table: coil, address: 9, writable: true}
                - {name: mode, address: 4, map: {0: off, 1: heat}, writable: true}
                - {name: spare, address: 5, writable: true, write_function: 16}
                - {name: measured, table: input, address: 0}
            """
        return try ModbusHarness(devices: devices, images: [1: image])
    }

    @Test func aSetpointIsWrittenWithFunction6AndReadBackAtOnce() throws {
        let harness = try Self.thermostat()
        let results = harness.owner.write(WriteRequest(device: "hp", values: [("setpoint", .double(22.5))], source: "test"))
        #expect(results.map(\.outcome) == [.written(readBack: .double(22.5), readBackError: nil)])
        #expect(harness.transport.writes == [.init(unit: 1, table: .holding, address: 0, count: 1, function: 6)])
        #expect(harness.transport.images[1]?.holding[0] == 225, "the device's own register")
        let readBack = try #require(harness.sink.readings.last)
        #expect(readBack.values.first { $0.name == "setpoint" }?.value == .double(22.5), "the read-back goes out as a normal reading")
    }

    @Test func aFloat32CDABAndACoilGoOnTheWireAsTheReadPathReadsThem() throws {
        let harness = try Self.thermostat()
        let results = harness.owner.write(WriteRequest(device: "hp", values: [("flow", .double(12.25)), ("relay", .bool(true))], source: "test"))
        #expect(results.allSatisfy { $0.ok }, "\(results)")
        #expect(harness.transport.images[1]?.holding[1] == 0x0000)
        #expect(harness.transport.images[1]?.holding[2] == 0x4144, "12.25f is 0x41440000, low word first")
        #expect(harness.transport.images[1]?.coils[8] == true)
        #expect(harness.transport.writes.map(\.function) == [16, 5])
    }

    @Test func aBitInARegisterIsReadModifyWriteAndLeavesTheOtherBits() throws {
        let harness = try Self.thermostat()
        _ = harness.owner.write(WriteRequest(device: "hp", values: [("eco", .bool(true))], source: "test"))
        #expect(harness.transport.images[1]?.holding[3] == 0b1110)
        let requests = harness.transport.requests
        let write = try #require(requests.firstIndex { $0.function != nil })
        #expect(write > 0 && requests[write - 1] == .init(unit: 1, table: .holding, address: 3, count: 1), "read the register first")
        #expect(requests[write] == .init(unit: 1, table: .holding, address: 3, count: 1, function: 6), "then write it")
        _ = harness.owner.write(WriteRequest(device: "hp", values: [("eco", .bool(false))], source: "test"))
        #expect(harness.transport.images[1]?.holding[3] == 0b1010)
    }

    @Test func adjacentCoilsGoInOneFunction15Request() throws {
        let harness = try Self.thermostat()
        let results = harness.owner.write(WriteRequest(device: "hp", values: [("relay2", .bool(true)), ("relay", .bool(true))], source: "test"))
        #expect(results.allSatisfy { $0.ok })
        #expect(harness.transport.writes == [.init(unit: 1, table: .coil, address: 8, count: 2, function: 15)])
    }

    @Test func aLabelIsWrittenAsItsRawValueAndWriteFunction16IsHonoured() throws {
        let harness = try Self.thermostat()
        let results = harness.owner.write(WriteRequest(device: "hp", values: [("mode", .string("heat")), ("spare", .int(7))], source: "test"))
        #expect(results.allSatisfy { $0.ok }, "\(results)")
        #expect(harness.transport.images[1]?.holding[4] == 1)
        #expect(harness.transport.writes.map(\.function) == [16], "mode (default) merges into spare's function 16 request")
    }

    @Test(arguments: [
        ("setpoint", Value.double(42.5), "above the point's max 30"),
        ("setpoint", .double(22.55), "cannot be written exactly"),
        ("setpoint", .string("warm"), "expected a number"),
        ("mode", .string("auto"), "not one of the point's labels"),
        ("measured", .int(1), "not writable"),
        ("nosuch", .int(1), "no point \"nosuch\""),
        ("relay", .int(3), "expected true or false"),
    ])
    func aRefusalNeverReachesTheLine(point: String, value: Value, reason: String) throws {
        let harness = try Self.thermostat()
        let results = harness.owner.write(WriteRequest(device: "hp", values: [(point, value)], source: "test"))
        guard case .refused(let why) = results.first?.outcome else { Issue.record("not refused: \(results)"); return }
        #expect(why.contains(reason), "\(why)")
        #expect(harness.transport.requests.isEmpty, "nothing was sent")
        #expect(harness.sink.readings.isEmpty)
    }

    @Test func oneRefusedPointRefusesTheWholeCommand() throws {
        let harness = try Self.thermostat()
        let results = harness.owner.write(WriteRequest(device: "hp", values: [("relay", .bool(true)), ("setpoint", .double(99))], source: "test"))
        #expect(results.allSatisfy { !$0.ok })
        #expect(harness.transport.requests.isEmpty)
    }

    @Test func anExpiredCommandIsDroppedUnsent() throws {
        let harness = try Self.thermostat()
        let results = harness.owner.write(WriteRequest(device: "hp", values: [("relay", .bool(true))], deadline: harness.clock.now - .seconds(1), source: "test"))
        guard case .refused(let why) = results.first?.outcome else { Issue.record("not refused: \(results)"); return }
        #expect(why.contains("expired"))
        #expect(harness.transport.requests.isEmpty)
    }

    @Test func minWriteIntervalRefusesASecondWriteTooSoon() throws {
        let harness = try Self.thermostat(", min_write_interval: 10s")
        #expect(harness.owner.write(WriteRequest(device: "hp", values: [("setpoint", .double(20))], source: "t")).allSatisfy { $0.ok })
        harness.clock.advance(by: .seconds(3))
        let second = harness.owner.write(WriteRequest(device: "hp", values: [("setpoint", .double(21))], source: "t"))
        #expect(second.allSatisfy { !$0.ok })
        harness.clock.advance(by: .seconds(8))
        #expect(harness.owner.write(WriteRequest(device: "hp", values: [("setpoint", .double(21))], source: "t")).allSatisfy { $0.ok })
        #expect(harness.transport.images[1]?.holding[0] == 210)
    }

    @Test func aModbusExceptionFailsTheCommandAndIsCountedInHealth() throws {
        let harness = try Self.thermostat()
        harness.owner.scheduledPoll(0)
        harness.transport.script = [.exception(.illegalDataValue)]
        let results = harness.owner.write(WriteRequest(device: "hp", values: [("setpoint", .double(20))], source: "test"))
        guard case .failed(let why) = results.first?.outcome else { Issue.record("not failed: \(results)"); return }
        #expect(why.contains("Modbus exception 3"))
        #expect(harness.sink.health.last?.commandsFailed == 1)
        #expect(harness.sink.health.last?.exceptionCode == 3)
        _ = harness.owner.write(WriteRequest(device: "hp", values: [("setpoint", .double(50))], source: "test"))
        #expect(harness.sink.health.last?.commandsRefused == 1)
    }

    @Test func aWriteBetweenPollsLeavesTheScheduleToTheLoop() throws {
        // The owner runs one transaction at a time: poll, command (write + read-back), poll.
        let harness = try Self.thermostat()
        harness.owner.scheduledPoll(0)
        let readsPerPoll = harness.transport.requests.count
        _ = harness.owner.write(WriteRequest(device: "hp", values: [("relay", .bool(true))], source: "test"))
        harness.owner.scheduledPoll(0)
        #expect(harness.transport.requests.count == readsPerPoll * 3 + 1)
        #expect(harness.sink.readings.count == 3)
        #expect(harness.sink.readings.last?.values.first { $0.name == "relay" }?.value == .bool(true))
    }
}
