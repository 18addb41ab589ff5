import FieldlinkCore
import FieldlinkOperability
import Foundation
import Testing

/// A gateway with one bus of two devices: meter1 healthy, meter2 dead and backed off.
func sampleDocument() -> StatusDocument {
    let board = HealthBoard()
    board.setDevice("meter1", ok: true)
    board.setDevice("meter2", ok: false)
    board.setDevice("meter2", backedOff: true)
    board.setBroker("mqtt://127.0.0.1:1883")
    let start = ContinuousClock.now
    let counters = GatewayCounters.Snapshot(
        devices: ["meter1": .init(polls: 40, pointErrors: 0, lastGood: 1_000_000 - 400), "meter2": .init(polls: 12, pointErrors: 36)],
        buses: ["line1": .init(busy: .milliseconds(2_500), since: start)], published: [3, 50, 0], acknowledged: [3, 48, 0], reconnects: 2,
        takenAt: start + .seconds(20))
    return StatusDocument(gateway: "gw1", brokers: ["mqtt://127.0.0.1:1883", "mqtt://10.0.0.9:1883"], buses: [("line1", "modbus-rtu")],
                          devices: [("meter1", "line1"), ("meter2", "line1"), ("meter3", "line1")], version: "1.2.3", pid: 42,
                          uptime: .seconds(7_392), health: board.snapshot(), counters: counters,
                          ring: RingStatistics(depth: 5, inFlight: 2, dropped: 7),
                          occupancy: RingOccupancy(bytes: 2_048, oldestAppendedAt: 1_000_000 - 1_500), now: 1_000_000)
}

struct StatusDocumentTests {
    @Test func collectsHealthCountersAndRing() throws {
        let document = sampleDocument()
        #expect(document.broker.state == "connected")
        #expect(document.broker.reconnects == 2)
        #expect(document.broker.published == ["0": 3, "1": 50, "2": 0])
        let bus = try #require(document.buses.first)
        #expect(bus.utilisation == 0.125)
        #expect(bus.busySeconds == 2.5)
        #expect(document.devices.map(\.health) == ["ok", "backed off", "not polled yet"])
        #expect(document.devices[0].lastGoodAgeSeconds == 0.4)
        #expect(document.devices[1].lastGoodAgeSeconds == nil)
        #expect(document.devices[1].pointErrors == 36)
        #expect(document.ring.messages == 5 && document.ring.inFlight == 2 && document.ring.bytes == 2_048)
        #expect(document.ring.oldestAgeSeconds == 1.5 && document.ring.dropped == 7)
    }

    @Test func jsonRoundTripsWithSnakeCaseKeys() throws {
        let document = sampleDocument()
        let json = document.json()
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["uptime_seconds"] as? Double == 7_392)
        #expect((object["ring"] as? [String: Any])?["oldest_age_seconds"] as? Double == 1.5)
        #expect(try StatusDocument.decode(json) == document)
    }

    @Test func textSaysEachPartOnItsLine() {
        let text = sampleDocument().text
        #expect(text == """
            fieldlink 1.2.3, gateway gw1 (pid 42), up 2h 03m 12s
            broker mqtt://127.0.0.1:1883: connected, 2 reconnect(s); published 3/50/0, acknowledged 3/48/0 (QoS 0/1/2)
            bus line1 (modbus-rtu): line busy 12.5% of the time
              meter1: ok, last good reading 0.4 s ago, 40 poll(s), 0 point error(s)
              meter2: backed off, no good reading yet, 12 poll(s), 36 point error(s)
              meter3: not polled yet, no good reading yet, 0 poll(s), 0 point error(s)
            ring: 5 message(s) (2 in flight), 2.0 KiB, oldest 1.5 s, 7 dropped

            """)
    }

    @Test func disconnectedNamesTheMostPreferredBroker() {
        let document = StatusDocument(gateway: "gw", brokers: ["mqtt://a:1883", "mqtt://b:1883"], buses: [], devices: [], version: "1",
                                      pid: 1, uptime: .zero, health: HealthBoard().snapshot(), counters: .init(),
                                      ring: RingStatistics(depth: 0, inFlight: 0, dropped: 0),
                                      occupancy: RingOccupancy(bytes: 0, oldestAppendedAt: nil), now: 0)
        #expect(document.broker.url == "mqtt://a:1883")
        #expect(document.broker.state == "disconnected")
        #expect(document.text.contains("ring: 0 message(s) (0 in flight), 0 B, empty, 0 dropped"))
    }
}
