import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A broker that accepts every CONNECT and closes the connection right after its CONNACK (a broken
/// broker, or one that kicks the client for a reason it does not say): the reconnect backoff must
/// still grow, or the gateway hammers it.
@Suite("Connections that die right after CONNACK")
struct ShortConnectionTests {
    /// Answers CONNECT with an accepting CONNACK (MQTT 5 or 3.1.1, as asked) and closes; prints one
    /// line per MQTT connection.
    static let fakeBroker = #"""
    import socket, sys
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen(16)
    while True:
        client, _ = server.accept()
        client.settimeout(2)
        try:
            data = client.recv(1024)
            if not data:
                client.close()
                continue  # the gateway's TCP-only reachability check before each CONNECT
            level = data[8] if len(data) > 8 else 4
            client.sendall(b"\x20\x03\x00\x00\x00" if level == 5 else b"\x20\x02\x00\x00")
            print("connection", flush=True)
        except Exception:
            pass
        client.close()
    """#

    @Test("a broker that closes every connection right after CONNACK: the backoff grows (no reconnect storm)", .timeLimit(.minutes(1)))
    func backoffGrows() throws {
        let workspace = try Workspace("short-connections")
        defer { workspace.remove() }
        let port = try freeLoopbackPort()
        let broker = try ChildProcess("python3", ["-c", Self.fakeBroker, "\(port)"], in: workspace.path, name: "fake-broker")
        defer { broker.stop() }
        try #require(eventually(timeout: .seconds(10)) { isListening(port: port) }, "the fake broker did not listen: \(broker.stderr)")
        let config = try workspace.write("""
            gateway: {id: gw-short, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt:
              url: mqtt://127.0.0.1:\(port)
              reconnect_delay: 100ms
              reconnect_delay_max: 3s
            # A device turned off: the run has no bus to poll, only the broker to meet.
            buses: [{name: off, type: modbus-tcp, host: 127.0.0.1, port: 1502, enabled: false}]
            devices: [{name: idle, bus: off, unit: 1, interval: 1s, points: [{name: r, address: 0}]}]

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        pause(.seconds(10))
        let connections = broker.stdout.split(separator: "\n").count
        print("10 s of a broker that closes after CONNACK: \(connections) connection(s)")
        // Reset on every CONNACK, 100 ms (with jitter) apart: 100 or more. Growing to 3 s: about 8.
        #expect(connections >= 3 && connections <= 15, "\(connections) connections in 10 s; log:\n\(gateway.stderr)")
    }
}
