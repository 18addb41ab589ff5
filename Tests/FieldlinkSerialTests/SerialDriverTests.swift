import BusTestSupport
import FieldlinkCore
@testable import FieldlinkSerial
import Testing

/// A serial bus through the real driver and bus owner, on scripted ports and the test clock.
@Suite struct SerialDriverTests {
    static let stream = "{name: s, type: serial, port: /dev/ttyFAKE}"

    @Test func aStreamPeriodIsThinnedToItsAggregateAndAnEmptyPeriodFails() throws {
        let harness = try SerialHarness(bus: Self.stream, devices: """
            - {name: t, bus: s, interval: 1s, parser: keyvalue, aggregate: avg, points: [{name: T}]}
            """)
        let port = harness.plugIn()
        port.send("T=20\n")
        port.send("T=22\n")
        harness.idle(for: .seconds(1))
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.map(\.values.first?.value) == [.double(21)])

        harness.idle(for: .seconds(1))
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.count == 1, "an empty period publishes nothing")
        #expect(harness.sink.health.last?.error == "all 1 point(s) failed: nothing received in the last 1s")
        #expect(harness.sink.health.last?.backedOffSince == nil, "a quiet stream is not backed off")
    }

    @Test func minAndMaxAreOfThePublishedValueWhateverTheScalesSign() throws {
        let harness = try SerialHarness(bus: Self.stream, devices: """
            - {name: t, bus: s, interval: 1s, parser: keyvalue, aggregate: max, points: [{name: T, scale: -1}]}
            """)
        let port = harness.plugIn()
        for text in ["T=5\n", "T=-3\n", "T=1\n"] { port.send(text) }
        harness.idle(for: .seconds(1))
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.first?.values.first?.value == .double(3))
    }

    @Test func withAggregateNoneEveryFrameIsAReading() throws {
        let harness = try SerialHarness(bus: Self.stream, devices: """
            - {name: t, bus: s, interval: 1s, parser: keyvalue, aggregate: none, points: [{name: T, scale: 2}]}
            """)
        let port = harness.plugIn()
        port.send("T=1\nT=2\n")
        harness.idle(for: .milliseconds(500))
        #expect(harness.sink.readings.map(\.values.first?.value) == [.double(2), .double(4)])
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.count == 2, "the period's end adds nothing when frames came")
    }

    @Test func theFirstPartialLineAfterThePortOpensIsDroppedSilently() throws {
        let harness = try SerialHarness(bus: Self.stream, devices: """
            - {name: t, bus: s, interval: 1s, parser: regex, pattern: 'T=(?<T>\\d+)', points: [{name: T}]}
            """)
        let port = harness.plugIn()
        port.send("=21\nT=22\n")  // the port opened in the middle of "T=21"
        harness.idle(for: .seconds(1))
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.map(\.values.first?.value) == [.double(22)])
        #expect(harness.owner.driver.devices[0].drops.total == 0, "the tail of a line sent before the open is expected")

        port.send("xx\nT=23\n")
        harness.idle(for: .seconds(1))
        harness.owner.scheduledPoll(0)
        #expect(harness.owner.driver.devices[0].drops.total == 1, "after the first frame, a line that fails to parse is a drop again")
    }

    @Test func anUnpluggedPortFailsItsDevicesAndIsReopenedWhenItComesBack() throws {
        let harness = try SerialHarness(bus: Self.stream, devices: """
            - {name: t, bus: s, interval: 1s, parser: keyvalue, points: [{name: T}]}
            """)
        let first = harness.plugIn()
        first.send("T=1\n")
        first.incoming.append(.hangUp)
        harness.idle(for: .seconds(1))
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.count == 1, "what came before the hang-up is published")

        harness.idle(for: .seconds(1))  // still gone: the reopen attempt fails
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.health.last?.error?.hasPrefix("all 1 point(s) failed: port unavailable: /dev/ttyFAKE:") == true,
                "\(harness.sink.health.last?.error ?? "")")
        let attempts = harness.ports.opens
        #expect(attempts >= 2 && attempts <= 3, "retried once a second, not in a busy loop: \(attempts)")

        let second = harness.plugIn()
        harness.idle(for: .milliseconds(1_100))
        second.send("T=7\n")
        harness.idle(for: .milliseconds(900))
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.last?.values.first?.value == .double(7))
        #expect(harness.sink.health.last?.ok == true)
    }

    @Test func aPolledDeviceThatNeverRepliesIsBackedOffOneThatRepliesBadlyIsNot() throws {
        let harness = try SerialHarness(bus: "{name: s, type: serial, port: /dev/ttyFAKE, mode: poll, delimiter: \"\\r\"}", devices: """
            - {name: quiet, bus: s, interval: 1s, request: "Q\\r", timeout: 200ms, parser: keyvalue, points: [{name: T}]}
            - {name: noisy, bus: s, interval: 1s, request: "N\\r", timeout: 200ms, parser: regex, pattern: 'T=(?<T>\\d+)', points: [{name: T}]}
            """)
        let port = harness.plugIn()
        port.replies[Array("N\r".utf8)] = Array("garbage\r".utf8)
        for _ in 0..<3 {
            harness.owner.scheduledPoll(0)
            harness.owner.scheduledPoll(1)
        }
        let quiet = harness.sink.health.last { $0.device == "quiet" }
        let noisy = harness.sink.health.last { $0.device == "noisy" }
        #expect(quiet?.backedOffSince != nil && quiet?.error == "all 1 point(s) failed: no reply within 200ms")
        #expect(noisy?.backedOffSince == nil && noisy?.error?.contains("reply dropped") == true)
        #expect(port.written.count == 6)
        harness.owner.scheduledPoll(0)
        #expect(port.written.count == 6, "the silent device's slot is skipped while backed off")
    }

    @Test func theConversionTableHoldsOnASerialPoint() throws {
        let cases = ConversionTable.cases.filter(\.textCanCarry)
        let points = cases.map { conversion -> String in
            switch conversion.raw {
            case .integer: "{name: \(conversion.point), type: int\(conversion.yamlKeys)}"
            case .float: "{name: \(conversion.point)\(conversion.yamlKeys)}"
            }
        }
        let frame = cases.map { conversion -> String in
            switch conversion.raw {
            case .integer(let raw): "\(conversion.point)=\(raw)"
            case .float(let raw): "\(conversion.point)=\(raw)"
            }
        }
        let harness = try SerialHarness(bus: Self.stream, devices: """
            - {name: table, bus: s, interval: 1s, parser: keyvalue, aggregate: none, points: [\(points.joined(separator: ", "))]}
            """)
        harness.plugIn().send(frame.joined(separator: " ") + "\n")
        harness.idle(for: .milliseconds(100))
        let reading = try #require(harness.sink.readings.first)
        #expect(ConversionTable.mismatches(in: reading, of: cases) == [])
    }

    @Test func aStatusCodeParsedAsANumberIsMapped() throws {
        let harness = try SerialHarness(bus: Self.stream, devices: """
            - {name: pump, bus: s, interval: 1s, parser: keyvalue, aggregate: avg, points: [{name: ST, map: {0: stopped, 1: running}}]}
            """)
        let port = harness.plugIn()
        port.send("ST=0\n")
        port.send("ST=1\n")
        harness.idle(for: .seconds(1))
        harness.owner.scheduledPoll(0)
        #expect(harness.sink.readings.first?.values.first?.value == .string("running"), "a status is the last one seen, never averaged")
    }
}
