import Foundation
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The daemon under a (pretend) service manager: the test binds `NOTIFY_SOCKET` itself and reads the
/// datagrams `sd_notify` sends, as systemd would.
@Suite("sd_notify and the watchdog")
struct SystemdNotifyTests {
    @Test("READY=1, STATUS=, WATCHDOG=1 pings, then STOPPING=1 after SIGTERM, in that order", .timeLimit(.minutes(2)))
    func lifecycle() throws {
        let workspace = try Workspace("notify")
        defer { workspace.remove() }
        let setup = try NotifySetup(workspace: workspace, name: "notify")
        defer { setup.stop() }
        let gateway = try setup.startGateway(environment: [:])
        defer { gateway.stop() }

        let listener = setup.listener
        try #require(eventually(timeout: .seconds(15)) { listener.messages.contains { $0.contains("READY=1") } },
                     "no READY=1; got \(listener.messages); log:\n\(gateway.stderr)")
        // The broker and the device come up after READY=1: STATUS= follows them.
        let healthy = eventually(timeout: .seconds(15)) {
            listener.statuses.contains { $0.contains("1 ok") && $0.contains("broker mqtt://127.0.0.1:") && $0.hasSuffix(" connected") }
        }
        #expect(healthy, "statuses: \(listener.statuses); log:\n\(gateway.stderr)")
        // WATCHDOG_USEC=2 s: a ping at least every second.
        let pingsBefore = listener.count("WATCHDOG=1")
        pause(.seconds(3))
        #expect(listener.count("WATCHDOG=1") >= pingsBefore + 2, "pings: \(listener.messages)")

        gateway.signal(SIGTERM)
        #expect(gateway.waitForExit(timeout: .seconds(10)), "still running after SIGTERM")
        #expect(gateway.process.terminationStatus == 0, "log:\n\(gateway.stderr)")

        let messages = listener.messages
        let ready = try #require(messages.firstIndex { $0.contains("READY=1") })
        let status = try #require(messages.firstIndex { $0.hasPrefix("STATUS=") || $0.contains("\nSTATUS=") })
        let ping = try #require(messages.firstIndex { $0 == "WATCHDOG=1" })
        let stopping = try #require(messages.firstIndex { $0 == "STOPPING=1" }, "no STOPPING=1: \(messages)")
        #expect(ready <= status && status < stopping && ready < ping && ping < stopping, "order: \(messages)")
        #expect(messages.filter { $0 == "STOPPING=1" }.count == 1)
        #expect(!messages[(stopping + 1)...].contains("READY=1"), "READY=1 after STOPPING=1: \(messages)")
        #expect(messages[..<ready].isEmpty, "sent before READY=1: \(messages[..<ready])")
    }

    @Test("a wedged bus thread stops the WATCHDOG=1 pings (test hook FIELDLINK_TEST_WEDGE_BUS)", .timeLimit(.minutes(2)))
    func wedgedBusStopsPings() throws {
        let workspace = try Workspace("notify-wedge")
        defer { workspace.remove() }
        let setup = try NotifySetup(workspace: workspace, name: "wedge")
        defer { setup.stop() }
        let gateway = try setup.startGateway(environment: ["FIELDLINK_TEST_WEDGE_BUS": "fl-rs485:4"])
        defer { gateway.stop() }

        let listener = setup.listener
        try #require(eventually(timeout: .seconds(15)) { listener.count("WATCHDOG=1") >= 2 },
                     "no pings; got \(listener.messages); log:\n\(gateway.stderr)")
        // The bus wedges 4 s after it starts; pings must stop within the 2 s stall limit (+ one tick).
        try #require(eventually(timeout: .seconds(15)) { gateway.stderr.contains("wedged on purpose") }, "log:\n\(gateway.stderr)")
        pause(.seconds(4))
        let afterStall = listener.count("WATCHDOG=1")
        pause(.seconds(3))
        #expect(listener.count("WATCHDOG=1") == afterStall, "still pinging with a wedged bus: \(listener.messages)")
        #expect(gateway.stderr.contains("fl-rs485 made no progress"), "log:\n\(gateway.stderr)")
        #expect(gateway.isRunning)
        #expect(gateway.stop() == 0, "log:\n\(gateway.stderr)")
        #expect(listener.messages.last == "STOPPING=1", "\(listener.messages)")
    }
}

/// A broker, a simulated meter on a pty, a notify socket, and the config for one gateway.
private final class NotifySetup: @unchecked Sendable {
    let workspace: Workspace
    let broker: Broker
    let pty: PtyPair
    let simulator: ModbusSimulator
    let listener: NotifyListener
    let config: String

    init(workspace: Workspace, name: String) throws {
        self.workspace = workspace
        broker = try Broker(in: workspace.path)
        pty = try PtyPair(in: workspace.path)
        simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 7]]],
                                        in: workspace.path)
        listener = try NotifyListener(path: "\(workspace.path)/notify.sock")
        config = try workspace.write(configHead(gateway: "gw-\(name)", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: rs485, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 250ms}
            devices:
              - {name: meter, bus: rs485, unit: 1, interval: 200ms, points: [{name: x, address: 0}]}

            """, to: "fieldlink.yaml")
    }

    func startGateway(environment: [String: String]) throws -> ChildProcess {
        try ChildProcess(try fieldlinkBinary(), ["run", "--config", config, "--log-target", "stderr"], in: workspace.path,
                         name: "fieldlink",
                         environment: environment.merging(["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "2000000"]) { a, _ in a })
    }

    func stop() {
        listener.stop()
        simulator.process.stop()
        pty.process.stop()
        broker.stop()
    }
}

/// A bound `AF_UNIX` datagram socket and a thread that records every datagram, in order.
final class NotifyListener: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let received = Mutex<[String]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MissingPrerequisite("socket(AF_UNIX, SOCK_DGRAM): errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw MissingPrerequisite("notify socket path too long for sockaddr_un: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let error = errno
            close(fd)
            throw MissingPrerequisite("bind(\(path)): errno \(error)")
        }
        let thread = Thread { [self] in receive() }
        thread.start()
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .relaxed) {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 100) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                let text = String(decoding: buffer[..<count], as: UTF8.self)
                received.withLock { $0.append(text) }
            }
        }
        finished.signal()
    }

    /// Every datagram so far, in arrival order.
    var messages: [String] { received.withLock { $0 } }

    /// The `STATUS=` values so far.
    var statuses: [String] {
        messages.flatMap { $0.split(separator: "\n") }.filter { $0.hasPrefix("STATUS=") }.map { String($0.dropFirst(7)) }
    }

    func count(_ message: String) -> Int { messages.filter { $0 == message }.count }

    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        _ = finished.wait(timeout: .now() + 2)
        close(fd)
        unlink(path)
    }
}
