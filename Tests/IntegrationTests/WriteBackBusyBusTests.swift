import Foundation
import Testing
import TestSupport

/// Commands on a line that is busy polling other devices: each command (the write and its
/// read-back) is one transaction between polls, and the other devices keep their interval.
@Suite("Write-back: a busy line")
struct WriteBackBusyBusTests {
    @Test("commands between polls: a write and its read-back are never split by another device's poll; the neighbours' poll interval holds",
          .timeLimit(.minutes(2)))
    func commandsOnABusyLine() throws {
        let peers = try Peers("writeback-busy")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        // A generous timeout: on a loaded machine a late answer must not turn a write into a failure
        // (a failed write has no read-back to check).
        let neighbour = (0..<10).map { ["table": "holding", "address": $0, "type": "uint16", "value": $0] as [String: Any] }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [
            1: [["table": "coil", "address": 0, "value": false], ["table": "holding", "address": 0, "type": "uint16", "value": 1]],
            2: neighbour, 3: neighbour,
        ], in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write(configHead(gateway: "gw-busy", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, baud: 115200, timeout: 2s}
            devices:
              - {name: relay, bus: rs485, unit: 1, interval: 5s, points: [{name: r, table: coil, address: 0, writable: true}, {name: h, address: 0}]}
              - {name: m2, bus: rs485, unit: 2, interval: 200ms, points: [\(ModbusBusTests.pointList(10))]}
              - {name: m3, bus: rs485, unit: 3, interval: 200ms, points: [\(ModbusBusTests.pointList(10))]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "m3", count: 3, timeout: .seconds(15)), "no telemetry; log:\n\(gateway.stderr)")
        let commands = 12
        for index in 0..<commands {
            try WriteBackTests.publish(broker, "fieldlink/gw-busy/relay/set/r", index % 2 == 0 ? "true" : "false", in: workspace.path)
            pause(.milliseconds(40))
        }
        #expect(eventually(timeout: .seconds(15)) { simulator.writeRequests.count == commands }, "\(simulator.writeRequests.count) writes; log:\n\(gateway.stderr)")
        pause(.milliseconds(600))
        gateway.stop()

        // Every write is followed at once by its read-back (unit 1's coil and register reads).
        let log = simulator.requestDetails
        for (position, request) in log.enumerated() where request.function == 5 {
            let next = log.dropFirst(position + 1).prefix(2).map { "\($0.unit)/\($0.function)" }
            #expect(next == ["1/1", "1/3"] || next == ["1/3", "1/1"], "after the write at \(position): \(next)")
        }
        #expect(simulator.state?.coil(unit: 1, 0) == false, "the last command (false) is what the slave holds")
        // The neighbours kept their 200 ms: over the whole run, unit 2 got (nearly) every slot it was due.
        let arrivals = simulator.requestArrivals.filter { $0.unit == 2 }.map(\.microseconds)
        let span = (arrivals.last ?? 0) - (arrivals.first ?? 0)
        let due = span / 200_000 + 1
        #expect(arrivals.count >= 5)
        #expect(Double(arrivals.count) >= 0.8 * Double(due), "unit 2 polled \(arrivals.count) times in \(span) µs (\(due) slots)")
    }
}
