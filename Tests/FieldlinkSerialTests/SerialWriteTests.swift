import BusTestSupport
import FieldlinkCore
@testable import FieldlinkSerial
import Testing

/// Write-back on a poll-mode serial device: a writable point sends its device's command template
/// with the value, waits for the expected reply, and the device is read back at once.
@Suite(.timeLimit(.minutes(1)))
struct SerialWriteTests {
    static let bus = "{name: s, type: serial, port: /dev/ttyFAKE, mode: poll, delimiter: \"\\r\"}"

    static func harness() throws -> SerialHarness {
        try SerialHarness(bus: bus, devices: """
            - name: oven
              bus: s
              interval: 1s
              request: "Q\\r"
              timeout: 200ms
              parser: keyvalue
              commands: {setpoint: {send: "SP {value}\\r", expect: "^OK"}, fan: {send: "FAN {value}\\r"}}
              points:
                - {name: SP, writable: true, command: setpoint, scale: 0.5, max: 250}
                - {name: FAN, writable: true, command: fan, map: {0: off, 1: on}}
                - {name: T}
                - {name: N, type: int, writable: true, command: setpoint}
            """)
    }

    @Test func aCommandCarriesTheRawValueAndItsReplyIsChecked() throws {
        let harness = try Self.harness()
        let port = harness.plugIn()
        port.replies[Array("SP 361\r".utf8)] = Array("OK\r".utf8)
        port.replies[Array("Q\r".utf8)] = Array("SP=361 FAN=1 T=20\r".utf8)
        let results = harness.owner.write(WriteRequest(device: "oven", values: [("SP", .double(180.5)), ("FAN", .string("on"))], source: "test"))
        #expect(results.map(\.outcome) == [.written(readBack: .double(180.5), readBackError: nil), .written(readBack: .string("on"), readBackError: nil)])
        #expect(port.written == [Array("SP 361\r".utf8), Array("FAN 1\r".utf8), Array("Q\r".utf8)], "raw 361 = 180.5 / 0.5, then the read-back")
    }

    @Test func aReplyThatIsNotTheExpectedOneFailsTheCommand() throws {
        let harness = try Self.harness()
        let port = harness.plugIn()
        port.replies[Array("SP 100\r".utf8)] = Array("ERR range\r".utf8)
        let results = harness.owner.write(WriteRequest(device: "oven", values: [("SP", .double(50))], source: "test"))
        #expect(results.first?.outcome == .failed("the device answered \"ERR range\", not ^OK"))
        let silent = harness.owner.write(WriteRequest(device: "oven", values: [("SP", .double(60))], source: "test"))
        #expect(silent.first?.outcome == .failed("no reply to the SP command within 200ms"))
    }

    @Test func refusalsAreNotSent() throws {
        let harness = try Self.harness()
        let port = harness.plugIn()
        // SP's raw is a number on the wire, so 10.25 is raw 20.5; N is an int, so 1.5 is refused.
        for (point, value) in [("SP", Value.double(300)), ("N", .double(1.5)), ("FAN", .string("auto")), ("T", .int(1)), ("SP", .string("hot"))] {
            let results = harness.owner.write(WriteRequest(device: "oven", values: [(point, value)], source: "test"))
            #expect(results.allSatisfy { if case .refused = $0.outcome { true } else { false } }, "\(point)=\(value): \(results)")
        }
        #expect(port.written.isEmpty)
    }

    @Test func commandsAreCheckedInTheConfig() {
        func problems(_ yaml: String, bus: String = Self.bus) -> [String] {
            do {
                _ = try SerialHarness(bus: bus, devices: yaml)
                return []
            } catch {
                return (error as? ConfigErrors)?.problems.map(\.description) ?? ["\(error)"]
            }
        }
        let unknown = problems(#"- {name: o, bus: s, interval: 1s, request: "Q\r", parser: keyvalue, commands: {a: {send: "A {value}\r"}}, points: [{name: X, writable: true, command: b}]}"#)
        #expect(unknown.contains { $0.contains("no command \"b\" on this device (commands: a)") }, "\(unknown)")
        let missing = problems(#"- {name: o, bus: s, interval: 1s, request: "Q\r", parser: keyvalue, points: [{name: X, writable: true}]}"#)
        #expect(missing.contains { $0.contains("a serial point is written by one of its device's commands") }, "\(missing)")
        let stream = problems(#"- {name: o, bus: t, interval: 1s, parser: keyvalue, commands: {a: {send: "A {value}\r"}}, points: [{name: X}]}"#,
                              bus: "{name: t, type: serial, port: /dev/ttyFAKE, delimiter: \"\\r\"}")
        #expect(stream.contains { $0.contains("commands are sent like requests: they need a mode: poll bus") }, "\(stream)")
        let novalue = problems(#"- {name: o, bus: s, interval: 1s, request: "Q\r", parser: keyvalue, commands: {a: {send: "ON\r"}}, points: [{name: X}]}"#)
        #expect(novalue.contains { $0.contains("send has no {value}") }, "\(novalue)")
    }
}
