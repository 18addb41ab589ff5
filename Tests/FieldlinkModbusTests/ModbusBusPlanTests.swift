import FieldlinkCore
@testable import FieldlinkModbus
import Testing

/// `fieldlink plan`'s figures against line times worked out by hand: 11 bits per character, a read
/// request of 8 bytes, an answer of 5 + 2N bytes (registers) or 5 + ceil(N/8) (bits), a 3.5-character
/// silence before each frame (1.75 ms above 19200 baud), or `delay_before_request` if longer.
@Suite struct ModbusBusPlanTests {
    static func config(_ body: String) throws -> Config {
        try ConfigLoader(families: [ModbusFamily()]).parse(yaml: """
            gateway: {id: gw, state_dir: /tmp/mbus-plan-test}
            mqtt: {url: "mqtt://127.0.0.1:1883"}
            \(body)
            """, file: "/tmp/plan.yaml", environment: [:])
    }

    static func plans(_ body: String) throws -> [ModbusBusPlan] {
        let config = try config(body)
        return config.buses.map { ModbusBusPlan(bus: $0, devices: config.devices(on: $0)) }
    }

    static func points(_ count: Int, table: String = "holding") -> String {
        (0..<count).map { "{name: p\($0), table: \(table), address: \($0)}" }.joined(separator: ", ")
    }

    /// Milliseconds, compared to a microsecond.
    static func close(_ duration: Duration?, _ milliseconds: Double) -> Bool {
        guard let duration else { return false }
        return abs(duration.seconds * 1_000 - milliseconds) < 0.001
    }

    @Test func rtuLineTimesAreWorkedOutFromFrameSizes() throws {
        let plans = try Self.plans("""
            buses:
              - {name: slow, type: modbus-rtu, port: /dev/ttyS0, baud: 9600}
            devices:
              - {name: meter, bus: slow, unit: 1, interval: 1s, points: [\(Self.points(20))]}
              - {name: relays, bus: slow, unit: 2, interval: 100ms, points: [\(Self.points(10, table: "coil"))]}
              - {name: lazy, bus: slow, unit: 3, interval: 1s, delay_before_request: 10ms, points: [{name: t, address: 0, type: float32}]}
            """)
        let devices = plans[0].devices
        // 20 registers: (8 + 45 + 2 × 3.5) characters × 11 bits / 9600 = 660 / 9600 s.
        #expect(devices[0].transactions.count == 1)
        #expect(devices[0].transactions[0].responseBytes == 45)
        #expect(Self.close(devices[0].lineTime, 68.75))
        // 10 coils: (8 + 7 + 7) × 11 / 9600 = 242 / 9600 s.
        #expect(devices[1].transactions[0].responseBytes == 7)
        #expect(Self.close(devices[1].lineTime, 25.208_333))
        // A float32 with 10 ms before the request: (8 + 9 + 3.5) × 11 / 9600 s + 10 ms.
        #expect(Self.close(devices[2].lineTime, 33.489_583))
        // 68.75/1000 + 25.208/100 + 33.490/1000.
        #expect(abs((plans[0].load ?? 0) - 0.354_322_917) < 1e-6)
        #expect(plans[0].warnings.isEmpty)
        let text = plans[0].text
        #expect(text.contains("holding 0-19 (20 registers, 20 point(s)): 8 + 45 bytes, 68.75 ms"), "\(text)")
        #expect(text.contains("device meter (unit 1) every 1s: 1 request(s) per poll (20 one per point), 68.75 ms of line time (6.9% of its interval)"), "\(text)")
        #expect(text.contains("line busy 35.4% of the time"), "\(text)")
    }

    @Test func fastLinesUseTheFixedSilenceAndWarnWhenDevicesDoNotFit() throws {
        let plans = try Self.plans("""
            buses:
              - {name: fast, type: modbus-rtu, port: /dev/ttyS0, baud: 38400}
            devices:
              - {name: big, bus: fast, unit: 1, interval: 50ms, points: [{name: a, address: 0}, {name: b, address: 124}]}
            """)
        // 125 registers (the gap of 123 is bridged only with max_gap; the default is 8): two requests.
        #expect(plans[0].devices[0].transactions.count == 2)
        // Each: (8 + 7) × 11 / 38400 s + 2 × 1.75 ms.
        #expect(Self.close(plans[0].devices[0].lineTime, 2 * (15.0 * 11 / 38.4 + 3.5)))
        let wide = try Self.plans("""
            buses:
              - {name: fast, type: modbus-rtu, port: /dev/ttyS0, baud: 38400}
            devices:
              - {name: big, bus: fast, unit: 1, interval: 50ms, max_gap: 125, points: [{name: a, address: 0}, {name: b, address: 124}]}
            """)
        // One request of 125: (8 + 255) × 11 / 38400 s + 3.5 ms = 78.839 ms, more than the 50 ms interval.
        #expect(Self.close(wide[0].devices[0].lineTime, 263.0 * 11 / 38.4 + 3.5))
        #expect(wide[0].warnings.count == 2, "\(wide[0].warnings)")
        #expect(wide[0].text.contains("WARNING: device big: one poll takes at least 78.84 ms, longer than its 50ms interval"), "\(wide[0].text)")
        #expect(wide[0].text.contains("WARNING: bus fast: the devices need 157.7% of the line"), "\(wide[0].text)")
    }

    @Test func mergeFalseCostsOneRequestPerPoint() throws {
        let plans = try Self.plans("""
            buses:
              - {name: line, type: modbus-rtu, port: /dev/ttyS0}
            devices:
              - {name: picky, bus: line, unit: 1, interval: 1s, merge: false, points: [\(Self.points(5))]}
            """)
        #expect(plans[0].devices[0].transactions.map(\.request.count) == [1, 1, 1, 1, 1])
    }

    @Test func tcpBusesHaveNoLineTime() throws {
        let plans = try Self.plans("""
            buses:
              - {name: plc, type: modbus-tcp, host: 10.0.0.5}
            devices:
              - {name: inverter, bus: plc, interval: 1s, points: [\(Self.points(3))]}
            """)
        #expect(plans[0].load == nil)
        #expect(plans[0].devices[0].unit == 1)
        #expect(plans[0].text.contains("TCP: no line time estimate"))
    }
}

@Suite struct ModbusBusConfigTests {
    @Test func tcpBusKeysAndDefaults() throws {
        let config = try ModbusBusPlanTests.config("""
            buses:
              - {name: plc, type: modbus-tcp, host: plc.local, timeout: 2s, retries: 2}
              - {name: other, type: modbus-tcp, host: "::1", port: 1502}
            devices:
              - {name: a, bus: plc, interval: 1s, points: [{name: x, address: 0}]}
              - {name: b, bus: other, unit: 255, interval: 1s, points: [{name: x, address: 0}]}
            """)
        let plc = try #require(config.buses[0].options as? ModbusTCPBusOptions)
        #expect(plc.host == "plc.local" && plc.port == 502 && plc.defaults.timeout == .seconds(2) && plc.defaults.retries == 2)
        #expect((config.buses[1].options as? ModbusTCPBusOptions)?.endpoint == "[::1]:1502")
        #expect((config.devices[0].options as? ModbusDeviceOptions)?.unit == 1)
        #expect((config.devices[1].options as? ModbusDeviceOptions)?.unit == 255)
    }

    @Test func rtuBusAndDeviceKeys() throws {
        let config = try ModbusBusPlanTests.config("""
            buses:
              - {name: line, type: modbus-rtu, port: /dev/ttyS1, rs485: true, rts: up, rts_delay: 1ms, delay_before_request: 5ms, backoff_after: 5, backoff_max: 10m}
            devices:
              - {name: a, bus: line, unit: 4, interval: 1s, timeout: 1s, retries: 1, delay_before_request: 20ms, max_gap: 0, points: [{name: x, address: 0}]}
              - {name: b, bus: line, unit: 5, interval: 1s, merge: no, points: [{name: x, address: 0}]}
            """)
        let line = try #require(config.buses[0].options as? ModbusRTUBusOptions)
        #expect(line.rs485 && line.rts == .up && line.rtsDelay == .milliseconds(1))
        #expect(line.defaults.delayBeforeRequest == .milliseconds(5) && line.defaults.backoffAfter == 5 && line.defaults.backoffMax == .seconds(600))
        let a = try #require(config.devices[0].options as? ModbusDeviceOptions)
        #expect(a.timeout == .seconds(1) && a.retries == 1 && a.delayBeforeRequest == .milliseconds(20) && a.maxGap == 0 && a.merge)
        let b = try #require(config.devices[1].options as? ModbusDeviceOptions)
        #expect(!b.merge && b.maxGap == ModbusDeviceOptions.defaultMaxGap && b.retries == nil)
    }

    @Test func badKeysAreReportedWhereTheyAre() {
        #expect(throws: ConfigErrors.self) {
            try ModbusBusPlanTests.config("""
                buses:
                  - {name: line, type: modbus-rtu, port: /dev/ttyS1, rts_delay: 1ms}
                devices: []
                """)
        }
        do {
            _ = try ModbusBusPlanTests.config("""
                buses:
                  - {name: plc, type: modbus-tcp, host: 10.0.0.1, port: 99999}
                  - {name: nohost, type: modbus-tcp}
                devices:
                  - {name: a, bus: plc, unit: 300, interval: 1s, max_gap: 200, points: [{name: x, address: 0}]}
                """)
            Issue.record("accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("buses[1]: missing required key \"host\""), "\(text)")
            #expect(text.contains("buses[0].port: 99999 is out of range (1...65535)"), "\(text)")
            #expect(text.contains("devices[0].unit: 300 is out of range (0...255)"), "\(text)")
            #expect(text.contains("devices[0].max_gap: 200 is out of range (0...125)"), "\(text)")
        }
    }

    @Test(arguments: [(1_200, 32_083), (9_600, 4_010), (19_200, 2_005), (38_400, 1_750), (115_200, 1_750)])
    func interFrameSilence(baud: Int, microseconds: Int64) {
        let options = ModbusRTUBusOptions(port: "/dev/null", baud: baud, parity: .even, dataBits: 8, stopBits: 1, timeout: .seconds(1))
        #expect(options.interFrameSilence.microseconds == microseconds)
    }
}

@Suite struct BackoffTests {
    @Test func backsOffAfterNSilentPollsDoublingUpToTheCap() {
        var backoff = Backoff(interval: .seconds(1), after: 3, maximum: .seconds(10))
        let starts = (0..<3).map { _ in backoff.record(answered: false) }
        #expect(starts == [false, false, true])
        var waits = [backoff.wait]
        for _ in 0..<5 {
            let started = backoff.record(answered: false)
            #expect(!started)
            waits.append(backoff.wait)
        }
        #expect(waits == [.seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10), .seconds(10)])
        let started = backoff.record(answered: true)
        #expect(!started && backoff.wait == nil && !backoff.isBackedOff)
    }

    @Test func anAnswerInBetweenStartsTheCountAgain() {
        var backoff = Backoff(interval: .seconds(1), after: 2, maximum: .seconds(60))
        _ = backoff.record(answered: false)
        _ = backoff.record(answered: true)
        _ = backoff.record(answered: false)
        #expect(!backoff.isBackedOff)
    }

    @Test func aDevicePolledMoreRarelyThanTheCapIsProbedAtItsInterval() {
        var backoff = Backoff(interval: .seconds(120), after: 1, maximum: .seconds(60))
        _ = backoff.record(answered: false)
        #expect(backoff.wait == .seconds(120))
    }
}
