import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A multi-drop serial line: the gateway's port and one port per slave, each a socat pty pair,
/// joined by a relay thread. Requests from the gateway reach every connected drop; answers from a
/// connected drop reach the gateway.
///
/// `disconnect(drop:)` cuts one slave off the line (it neither hears requests nor is heard), which is
/// a dead slave without stopping its process; unlike SIGSTOP, no stale requests pile up in its pty
/// to be answered all at once, out of turn, when it comes back.
public final class SerialLine: @unchecked Sendable {
    /// The port the gateway opens.
    public let gatewayPort: String
    /// The port each slave (a `ModbusSimulator`) opens, by drop index.
    public let dropPorts: [String]

    private let pairs: [PtyPair]
    /// The relay's own ends: the line first, then one per drop.
    private let descriptors: [Int32]
    private let state: RelayState
    private let finished = DispatchSemaphore(value: 0)

    /// What the relay thread shares with the test: which drops are plugged in, and the stop flag.
    private final class RelayState: Sendable {
        let connected: Mutex<[Bool]>
        /// Drops whose answers reach the gateway with their last byte flipped (a CRC error).
        let corrupted: Mutex<[Bool]>
        /// Noise on the whole line: bursts of random bytes reach the gateway and every drop.
        let noisy = Atomic<Bool>(false)
        let stopping = Atomic<Bool>(false)
        init(drops: Int) {
            connected = Mutex(Array(repeating: true, count: drops))
            corrupted = Mutex(Array(repeating: false, count: drops))
        }
    }

    public init(in directory: String, drops: Int, name: String = "line") throws {
        precondition(drops > 0)
        let line = try PtyPair(in: directory, name: name)
        let dropPairs = try (0..<drops).map { try PtyPair(in: directory, name: "\(name)-drop\($0)") }
        pairs = [line] + dropPairs
        gatewayPort = line.gatewaySide
        dropPorts = dropPairs.map(\.deviceSide)
        var descriptors: [Int32] = []
        for path in [line.deviceSide] + dropPairs.map(\.gatewaySide) {
            let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
            guard fd >= 0 else {
                descriptors.forEach { _ = close($0) }
                throw MissingPrerequisite("cannot open pty \(path): errno \(errno)")
            }
            var settings = termios()
            if tcgetattr(fd, &settings) == 0 {
                cfmakeraw(&settings)
                _ = tcsetattr(fd, TCSANOW, &settings)
            }
            descriptors.append(fd)
        }
        self.descriptors = descriptors
        let state = RelayState(drops: drops)
        self.state = state
        let thread = Thread { [descriptors, finished] in
            Self.relay(descriptors, state: state)
            finished.signal()
        }
        thread.name = "serial-line-\(name)"
        thread.start()
    }

    deinit { stop() }

    /// Cuts drop `index` off the line: its slave goes silent, as if unplugged.
    public func disconnect(drop index: Int) { state.connected.withLock { $0[index] = false } }

    /// Plugs drop `index` back in.
    public func reconnect(drop index: Int) { state.connected.withLock { $0[index] = true } }

    /// Noise on drop `index`: each chunk its slave sends arrives with its last byte flipped, so a
    /// whole answer fails its CRC check (as long as the answer arrives in one chunk, as a pty delivers it).
    public func corrupt(drop index: Int, _ on: Bool = true) { state.corrupted.withLock { $0[index] = on } }

    /// Noise on the whole line (a motor starting, a bad ground, a second master): while on, a burst
    /// of 2-16 random bytes every 10-40 ms reaches the gateway and every drop, on top of any traffic.
    public func noise(_ on: Bool = true) { state.noisy.store(on, ordering: .relaxed) }

    /// Stops the relay and the socat processes; idempotent.
    public func stop() {
        guard !state.stopping.exchange(true, ordering: .relaxed) else { return }
        finished.wait()
        descriptors.forEach { _ = close($0) }
        pairs.forEach { $0.process.stop() }
    }

    private static func relay(_ descriptors: [Int32], state: RelayState) {
        var polled = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        var nextBurst = DispatchTime.now()
        while !state.stopping.load(ordering: .relaxed) {
            let noisy = state.noisy.load(ordering: .relaxed)
            if noisy, DispatchTime.now() >= nextBurst {
                let burst = (0..<Int.random(in: 2...16)).map { _ in UInt8.random(in: 0...255) }
                descriptors.forEach { writeAll(burst, to: $0) }
                nextBurst = .now() + .milliseconds(Int.random(in: 10...40))
            }
            for index in polled.indices { polled[index].revents = 0 }
            guard poll(&polled, nfds_t(polled.count), noisy ? 5 : 50) > 0 else { continue }
            var hungUp = false
            for index in polled.indices {
                let events = polled[index].revents
                if events & Int16(POLLHUP | POLLERR) != 0 { hungUp = true }
                guard events & Int16(POLLIN) != 0 else { continue }
                let count = read(descriptors[index], &buffer, buffer.count)
                guard count > 0 else { continue }
                var bytes = Array(buffer[0..<count])
                let plugged = state.connected.withLock { $0 }
                if index == 0 {
                    for drop in plugged.indices where plugged[drop] { writeAll(bytes, to: descriptors[drop + 1]) }
                } else if plugged[index - 1] {
                    if state.corrupted.withLock({ $0[index - 1] }) { bytes[bytes.count - 1] ^= 0xFF }
                    writeAll(bytes, to: descriptors[0])
                }
            }
            // A pty whose other side has gone reports HUP on every poll: do not spin on it.
            if hungUp { usleep(10_000) }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        var attempts = 0
        while offset < bytes.count, attempts < 1_000 {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
            } else {
                attempts += 1
                usleep(1_000)
            }
        }
    }
}
