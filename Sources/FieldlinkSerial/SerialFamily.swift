import FieldlinkCore
import Logging
import ServiceLifecycle

/// Who speaks first on a serial bus.
public enum SerialMode: String, Sendable, CaseIterable {
    /// The device talks on its own (a GPS, a particle counter in continuous mode); every device on
    /// the bus sees every frame and keeps what its parser understands.
    case stream
    /// The gateway sends each device's `request` every `interval` and waits for one reply frame.
    case poll
}

/// A serial bus: the port and its line settings, and how its byte stream is cut into frames (one
/// stream, one framing, whatever devices share it).
public struct SerialBusOptions: BusOptions {
    public var port: String
    public var physicalResource: String? { port }
    public var settings: SerialSettings
    public var mode: SerialMode
    public var framing: Framing
    /// The longest frame kept; longer ones are dropped, so memory stays bounded whatever arrives.
    public var maxFrame: Int

    public static let defaultMode = SerialMode.stream

    public var description: String {
        var text = "\(port) \(settings.baud) \(settings.dataBits)\(settings.parity.rawValue.prefix(1).uppercased())\(settings.stopBits)"
        if settings.flow != .none { text += " \(settings.flow)" }
        if settings.rs485 != nil { text += " rs485" }
        return text + ", \(mode), \(framing), max \(maxFrame) bytes"
    }
}

/// How a stream device's frames are thinned to one reading per `interval`.
public enum Aggregation: String, Sendable, CaseIterable {
    /// Every frame is a reading of its own (`interval` unused).
    case none
    case last, avg, min, max
}

/// A device on a serial bus: how its frames are read, and in poll mode how it is asked.
public struct SerialDeviceOptions: DeviceOptions {
    public var parser: ParserSettings
    /// Poll mode: the bytes sent every interval.
    public var request: [UInt8]?
    /// Poll mode: how long to wait for the reply frame.
    public var timeout: Duration
    /// Stream mode.
    public var aggregate: Aggregation
    /// Poll mode, write-back: named request templates a writable point sends (`commands:`).
    public var commands: [String: SerialCommand] = [:]

    public static let defaultTimeout = Duration.seconds(1)
    public static let defaultAggregate = Aggregation.last

    public var description: String {
        if let request { return "\(parser), request \(Framing.escaped(request)), timeout \(timeout.configText)" }
        return "\(parser), \(aggregate)"
    }
}

/// Where a point's value sits in a frame; the point's name is the default, so a plain list of names
/// picks fields, and `name` + `field` renames one.
public struct SerialPointOptions: PointOptions {
    /// The NMEA field, regex group or key; nil means the point's name.
    public var field: String?
    /// CSV column, 0-based.
    public var column: Int?
    /// nil: a number (`float`).
    public var type: SerialValueType?
    /// Write-back: the device command (`commands:`) a writable point sends.
    public var command: String? = nil

    /// What a command's value becomes in the template: the point's `type` (a number by default).
    public var writeKind: ValueKind? {
        switch type {
        case .int?: .int(bits: 64)
        case .string?: .string
        case .bool?: .bool
        case .float?, nil: nil
        }
    }

    public var writeRefusal: String? {
        command == nil ? "a serial point is written by one of its device's commands: name it with command: (mode: poll buses)" : nil
    }

    public var description: String {
        if let column { return "column \(column)\(type.map { " \($0)" } ?? "")" }
        return "\(field.map { "field \($0)" } ?? "by name")\(type.map { " \($0)" } ?? "")"
    }
}

/// What a serial device's points are checked against: its parser, and a regex's group names.
public struct SerialPointRules: Sendable {
    var parser: SerialFamily.ParserKind
    /// nil when the pattern does not compile (reported at the device): its groups are unknown.
    var groups: [String]?
    /// The device's `commands:` names, for a writable point's `command:`.
    var commands: Set<String> = []
}

/// Text sensors on a UART or USB serial adapter (`type: serial`): termios settings, framing,
/// stream or request–response, and the nmea / regex / keyvalue / csv parsers.
public struct SerialFamily: DriverFamily {
    public init() {}

    public var busTypes: [String] { ["serial"] }

    public static let defaultMaxFrame = 4_096
    /// A csv point's `column:` (0-based).
    public static let columnRange = 0...1_023
    /// The bound on `max_frame`, so a typo (`max_frame: 4GiB`) cannot undo the memory bound.
    public static let largestMaxFrame = 1 << 20

    public func readBus(type: String, _ map: inout ConfigMapping) -> (any BusOptions)? {
        let port = map.required("port")?.filePath()
        var settings = SerialSettings()
        if let value = map.optional("baud"), let baud = value.int(in: 50...4_000_000) {
            if SerialSettings.supports(baud: baud) { settings.baud = baud } else {
                value.report("unsupported baud rate \(baud) (termios has e.g. 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)")
            }
        }
        settings.parity = map.optional("parity").flatMap { $0.oneOf(SerialSettings.Parity.self) } ?? .none
        settings.dataBits = map.optional("data_bits").flatMap { $0.int(in: 5...8) } ?? 8
        settings.stopBits = map.optional("stop_bits").flatMap { $0.int(in: 1...2) } ?? 1
        settings.flow = map.optional("flow").flatMap { $0.oneOf(SerialSettings.Flow.self) } ?? .none
        settings.exclusive = map.optional("exclusive").flatMap { $0.bool() } ?? true
        if let value = map.optional("rs485") {
            if case .mapping = value.node, var rs485Map = value.mapping() {
                var rs485 = SerialSettings.RS485()
                rs485.rtsOnSend = rs485Map.optional("rts_on_send").flatMap { $0.bool() } ?? true
                rs485.delayBeforeSend = rs485Map.optional("delay_before_send").flatMap { $0.duration(minimum: .zero) } ?? .zero
                rs485.delayAfterSend = rs485Map.optional("delay_after_send").flatMap { $0.duration(minimum: .zero) } ?? .zero
                rs485Map.rejectUnknownKeys()
                settings.rs485 = rs485
            } else if value.bool() == true {
                settings.rs485 = SerialSettings.RS485()
            }
        }
        let mode = map.optional("mode").flatMap { $0.oneOf(SerialMode.self) } ?? SerialBusOptions.defaultMode
        let maxFrameValue = map.optional("max_frame")
        var maxFrame = maxFrameValue.flatMap { $0.byteSize(minimum: 1) } ?? Self.defaultMaxFrame
        if maxFrame > Self.largestMaxFrame, let maxFrameValue {
            maxFrameValue.report("\(maxFrame) bytes is more than a serial frame needs (at most \(Self.largestMaxFrame / 1_024)KiB)")
            maxFrame = Self.defaultMaxFrame
        }
        let framing = readFraming(&map, maxFrame: maxFrame)
        guard let port, let framing else { return nil }
        return SerialBusOptions(port: port, settings: settings, mode: mode, framing: framing, maxFrame: maxFrame)
    }

    private enum FramingKind: String, CaseIterable {
        case line, fixed
        case startEnd = "start-end"
    }

    private func readFraming(_ map: inout ConfigMapping, maxFrame: Int) -> Framing? {
        let kindValue = map.optional("framing")
        let kind = kindValue.flatMap { $0.oneOf(FramingKind.self) } ?? (kindValue == nil ? .line : nil)
        let delimiterValue = map.optional("delimiter")
        let lengthValue = map.optional("length")
        let startValue = map.optional("start")
        let endValue = map.optional("end")
        let owners: [(ConfigValue?, String, FramingKind)] = [(delimiterValue, "delimiter", .line), (lengthValue, "length", .fixed),
                                                            (startValue, "start", .startEnd), (endValue, "end", .startEnd)]
        for (value, key, owner) in owners where kind != nil && kind != owner {
            value?.report("\(key) belongs to framing: \(owner.rawValue), not \(kind!.rawValue)")
        }
        switch kind {
        case .line:
            let delimiter = delimiterValue.map { $0.byteString() } ?? [0x0A]
            return delimiter.map { .line(delimiter: $0) }
        case .fixed:
            guard let length = map.required("length")?.int(in: 1...65_536) else { return nil }
            if length > maxFrame, let lengthValue { lengthValue.report("length \(length) is longer than max_frame \(maxFrame)") }
            return .fixed(length: length)
        case .startEnd:
            let start = map.required("start")?.byteString()
            let end = map.required("end")?.byteString()
            guard let start, let end else { return nil }
            return .delimited(start: start, end: end)
        case nil:
            return nil
        }
    }

    public func readDevice(_ map: inout ConfigMapping, on bus: BusConfig) -> DeviceEntry<SerialDeviceOptions, SerialPointRules?> {
        let busOptions = bus.options as! SerialBusOptions
        let parserValue = map.required("parser")
        let kind = parserValue.flatMap { $0.oneOf(ParserKind.self) }
        let patternValue = map.optional("pattern")
        let separatorValue = map.optional("separator")
        let assignValue = map.optional("assign")
        for (value, key, owners) in [(patternValue, "pattern", [ParserKind.regex]), (separatorValue, "separator", [.keyvalue, .csv]),
                                     (assignValue, "assign", [.keyvalue])] {
            if let value, let kind, !owners.contains(kind) {
                value.report("\(key) is for parser \(owners.map(\.rawValue).joined(separator: " or ")), not \(kind.rawValue)")
            }
        }
        var parser: ParserSettings?
        var groups: [String] = []
        switch kind {
        case .nmea: parser = .nmea
        case .regex:
            if let patternValue = map.required("pattern"), let pattern = patternValue.nonEmptyString() {
                do {
                    _ = try Regex(pattern)
                    groups = RegexParser.groupNames(in: pattern)
                    if groups.isEmpty {
                        patternValue.report("the pattern has no named group; name each value, e.g. (?<temperature>-?\\d+\\.\\d+)")
                    } else {
                        parser = .regex(pattern: pattern)
                    }
                } catch {
                    patternValue.report("not a valid regular expression: \(error)")
                }
            }
        case .keyvalue:
            let separator = separatorValue.flatMap { value -> [UInt8]? in
                guard let bytes = value.byteString() else { return nil }
                return bytes.allSatisfy({ $0 == 0x20 }) ? nil : bytes
            }
            if let assign = assignValue.map({ $0.byteString() }) ?? [UInt8(ascii: "=")] {
                parser = .keyValue(separator: separator, assign: assign)
            }
        case .csv:
            if let separator = separatorValue.map({ $0.byteString() }) ?? [UInt8(ascii: ",")] { parser = .csv(separator: separator) }
        case nil: break
        }

        let requestValue = map.optional("request")
        let timeoutValue = map.optional("timeout")
        let aggregateValue = map.optional("aggregate")
        var request: [UInt8]?
        switch busOptions.mode {
        case .poll:
            request = map.required("request")?.byteString()
            aggregateValue?.report("aggregate is for mode: stream buses; bus \(bus.name) polls (one reading per reply)")
        case .stream:
            for (value, key) in [(requestValue, "request"), (timeoutValue, "timeout")] {
                value?.report("\(key) is for mode: poll buses; bus \(bus.name) is mode: stream (set mode: poll on the bus to send requests)")
            }
        }
        let timeout = timeoutValue.flatMap { $0.duration() } ?? SerialDeviceOptions.defaultTimeout
        let aggregate = aggregateValue.flatMap { $0.oneOf(Aggregation.self) } ?? SerialDeviceOptions.defaultAggregate
        let commands = readCommands(map.optional("commands"), on: bus, mode: busOptions.mode)
        // The points are checked against the parser even when the rest of the entry is wrong.
        let rules = kind.map { SerialPointRules(parser: $0, groups: $0 == .regex && parser == nil ? nil : groups, commands: Set(commands.keys)) }
        guard let parser, busOptions.mode == .stream || request != nil else { return DeviceEntry(options: nil, context: rules) }
        var options = SerialDeviceOptions(parser: parser, request: request, timeout: timeout, aggregate: aggregate)
        options.commands = commands
        return DeviceEntry(options: options, context: rules)
    }

    /// A point's keys depend on its device's parser (`device.context`): checked here, located at the point.
    public func readPoint(_ map: inout ConfigMapping, of device: DeviceEntry<SerialDeviceOptions, SerialPointRules?>,
                          on bus: BusConfig) -> (any PointOptions)? {
        let fieldValue = map.optional("field")
        let columnValue = map.optional("column")
        let typeValue = map.optional("type")
        let field = fieldValue.flatMap { $0.nonEmptyString() }
        let column = columnValue.flatMap { $0.int(in: Self.columnRange) }
        let type = typeValue.flatMap { $0.oneOf(SerialValueType.self) }
        if let rules = device.context {
            let nameValue = map.optional("name")
            // The field is the point's name unless `field:` renames it.
            let named = fieldValue == nil ? nameValue?.string() : field
            let point = map
            func say(_ at: ConfigValue?, _ message: String) {
                if let at { at.report(message) } else { point.report(message) }
            }
            let fieldAt = fieldValue ?? nameValue
            switch rules.parser {
            case .nmea:
                if let named, NMEAField(rawValue: named) == nil {
                    say(fieldAt, "no NMEA field \"\(named)\" (expected one of \(NMEAField.allCases.map(\.rawValue).joined(separator: ", ")); rename with name: and field:)")
                }
                if let columnValue { say(columnValue, "column is for parser csv, not nmea") }
                if let typeValue { say(typeValue, "type is not used by parser nmea (each NMEA field has its own type)") }
            case .regex:
                // An invalid pattern was reported already; its groups are unknown.
                if let named, let groups = rules.groups, !groups.contains(named) {
                    say(fieldAt, "the pattern has no group named \"\(named)\" (groups: \(groups.joined(separator: ", ")))")
                }
                if let columnValue { say(columnValue, "column is for parser csv, not regex") }
            case .keyvalue:
                if let columnValue { say(columnValue, "column is for parser csv, not keyvalue") }
            case .csv:
                if columnValue == nil { say(nameValue, "parser csv needs column: (the 0-based column index) for each point") }
                if let fieldValue { say(fieldValue, "field is for parsers nmea, regex and keyvalue; csv points take column:") }
            }
        }
        var options = SerialPointOptions(field: field, column: column, type: type)
        options.command = readPointCommand(&map, commands: device.context?.commands)
        return options
    }

    enum ParserKind: String, CaseIterable {
        case nmea, regex, keyvalue, csv
    }

    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) -> any Service {
        makeService(bus: bus, devices: devices, sink: sink, inbox: nil, logger: logger)
    }

    public func makeBusService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox, logger: Logger) -> any Service {
        makeService(bus: bus, devices: devices, sink: sink, inbox: inbox, logger: logger)
    }

    private func makeService(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, inbox: WriteInbox?, logger: Logger) -> any Service {
        let options = bus.options as! SerialBusOptions
        let busLogger = logger.on(bus: bus)
        let start = options.mode == .stream ? "reading \(devices.count) device(s) from \(options.description)"
            : "polling \(devices.count) device(s) on \(options.description)"
        return BusService(bus: bus, devices: devices, sink: sink, logger: logger, startMessage: start, periodic: options.mode == .stream,
                          inbox: inbox) {
            SerialDriver(options: options, devices: devices, logger: busLogger)
        }
    }

    public func pollOnce(bus: BusConfig, device: DeviceConfig, logger: Logger) -> Reading {
        SerialDriver(options: bus.options as! SerialBusOptions, devices: [device], logger: logger).commissioningReading(of: device, logger: logger)
    }
}

extension ConfigValue {
    /// A string as bytes: each character is one byte (0–255), so `"\r\n"` and `"\x02"` in double
    /// quotes give exactly those bytes.
    func byteString() -> [UInt8]? {
        // `delimiter: 13` means the byte 13 to some and the text "13" to YAML: neither is guessed.
        if let text = plainNumber {
            return fail("\(text) is a number, not bytes: write a byte in double quotes (\"\\r\", \"\\x0D\"), or quote the text (\"\(text)\")")
        }
        guard let text = string() else { return nil }
        guard !text.isEmpty else { return fail("must not be empty") }
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            guard scalar.value <= 0xFF else {
                return fail("character U+\(String(scalar.value, radix: 16, uppercase: true)) is not a byte; write bytes as \"\\xHH\" in double quotes")
            }
            bytes.append(UInt8(scalar.value))
        }
        return bytes
    }
}
