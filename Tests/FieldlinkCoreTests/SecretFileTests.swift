@testable import FieldlinkCore
import FieldlinkModbus
import Foundation
import Testing

/// A key or password file other users can read is a warning naming it and `chmod 600`; one that
/// cannot be read says why.
@Suite struct SecretFileTests {
    static func yaml(folder: String) -> String {
        ConfigFixture.minimal.replacingOccurrences(of: "  url: mqtt://localhost\n", with: """
              url: mqtts://localhost
              tls: {ca_file: \(folder)/ca.pem, cert_file: \(folder)/cert.pem, key_file: \(folder)/key.pem}

            """)
    }

    @Test func aKeyFileOthersCanReadIsAWarningThatSaysChmod600() throws {
        let folder = try TemporaryDirectory()
        for name in ["ca.pem", "cert.pem", "key.pem"] {
            try "x".write(toFile: "\(folder.path)/\(name)", atomically: true, encoding: .utf8)
            chmod("\(folder.path)/\(name)", 0o644)
        }
        let open = try ConfigFixture.parse(Self.yaml(folder: folder.path))
        #expect(open.warnings.map(\.message) == ["\(folder.path)/key.pem can be read by other users: chmod 600 \(folder.path)/key.pem"])
        #expect(open.warnings.first?.path == "mqtt.tls.key_file")

        chmod("\(folder.path)/key.pem", 0o600)
        #expect(try ConfigFixture.parse(Self.yaml(folder: folder.path)).warnings.isEmpty, "a 0600 key, and certificates others may read")
    }

    @Test func anUnreadableKeyFileSaysWhy() throws {
        let folder = try TemporaryDirectory()
        for name in ["ca.pem", "cert.pem"] { try "x".write(toFile: "\(folder.path)/\(name)", atomically: true, encoding: .utf8) }
        let problems = ConfigFixture.problems(Self.yaml(folder: folder.path))
        #expect(problems.map(\.message) == ["cannot read \(folder.path)/key.pem: No such file or directory"])
    }
}
