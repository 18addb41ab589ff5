import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Certificates made by the test with openssl: a CA, a server certificate for `localhost`, a client
/// certificate, and a second CA that signed nothing the broker uses.
struct TestPKI {
    let directory: String
    var ca: String { "\(directory)/ca.crt" }
    var otherCA: String { "\(directory)/other-ca.crt" }
    var serverCert: String { "\(directory)/server.crt" }
    var serverKey: String { "\(directory)/server.key" }
    var clientCert: String { "\(directory)/client.crt" }
    var clientKey: String { "\(directory)/client.key" }

    init(in workspace: Workspace) throws {
        directory = try workspace.subdirectory("pki")
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", "\(directory)/ca.key", "-out", ca, "-days", "2", "-subj", "/CN=fieldlink test CA"], in: directory)
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", "\(directory)/other-ca.key", "-out", otherCA, "-days", "2", "-subj", "/CN=someone else"], in: directory)
        try issue(name: "server", subject: "/CN=localhost", extensions: "subjectAltName=DNS:localhost\n")
        try issue(name: "client", subject: "/CN=gw-tls", extensions: "extendedKeyUsage=clientAuth\n")
    }

    private func issue(name: String, subject: String, extensions: String) throws {
        try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(directory)/\(name).key",
                          "-out", "\(directory)/\(name).csr", "-subj", subject], in: directory)
        try Self.openssl(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", ca, "-CAkey", "\(directory)/ca.key",
                          "-CAcreateserial", "-out", "\(directory)/\(name).crt", "-days", "2", "-extfile", "\(directory)/\(name).ext"],
                         in: directory)
    }

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = try ChildProcess("openssl", arguments, in: directory, name: "openssl")
        guard process.waitForExit(timeout: .seconds(30)), process.process.terminationStatus == 0 else {
            throw MissingPrerequisite("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(process.stderr)")
        }
    }

    /// A server certificate for `localhost` from the test CA that expired yesterday (the openssl CLI
    /// cannot backdate one; Python's `cryptography` can).
    func issueExpiredServerCertificate() throws -> (cert: String, key: String) {
        let cert = "\(directory)/expired.crt", key = "\(directory)/expired.key"
        let script = """
            import datetime, sys
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID
            ca_cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
            ca_key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
            key = ec.generate_private_key(ec.SECP256R1())
            now = datetime.datetime.now(datetime.timezone.utc)
            cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                    .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(days=3)).not_valid_after(now - datetime.timedelta(days=1))
                    .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                    .sign(ca_key, hashes.SHA256()))
            open(sys.argv[3], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
            open(sys.argv[4], "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
            """
        try script.write(toFile: "\(directory)/expired.py", atomically: true, encoding: .utf8)
        let process = try ChildProcess("python3", ["\(directory)/expired.py", ca, "\(directory)/ca.key", cert, key], in: directory, name: "expired")
        guard process.waitForExit(timeout: .seconds(30)), process.process.terminationStatus == 0 else {
            throw MissingPrerequisite("cannot issue an expired certificate (is python3-cryptography installed? run `make test-deps`): \(process.stderr)")
        }
        return (cert, key)
    }

    /// mosquitto.conf lines for a TLS listener on `port` (the plain listener stays for subscribers).
    func listener(port: Int, requireClientCertificate: Bool, certificate: (cert: String, key: String)? = nil) -> String {
        """
        listener \(port) 127.0.0.1
        cafile \(ca)
        certfile \(certificate?.cert ?? serverCert)
        keyfile \(certificate?.key ?? serverKey)
        require_certificate \(requireClientCertificate)
        """
    }
}

@Suite("MQTT security: TLS, last will, secrets")
struct MQTTSecurityTests {
    /// A gateway with one simulated device publishing every 100 ms to `mqttSection`.
    static func start(_ workspace: Workspace, mqtt mqttSection: String, name: String = "fieldlink",
                      environment: [String: String] = [:]) throws -> (ChildProcess, PtyPair, ModbusSimulator, String) {
        let pty = try PtyPair(in: workspace.path, name: name)
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 42]]],
                                            in: workspace.path, name: "sim-\(name)")
        let config = try workspace.write("""
            gateway:
              id: gw-tls
              state_dir: \(workspace.path)/state-\(name)
            time: {trust: always}
            mqtt:
            \(mqttSection)
              reconnect_delay: 200ms
              reconnect_delay_max: 1s
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 100ms, qos: 1, points: [{name: x, address: 0}]}

            """, to: "\(name).yaml")
        let gateway = try ChildProcess(try fieldlinkBinary(), ["run", "--config", config], in: workspace.path, name: name,
                                       environment: environment)
        return (gateway, pty, simulator, config)
    }

    static func stopAll(_ parts: (ChildProcess, PtyPair, ModbusSimulator, String)) {
        parts.0.stop()
        parts.2.process.stop()
        parts.1.process.stop()
    }

    @Test("mqtts with the test CA delivers; with mTLS required, only a client certificate gets in", .timeLimit(.minutes(2)))
    func tlsAndMutualTLS() throws {
        let workspace = try Workspace("mqtt-tls")
        defer { workspace.remove() }
        let pki = try TestPKI(in: workspace)
        let tlsPort = try freeLoopbackPort(), mtlsPort = try freeLoopbackPort()
        let broker = try Broker(in: workspace.path, extraConfig: pki.listener(port: tlsPort, requireClientCertificate: false)
                                + "\n" + pki.listener(port: mtlsPort, requireClientCertificate: true))
        defer { broker.stop() }
        let subscriber = try Subscriber(broker: broker, topic: "fieldlink/#", in: workspace.path)
        defer { subscriber.process.stop() }

        // Server verified against the CA, host name `localhost` matches the certificate.
        let tls = try Self.start(workspace, mqtt: "  url: mqtts://localhost:\(tlsPort)\n  client_id: gw-tls-1\n  tls: {ca_file: \(pki.ca)}", name: "tls")
        defer { Self.stopAll(tls) }
        #expect(subscriber.waitFor(timeout: .seconds(20)) { $0.contains { $0.topic == "fieldlink/gw-tls/meter" } },
                "nothing arrived over TLS; log:\n\(tls.0.stderr)")

        // mTLS: with the client certificate it connects...
        let mutual = try Self.start(workspace, mqtt: """
              url: mqtts://localhost:\(mtlsPort)
              client_id: gw-tls-2
              tls: {ca_file: \(pki.ca), cert_file: \(pki.clientCert), key_file: \(pki.clientKey)}
            """, name: "mtls")
        defer { Self.stopAll(mutual) }
        #expect(eventually(timeout: .seconds(20)) { mutual.0.stderr.contains("connected to mqtts://localhost:\(mtlsPort)") },
                "mTLS did not connect; log:\n\(mutual.0.stderr)")

        // ...without it, the broker closes the handshake: a clear error, retried, never connected.
        let anonymous = try Self.start(workspace, mqtt: "  url: mqtts://localhost:\(mtlsPort)\n  client_id: gw-tls-3\n  tls: {ca_file: \(pki.ca)}",
                                       name: "no-cert")
        defer { Self.stopAll(anonymous) }
        #expect(eventually(timeout: .seconds(20)) { !anonymous.0.logLines(level: "WARNING", containing: "cannot reach the broker").isEmpty },
                "no error without a client certificate; log:\n\(anonymous.0.stderr)")
        #expect(!anonymous.0.stderr.contains("connected to mqtts"))
        #expect(anonymous.0.isRunning)
    }

    @Test("a wrong CA, a wrong host name or an expired certificate is a clear error and no connection", .timeLimit(.minutes(2)),
          arguments: ["wrong-ca", "wrong-host", "expired"])
    func verificationFailures(kind: String) throws {
        let workspace = try Workspace("mqtt-tls-\(kind)")
        defer { workspace.remove() }
        let pki = try TestPKI(in: workspace)
        let tlsPort = try freeLoopbackPort()
        let expired = kind == "expired" ? try pki.issueExpiredServerCertificate() : nil
        let broker = try Broker(in: workspace.path, extraConfig: pki.listener(port: tlsPort, requireClientCertificate: false, certificate: expired))
        defer { broker.stop() }
        // The certificate names `localhost`; 127.0.0.1 is the same socket but not the same name.
        let url = kind == "wrong-host" ? "mqtts://127.0.0.1:\(tlsPort)" : "mqtts://localhost:\(tlsPort)"
        let ca = kind == "wrong-ca" ? pki.otherCA : pki.ca
        let gateway = try Self.start(workspace, mqtt: "  url: \(url)\n  tls: {ca_file: \(ca)}", name: kind)
        defer { Self.stopAll(gateway) }
        #expect(eventually(timeout: .seconds(20)) { !gateway.0.logLines(level: "WARNING", containing: "cannot reach the broker").isEmpty },
                "no error; log:\n\(gateway.0.stderr)")
        let error = gateway.0.logLines(level: "WARNING", containing: "cannot reach the broker").joined()
        #expect(error.contains("certificate verify failed") || error.contains("verif"), "unclear error: \(error)")
        #expect(!gateway.0.stderr.contains("connected to mqtts"))
        // Logged once, not once per retry.
        pause(.seconds(2))
        #expect(gateway.0.logLines(level: "WARNING", containing: "cannot reach the broker").count == 1, "\(gateway.0.stderr)")
    }

    @Test("status: retained online after connect, offline as the last will after kill -9 and after a clean stop (MQTT 5 and 3.1.1)",
          .timeLimit(.minutes(2)), arguments: ["5", "3.1.1"])
    func birthAndLastWill(version: String) throws {
        let workspace = try Workspace("mqtt-status-\(version)")
        defer { workspace.remove() }
        let broker = try Broker(in: workspace.path)
        defer { broker.stop() }
        func retainedStatus() throws -> String? { try broker.retained("fieldlink/gw-tls/status") }

        let first = try Self.start(workspace, mqtt: "  url: \(broker.url)\n  version: \"\(version)\"", name: "first")
        #expect(eventually(timeout: .seconds(20)) { first.0.stderr.contains("connected to") }, "log:\n\(first.0.stderr)")
        #expect(try retainedStatus() == "online")
        first.0.stop(signal: SIGKILL)
        #expect(eventually(timeout: .seconds(10)) { (try? retainedStatus()) == "offline" }, "no last will after kill -9")
        Self.stopAll(first)

        let second = try Self.start(workspace, mqtt: "  url: \(broker.url)\n  version: \"\(version)\"\n  message_expiry: 1h", name: "second")
        #expect(eventually(timeout: .seconds(20)) { (try? retainedStatus()) == "online" }, "log:\n\(second.0.stderr)")
        #expect(second.0.stop() == 0)
        #expect(try retainedStatus() == "offline", "a clean stop must leave offline")
        Self.stopAll(second)
    }

    @Test("a password never appears in logs or check output; ${ENV} and CREDENTIALS_DIRECTORY work; a refused login is reported once",
          .timeLimit(.minutes(2)))
    func secrets() throws {
        let workspace = try Workspace("mqtt-secrets")
        defer { workspace.remove() }
        let password = "s3cr3t-\(UUID().uuidString.prefix(6))"
        // The broker knows user gw with `password`; wrong credentials are refused.
        let passwordFile = "\(workspace.path)/mosquitto.passwd"
        try "gw:\(password)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let hash = try ChildProcess("mosquitto_passwd", ["-U", passwordFile], in: workspace.path, name: "mosquitto_passwd")
        try #require(hash.waitForExit(timeout: .seconds(10)) && hash.process.terminationStatus == 0, "mosquitto_passwd: \(hash.stderr)")
        let broker = try Broker(in: workspace.path, extraConfig: "password_file \(passwordFile)")
        defer { broker.stop() }
        let securePort = broker.port

        // The password from the environment, and from a credentials directory (systemd LoadCredential=).
        let credentials = try workspace.subdirectory("credentials")
        try password.write(toFile: "\(credentials)/mqtt-password", atomically: true, encoding: .utf8)
        let fromEnvironment = try Self.start(workspace, mqtt: "  url: mqtt://127.0.0.1:\(securePort)\n  username: gw\n  password: ${MQTT_PASSWORD}",
                                             name: "env", environment: ["MQTT_PASSWORD": password])
        defer { Self.stopAll(fromEnvironment) }
        let fromCredentials = try Self.start(workspace, mqtt: "  url: mqtt://127.0.0.1:\(securePort)\n  client_id: gw-cred\n  username: gw\n  password_file: mqtt-password",
                                             name: "cred", environment: ["CREDENTIALS_DIRECTORY": credentials])
        defer { Self.stopAll(fromCredentials) }
        let wrong = try Self.start(workspace, mqtt: "  url: mqtt://127.0.0.1:\(securePort)\n  client_id: gw-wrong\n  username: gw\n  password: not-\(password)",
                                   name: "wrong")
        defer { Self.stopAll(wrong) }
        #expect(eventually(timeout: .seconds(20)) { fromEnvironment.0.stderr.contains("connected to") }, "env: \(fromEnvironment.0.stderr)")
        #expect(eventually(timeout: .seconds(20)) { fromCredentials.0.stderr.contains("connected to") }, "cred: \(fromCredentials.0.stderr)")
        #expect(eventually(timeout: .seconds(20)) { !wrong.0.logLines(level: "ERROR", containing: "refused the connection").isEmpty },
                "wrong: \(wrong.0.stderr)")
        pause(.seconds(2))
        #expect(wrong.0.logLines(level: "ERROR", containing: "refused the connection").count == 1, "refusal logged more than once")
        #expect(!wrong.0.stderr.contains("connected to"))

        // Without the variable the config is refused (78) and says which variable; with it, check passes.
        let unset = try runFieldlink(["check", "--config", fromEnvironment.3], in: workspace.path, name: "check-unset")
        #expect(unset.status == 78)
        #expect(unset.stderr.contains("environment variable MQTT_PASSWORD is not set"), "\(unset.stderr)")
        let checker = try ChildProcess(try fieldlinkBinary(), ["check", "--config", fromEnvironment.3], in: workspace.path,
                                       name: "check-env", environment: ["MQTT_PASSWORD": password])
        #expect(checker.waitForExit(timeout: .seconds(20)))
        let check = (status: checker.process.terminationStatus, stdout: checker.stdout, stderr: checker.stderr)
        #expect(check.status == 0)
        #expect(check.stdout.contains("password set"))
        for output in [fromEnvironment.0.stderr, fromCredentials.0.stderr, wrong.0.stderr, check.stdout, check.stderr, broker.log] {
            #expect(!output.contains(password), "the password leaked: \(output)")
        }

        // An inline password in a world-readable file is warned about.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: wrong.3)
        let warned = try runFieldlink(["check", "--config", wrong.3], in: workspace.path, name: "check-wrong")
        #expect(warned.stderr.contains("warning:") && warned.stderr.contains("password"), "\(warned.stderr)")
        #expect(!warned.stderr.contains(password))
    }

    /// An ACL that denies the gateway one topic: MQTT 5 PUBACK reason "Not authorized", logged clearly
    /// (once per message, never the password); the allowed topic keeps flowing and nothing stalls.
    @Test("a topic the broker's ACL denies is a clear error and does not stall the others", .timeLimit(.minutes(2)))
    func aclDenial() throws {
        let workspace = try Workspace("mqtt-acl")
        defer { workspace.remove() }
        let acl = try workspace.write("user gw\ntopic write fieldlink/gw-tls/meter\ntopic write fieldlink/gw-tls/status\ntopic write fieldlink/gw-tls/status/#\n"
                                      + "pattern read #\n", to: "mosquitto.acl")
        let passwordFile = "\(workspace.path)/mosquitto.passwd"
        try "gw:pw-\(UUID().uuidString.prefix(6))\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).split(separator: ":")[1].trimmingCharacters(in: .newlines)
        let hash = try ChildProcess("mosquitto_passwd", ["-U", passwordFile], in: workspace.path, name: "mosquitto_passwd")
        try #require(hash.waitForExit(timeout: .seconds(10)) && hash.process.terminationStatus == 0)
        let broker = try Broker(in: workspace.path, extraConfig: "password_file \(passwordFile)\nacl_file \(acl)")
        defer { broker.stop() }
        let subscriber = try Subscriber(broker: broker, topic: "fieldlink/#", in: workspace.path)
        defer { subscriber.process.stop() }
        // `x` goes to the allowed device topic; `y` has its own topic, which the ACL denies.
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let simulator = try ModbusSimulator(port: pty.deviceSide, image: [1: [["table": "holding", "address": 0, "type": "uint16", "value": 1],
                                                                             ["table": "holding", "address": 1, "type": "uint16", "value": 2]]],
                                            in: workspace.path)
        defer { simulator.process.stop() }
        let config = try workspace.write("""
            gateway: {id: gw-tls, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "\(broker.url)", username: gw, password: "${ACL_TEST_PASSWORD}"}
            buses:
              - {name: line1, type: modbus-rtu, port: \(pty.gatewaySide), parity: none, timeout: 300ms}
            devices:
              - {name: meter, bus: line1, unit: 1, interval: 100ms, points: [{name: x, address: 0}, {name: y, address: 1, topic: "denied/{point}"}]}

            """, to: "acl.yaml")
        let gateway = try ChildProcess(try fieldlinkBinary(), ["run", "--config", config], in: workspace.path, name: "fieldlink",
                                       environment: ["ACL_TEST_PASSWORD": password])
        defer { gateway.stop() }
        #expect(eventually(timeout: .seconds(20)) { !gateway.logLines(level: "ERROR", containing: "Not authorized").isEmpty },
                "no clear error for the denied topic; log:\n\(gateway.stderr)")
        #expect(subscriber.waitFor(device: "meter", count: 20, timeout: .seconds(20)), "the allowed topic stalled; log:\n\(gateway.stderr)")
        #expect(!subscriber.messages.contains { $0.topic.hasPrefix("denied/") })
        #expect(gateway.stop() == 0)
        #expect(!gateway.stderr.contains(password))
    }
}
