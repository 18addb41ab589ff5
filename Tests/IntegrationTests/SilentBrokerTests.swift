import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Brokers that go silent instead of closing the connection (SIGSTOP: the same as a dead host or a
/// cut link, no FIN, no RST), that refuse connections, or that accept TCP and never answer.
@Suite("Silent brokers")
struct SilentBrokerTests {
    /// Two brokers, a gateway with default settings but `urls` and `extra`, a device polled every 200 ms at QoS 1.
    struct Setup {
        let workspace: Workspace
        let primary: Broker
        let secondary: Broker
        let primarySubscriber: Subscriber
        let secondarySubscriber: Subscriber
        let pty: PtyPair
        let simulator: ModbusSimulator
        let gateway: ChildProcess

        init(_ name: String, primaryURL: String? = nil, extra: String = "") throws {
            workspace = try Workspace(name)
            primary = try Broker(in: workspace.path)
            secondary = try Broker(in: workspace.path)
            primarySubscriber = try Subscriber(broker: primary, topic: "fieldlink/gw-s/meter", in: workspace.path, name: "sub-a")
            secondarySubscriber = try Subscriber(broker: secondary, topic: "fieldlink/gw-s/meter", in: workspace.path, name: "sub-b")
            pty = try PtyPair(in: workspace.path)
            simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 3]]],
                                            in: workspace.path)
            let config = try workspace.write("""
                gateway: {id: gw-s, state_dir: \(workspace.path)/state}
                time: {trust: always}
                mqtt:
                  urls: [\(primaryURL ?? primary.url), \(secondary.url)]
                \(extra)
                buses:
                  - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
                devices:
                  - {name: meter, bus: line1, unit: 1, interval: 200ms, points: [{name: x, address: 0}]}

                """, to: "fieldlink.yaml")
            gateway = try startGateway(config: config, in: workspace.path)
        }

        /// Everything stopped by PID; a stopped broker is continued first, so it can exit.
        func tearDown() {
            gateway.stop()
            primary.process.signal(SIGCONT)
            [primarySubscriber.process, secondarySubscriber.process, simulator.process, pty.process].forEach { $0.stop() }
            primary.stop()
            secondary.stop()
            workspace.remove()
        }

        /// Seconds from `since` until the secondary's subscriber has telemetry stamped after it; nil after `timeout`.
        func secondsUntilSecondary(after since: Int64, timeout: Duration) -> Double? {
            let found = secondarySubscriber.waitFor(timeout: timeout) { messages in
                messages.compactMap(Telemetry.init).contains { $0.ts > since }
            }
            return found ? Double(nowMilliseconds() - since) / 1_000 : nil
        }

        /// `secondsUntilSecondary`, printed for the record; a failure when nothing came.
        func failoverSeconds(_ what: String, after since: Int64, timeout: Duration) throws -> Double {
            let seconds = secondsUntilSecondary(after: since, timeout: timeout)
            print("\(what) -> first telemetry at the secondary: \(seconds.map { String(format: "%.1f s", $0) } ?? "none within \(timeout)")")
            return try #require(seconds, "nothing reached the secondary; log:\n\(gateway.stderr)")
        }

        /// Stops the gateway cleanly and returns the seqs from 1 to its last one that reached neither subscriber.
        func missingSeqs() throws -> [UInt64] {
            #expect(gateway.stop() == 0)
            let state = try Data(contentsOf: URL(fileURLWithPath: "\(workspace.path)/state/sequence.json"))
            let next = try #require((try JSONSerialization.jsonObject(with: state) as? [String: NSNumber])?["meter"]).uint64Value
            _ = secondarySubscriber.waitFor(timeout: .seconds(10)) { $0.compactMap(Telemetry.init).contains { $0.seq == next - 1 } }
            let seen = Set((primarySubscriber.telemetry + secondarySubscriber.telemetry).map(\.seq))
            return (1..<next).filter { !seen.contains($0) }
        }
    }

    /// The issue's target: with default settings, telemetry reaches the next broker within 20 s of
    /// the primary going silent; what was in flight to it is resent (receivers drop duplicates by seq).
    @Test("a silent primary (SIGSTOP), default settings: telemetry at the secondary within 20 s, nothing lost",
          .timeLimit(.minutes(2)))
    func silentPrimaryFailsOverWithin20s() throws {
        let setup = try Setup("silent-primary")
        defer { setup.tearDown() }
        try #require(setup.primarySubscriber.waitFor(device: "meter", count: 5, timeout: .seconds(20)), "log:\n\(setup.gateway.stderr)")
        setup.primary.process.signal(SIGSTOP)
        let silent = nowMilliseconds()
        let elapsed = try setup.failoverSeconds("silent primary", after: silent, timeout: .seconds(40))
        #expect(elapsed <= 20, "took \(elapsed) s; log:\n\(setup.gateway.stderr)")
        #expect(!setup.gateway.logLines(level: "WARNING", containing: "ack_timeout").isEmpty, "log:\n\(setup.gateway.stderr)")
        // Readings polled 1-8 s into the silence were sent to the stopped primary and never
        // acknowledged: they reach the secondary only because they are resent to it.
        // (The first message at the secondary may arrive before the rest of the resent backlog.)
        func resent() -> Int {
            setup.secondarySubscriber.telemetry(device: "meter").filter { $0.ts > silent + 1_000 && $0.ts < silent + 8_000 }.count
        }
        #expect(eventually(timeout: .seconds(10)) { resent() >= 20 },
                "only \(resent()) of the readings in flight to the silent primary were resent; log:\n\(setup.gateway.stderr)")
        // What the primary accepted before it stopped reaches its subscriber once it runs again.
        setup.primary.process.signal(SIGCONT)
        pause(.seconds(2))
        let missing = try setup.missingSeqs()
        #expect(missing.isEmpty, "lost across the switch: \(missing)")
    }

    @Test("a primary refusing connections (killed), default settings: telemetry at the secondary within 5 s, nothing lost",
          .timeLimit(.minutes(2)))
    func refusingPrimaryFailsOverWithin5s() throws {
        let setup = try Setup("refusing-primary")
        defer { setup.tearDown() }
        try #require(setup.primarySubscriber.waitFor(device: "meter", count: 5, timeout: .seconds(20)), "log:\n\(setup.gateway.stderr)")
        setup.primary.process.stop(signal: SIGKILL)
        let killed = nowMilliseconds()
        let elapsed = try setup.failoverSeconds("refusing primary", after: killed, timeout: .seconds(30))
        #expect(elapsed <= 5, "took \(elapsed) s; log:\n\(setup.gateway.stderr)")
        let missing = try setup.missingSeqs()
        #expect(missing.isEmpty, "lost across the switch: \(missing)")
    }

    /// A stopped broker keeps its listening socket: a TCP probe would call it back. The gateway
    /// fails back only once it answers an MQTT CONNECT again.
    @Test("no failback to a stopped primary whose socket still accepts TCP; failback once it answers MQTT again",
          .timeLimit(.minutes(2)))
    func noFailbackToAStoppedBroker() throws {
        let setup = try Setup("stopped-failback", extra: "  ack_timeout: 2s\n  failback_after: 2s")
        defer { setup.tearDown() }
        try #require(setup.primarySubscriber.waitFor(device: "meter", count: 5, timeout: .seconds(20)), "log:\n\(setup.gateway.stderr)")
        setup.primary.process.signal(SIGSTOP)
        let silent = nowMilliseconds()
        try #require(setup.secondsUntilSecondary(after: silent, timeout: .seconds(30)) != nil, "no failover; log:\n\(setup.gateway.stderr)")
        pause(.seconds(8))  // four failback_afters of TCP-reachable, MQTT-dead primary
        #expect(setup.gateway.logLines(level: "NOTICE", containing: "failing back").isEmpty, "failed back into a stopped broker:\n\(setup.gateway.stderr)")
        setup.primary.process.signal(SIGCONT)
        let resumed = nowMilliseconds()
        #expect(setup.primarySubscriber.waitFor(timeout: .seconds(20)) { $0.compactMap(Telemetry.init).contains { $0.ts > resumed } },
                "no failback once the primary answered; log:\n\(setup.gateway.stderr)")
    }

    /// A load balancer with every backend down accepts TCP and never answers: the connect times
    /// out (connect_timeout), the gateway fails over, and never fails back into it.
    @Test("a primary that accepts TCP but never answers: failover within connect_timeout, no failback into it",
          .timeLimit(.minutes(2)))
    func acceptButDeadPrimary() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let started = nowMilliseconds()
        let setup = try Setup("accept-but-dead", primaryURL: "mqtt://127.0.0.1:\(listener.port)", extra: "  failback_after: 2s")
        defer { setup.tearDown() }
        let elapsed = try setup.failoverSeconds("accept-but-dead primary", after: started, timeout: .seconds(30))
        #expect(elapsed <= 12, "took \(elapsed) s; log:\n\(setup.gateway.stderr)")
        #expect(!setup.gateway.logLines(level: "WARNING", containing: "no CONNACK within connect_timeout").isEmpty, "log:\n\(setup.gateway.stderr)")
        pause(.seconds(8))
        #expect(setup.gateway.logLines(level: "NOTICE", containing: "failing back").isEmpty, "failed back into a dead end:\n\(setup.gateway.stderr)")
        #expect(try setup.missingSeqs().isEmpty)
    }
}

/// A loopback socket that listens and never accepts: the kernel completes TCP handshakes (a broker
/// behind a TCP load balancer with every backend down), but no MQTT is ever spoken.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 1024) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw MissingPrerequisite("cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))") }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
