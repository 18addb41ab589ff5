import FieldlinkCore
import Logging

/// A named request a poll-mode device accepts (write-back): the bytes to send, with `{value}` where
/// the value goes, and the reply that means the device took it.
public struct SerialCommand: Sendable, Hashable {
    /// `send:`, as bytes; `{value}` is replaced by the value's text (`21.5`, `1`, `true`).
    public var template: [UInt8]
    /// `expect:`, a regular expression the reply frame must contain; nil: no reply is awaited.
    public var expect: String?

    static let placeholder = Array("{value}".utf8)

    /// The request for `value`.
    func request(_ value: Value) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = template.startIndex
        while index < template.endIndex {
            if template[index...].starts(with: Self.placeholder) {
                bytes += Array(value.text.utf8)
                index += Self.placeholder.count
            } else {
                bytes.append(template[index])
                index += 1
            }
        }
        return bytes
    }
}

extension SerialFamily {
    /// `commands: {setpoint: {send: "SP {value}\r", expect: "^OK"}}`, on poll-mode buses only.
    func readCommands(_ value: ConfigValue?, on bus: BusConfig, mode: SerialMode) -> [String: SerialCommand] {
        guard let value, let entries = value.entries() else { return [:] }
        if mode != .poll {
            value.report("commands are sent like requests: they need a mode: poll bus; bus \(bus.name) is mode: \(mode)")
            return [:]
        }
        var commands: [String: SerialCommand] = [:]
        for (key, entry) in entries {
            guard let name = key.nonEmptyString(), var map = entry.mapping() else { continue }
            let send = map.required("send")?.byteString()
            let expectValue = map.optional("expect")
            let expect = expectValue?.nonEmptyString()
            map.rejectUnknownKeys()
            if let expect, let expectValue, (try? Regex(expect)) == nil { expectValue.report("not a valid regular expression") }
            if let send, !send.containsSubsequence(SerialCommand.placeholder) {
                entry.report("send has no {value}: a command must carry the value it writes")
            }
            guard let send else { continue }
            commands[name] = SerialCommand(template: send, expect: expect)
        }
        return commands
    }

    /// A writable point's `command:`, one of its device's.
    func readPointCommand(_ map: inout ConfigMapping, commands: Set<String>?) -> String? {
        guard let value = map.optional("command"), let name = value.nonEmptyString() else { return nil }
        if map.peek("writable") != "true" { value.report("command writes the point: it needs writable: true") }
        if let commands, !commands.contains(name) {
            value.report("no command \"\(name)\" on this device (commands: \(commands.isEmpty ? "none" : commands.sorted().joined(separator: ", ")))")
        }
        return name
    }

    public func writeOnce(bus: BusConfig, device: DeviceConfig, request: WriteRequest, logger: Logger) -> [PointWriteResult] {
        SerialDriver(options: bus.options as! SerialBusOptions, devices: [device], logger: logger).commissioningWrite(request, to: device, logger: logger)
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { self[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
