import Foundation
import Testing
import TestSupport
@testable import FieldlinkSerial

/// `stty -F PORT -a`: the port's settings as the kernel holds them, read by another program.
private func stty(_ port: String, in directory: String) throws -> String {
    let process = try ChildProcess("stty", ["-F", port, "-a"], in: directory, name: "stty")
    _ = process.waitForExit(timeout: .seconds(5))
    return process.stdout
}

@Suite("SerialPort on a real pty", .serialized)
struct SerialPortTests {
    @Test(.timeLimit(.minutes(1)), arguments: [
        // The pty driver forces CS8 without parity (pty_set_termios), so parity shows only as inpck
        // (parity checking on input) and the character size cannot be checked here.
        (230_400, SerialSettings.Parity.even, 7, 2, SerialSettings.Flow.rtscts, ["speed 230400 baud", "inpck", "cstopb", "crtscts", "-ixon", "-ixoff"]),
        (460_800, .odd, 8, 1, .xonxoff, ["speed 460800 baud", "inpck", "-cstopb", "-crtscts", "ixon", "ixoff"]),
        (9_600, .none, 8, 1, .none, ["speed 9600 baud", "-inpck", "-crtscts", "-ixon", "-icanon", "-echo", "-opost", "-isig", "clocal", "cread"]),
    ])
    func termiosSettingsReachTheKernel(baud: Int, parity: SerialSettings.Parity, dataBits: Int, stopBits: Int,
                                       flow: SerialSettings.Flow, expected: [String]) throws {
        let directory = try makeTemporaryDirectory("fieldlink-serialport")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pty = try PtyPair(in: directory)
        defer { pty.process.stop() }
        var settings = SerialSettings()
        (settings.baud, settings.parity, settings.dataBits, settings.stopBits, settings.flow) = (baud, parity, dataBits, stopBits, flow)
        settings.exclusive = false  // stty opens it too (root would pass TIOCEXCL anyway)
        let port = try SerialPort(path: pty.gatewaySide, settings: settings)
        let shown = try stty(pty.gatewaySide, in: directory)
        let words = Set(shown.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
        for flag in expected {
            let word = flag.trimmingCharacters(in: .whitespaces)
            #expect(word.hasPrefix("speed") ? shown.contains(word) : words.contains(word), "\(word) not in \(shown)")
        }
        _ = port
    }

    @Test(.timeLimit(.minutes(1))) func exclusiveByDefault() throws {
        let directory = try makeTemporaryDirectory("fieldlink-serialport")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pty = try PtyPair(in: directory)
        defer { pty.process.stop() }
        #expect(try SerialPort(path: pty.gatewaySide, settings: SerialSettings()).isExclusive)
        // Another tty: the flag stays on a tty that is still open at the other end.
        let other = try PtyPair(in: directory, name: "other")
        defer { other.process.stop() }
        var shared = SerialSettings()
        shared.exclusive = false
        #expect(try !SerialPort(path: other.gatewaySide, settings: shared).isExclusive)
    }

    @Test(.timeLimit(.minutes(1))) func rs485IsRefusedByAPtyWithAClearError() throws {
        let directory = try makeTemporaryDirectory("fieldlink-serialport")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pty = try PtyPair(in: directory)
        defer { pty.process.stop() }
        var settings = SerialSettings()
        settings.rs485 = SerialSettings.RS485()
        #expect {
            _ = try SerialPort(path: pty.gatewaySide, settings: settings)
        } throws: { error in
            guard let error = error as? SerialError else { return false }
            return error.code == .refused && error.description.contains("refuses the kernel's RS-485 mode") && error.description.contains("rs485: false")
        }
    }

    @Test(.timeLimit(.minutes(1))) func missingPortTimeoutAndUnplug() throws {
        let directory = try makeTemporaryDirectory("fieldlink-serialport")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: SerialError(code: .missing, path: "\(directory)/nothing", detail: "not there (No such file or directory)")) {
            _ = try SerialPort(path: "\(directory)/nothing", settings: SerialSettings())
        }
        let pty = try PtyPair(in: directory)
        defer { pty.process.stop() }
        let port = try SerialPort(path: pty.gatewaySide, settings: SerialSettings())
        var buffer = [UInt8](repeating: 0, count: 64)
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try port.read(into: &buffer, timeout: .milliseconds(200)) == 0)
        #expect(clock.now - started >= .milliseconds(190))

        let far = FileHandle(forWritingAtPath: pty.deviceSide)!
        far.write(Data("hello\n".utf8))
        #expect(eventually(timeout: .seconds(2)) { (try? port.read(into: &buffer, timeout: .milliseconds(100))) == 6 })
        #expect(Array(buffer[0..<6]) == Array("hello\n".utf8))
        try far.close()

        pty.process.stop()
        #expect {
            for _ in 0..<20 { _ = try port.read(into: &buffer, timeout: .milliseconds(100)) }
        } throws: { ($0 as? SerialError)?.code == .disconnected }
    }
}
