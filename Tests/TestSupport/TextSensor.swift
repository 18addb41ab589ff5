import Foundation

/// `scripts/serial_device.py` (pyserial) on the device side of a pty pair: a text sensor that
/// talks on its own (`stream`) or answers requests (`respond`).
public final class TextSensor: @unchecked Sendable {
    public let process: ChildProcess

    /// Writes `block` again and again, one copy every `period` (`{n}` in it counts the copies).
    public static func stream(_ block: String, port: String, period: Duration = .milliseconds(200), in directory: String,
                              name: String = "text_sensor") throws -> TextSensor {
        let file = "\(directory)/\(name)-stream.txt"
        try Data(block.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }).write(to: URL(fileURLWithPath: file))
        return try TextSensor(["--stream", file, "--period", "\(Double(period.components.seconds) + Double(period.components.attoseconds) / 1e18)"],
                              port: port, in: directory, name: name)
    }

    /// Answers each request in `replies` (request → reply, latin-1) and nothing else.
    public static func respond(_ replies: [String: String], port: String, in directory: String,
                               name: String = "text_sensor") throws -> TextSensor {
        let file = "\(directory)/\(name)-replies.json"
        try JSONSerialization.data(withJSONObject: replies).write(to: URL(fileURLWithPath: file))
        return try TextSensor(["--respond", file], port: port, in: directory, name: name)
    }

    private init(_ arguments: [String], port: String, in directory: String, name: String) throws {
        process = try ChildProcess("python3", ["\(packageRoot)/scripts/serial_device.py", "--port", port] + arguments,
                                   in: directory, name: name)
        let process = self.process
        guard eventually(timeout: .seconds(10), { process.stderr.contains("ready") || !process.isRunning }), process.isRunning else {
            throw MissingPrerequisite("serial_device.py did not start (is pyserial installed? run `make test-deps`): \(process.stderr)")
        }
    }

    /// How many requests it has answered.
    public var answered: Int { process.stderr.components(separatedBy: "answered").count - 1 }

    public func stop() { process.stop() }
}
