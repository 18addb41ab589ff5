import BusTestSupport
import FieldlinkCore
@testable import FieldlinkSerial
import Logging

/// The serial byte boundary without a tty: bytes arrive as scripted, a request gets its scripted
/// reply, and a port can hang up. A read that finds nothing waits out its timeout on the test clock.
final class ScriptedSerialPort: SerialPortIO {
    enum Chunk {
        case bytes([UInt8])
        /// The other end went away (a USB adapter pulled out).
        case hangUp
    }

    var incoming: [Chunk] = []
    /// Request bytes to the reply they get.
    var replies: [[UInt8]: [UInt8]] = [:]
    private(set) var written: [[UInt8]] = []
    private let clock: ManualClock
    let path: String

    init(path: String = "/dev/ttyFAKE", clock: ManualClock) {
        self.path = path
        self.clock = clock
    }

    func send(_ text: String) { incoming.append(.bytes(Array(text.utf8))) }

    func read(into buffer: inout [UInt8], timeout: Duration) throws(SerialError) -> Int {
        guard !incoming.isEmpty else {
            clock.advance(by: timeout)
            return 0
        }
        switch incoming.removeFirst() {
        case .hangUp:
            throw SerialError(code: .disconnected, path: path, detail: "went away (end of file)")
        case .bytes(let bytes):
            clock.advance(by: .milliseconds(1))
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
            return bytes.count
        }
    }

    func write(_ bytes: [UInt8], timeout: Duration) throws(SerialError) {
        written.append(bytes)
        if let reply = replies[bytes] { incoming.append(.bytes(reply)) }
    }

    func discardInput() { incoming.removeAll() }
}

/// One serial bus as the gateway runs it (driver and bus owner) on scripted ports and the test clock.
struct SerialHarness {
    let config: Config
    let clock = ManualClock()
    let sink = RecordingSink()
    /// The ports the next opens get, in order; an error is a port that cannot be opened (yet).
    final class Ports {
        var next: [Result<ScriptedSerialPort, SerialError>] = []
        var opens = 0
    }
    let ports = Ports()
    let owner: BusOwner<SerialDriver>

    init(bus: String, devices: String) throws {
        let yaml = """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [\(bus)]
            devices:
            \(devices.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n"))
            """
        config = try ConfigLoader(families: [SerialFamily()]).parse(yaml: yaml, file: "/nonexistent-fieldlink-test/fieldlink.yaml")
        let ports = self.ports
        let driver = SerialDriver(options: config.buses[0].options as! SerialBusOptions, devices: config.devices, clock: clock,
                                  logger: Logger(label: "test"), openPort: { path, _ throws(SerialError) -> any SerialPortIO in
                                      ports.opens += 1
                                      guard !ports.next.isEmpty else {
                                          throw SerialError(code: .missing, path: path, detail: "No such file or directory")
                                      }
                                      switch ports.next.removeFirst() {
                                      case .success(let port): return port
                                      case .failure(let error): throw error
                                      }
                                  })
        owner = BusOwner(driver: driver, devices: config.devices, sink: sink, clock: clock, logger: Logger(label: "test"))
    }

    /// A port that opens, for the next open.
    func plugIn() -> ScriptedSerialPort {
        let port = ScriptedSerialPort(clock: clock)
        ports.next.append(.success(port))
        return port
    }

    /// The loop's idle time until `duration` has passed on the clock, as the bus loop spends it.
    func idle(for duration: Duration) {
        let end = clock.now + duration
        while clock.now < end {
            if !owner.idle(for: min(end - clock.now, .milliseconds(500))) { clock.advance(by: min(end - clock.now, .milliseconds(500))) }
        }
    }
}
