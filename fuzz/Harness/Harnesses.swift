import FieldlinkBuffer
import FieldlinkCore
import FieldlinkI2C
import FieldlinkModbus
import FieldlinkPayload
import FieldlinkSerial
import Foundation
import Logging

/// Every harness by name: bytes in, a trap or a broken invariant is the finding.
enum Harnesses {
    nonisolated(unsafe) static var selected: (@Sendable ([UInt8]) -> Void)?

    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "config": config,
        "nmea": { text(.nmea, NMEAField.allCases.map(\.rawValue), $0) },
        "regex": { text(.regex(pattern: #"T=(?<t>-?\d+(\.\d+)?) H=(?<h>\d+)"#), ["t", "h"], $0) },
        "keyvalue": { text(.keyValue(separator: nil, assign: [UInt8(ascii: "=")]), ["T", "H", "P"], $0) },
        "csv": { text(.csv(separator: [UInt8(ascii: ",")]), [], $0) },
        "framing": framing,
        "ring": ring,
        "modbus": modbus,
        "i2c": i2c,
        "payload": payload,
        "sparkplug": sparkplug,
        "command": command,
    ]

    /// What every harness that needs a config builds on; the fuzz input fills in the rest.
    static let head = """
        gateway: {id: fuzz, state_dir: /nonexistent-fuzz}
        mqtt: {url: mqtt://127.0.0.1}

        """
    static let loader = ConfigLoader(families: [ModbusFamily(), SerialFamily(), I2CFamily()])

    /// Any text as a config file: refused with located problems or accepted, never a trap.
    static func config(_ bytes: [UInt8]) {
        do {
            _ = try loader.parse(yaml: String(decoding: bytes, as: UTF8.self), file: "/fuzz/fieldlink.yaml", environment: [:])
        } catch {
            precondition(!error.problems.isEmpty, "a refused config names at least one problem")
        }
    }

    /// One frame through a text parser: parsed, ignored or failed, never a trap; a value is finite.
    static func text(_ settings: ParserSettings, _ fields: [String], _ bytes: [UInt8]) {
        let types: [SerialValueType] = [.float, .int, .string, .bool]
        let points: [ParserPoint] = fields.isEmpty
            ? (0..<4).map { ParserPoint(field: nil, column: $0, type: types[$0]) }
            : fields.enumerated().map { ParserPoint(field: $1, column: nil, type: settings == .nmea ? .float : types[$0 % types.count]) }
        var parser = FrameParser(settings, points: points)
        var values = [Value?](repeating: nil, count: points.count)
        _ = parser.parse(bytes[...], into: &values)
        for case .double(let number)? in values { precondition(number.isFinite, "a parser produced \(number)") }
    }

    /// The first byte picks the framing and the chunk size; no frame is ever longer than the limit.
    static func framing(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let framings: [Framing] = [.line(delimiter: [0x0D, 0x0A]), .line(delimiter: [0x0A]), .fixed(length: 7), .delimited(start: [0x02], end: [0x03])]
        let limit = 64
        var splitter = FrameSplitter(framing: framings[Int(first) % framings.count], maxLength: limit)
        let chunk = max(1, Int(first >> 2))
        var offset = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            splitter.append(bytes[offset..<end])
            while let event = splitter.next() {
                if case .frame(let frame) = event { precondition(frame.count <= limit, "a \(frame.count)-byte frame passed a \(limit)-byte limit") }
            }
            offset = end
        }
    }

    /// Arbitrary bytes as a ring segment: recovery keeps what is whole, drops the rest, never traps.
    static func ring(_ bytes: [UInt8]) {
        let directory = NSTemporaryDirectory() + "fieldlink-fuzz-ring-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: directory + "/00000000000000000001.seg", contents: Data(bytes))
        var buffer = BufferConfig()
        buffer.durability = .always
        let settings = DiskRing.Settings(directory: directory, buffer: buffer, inFlightWindow: 10)
        guard let ring = try? DiskRing(settings: settings, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }) else { return }
        defer { ring.close() }
        for record in ring.checkout(limit: 1_000) { ring.acknowledge(record.id) }
    }

    /// Registers as every type and word order: a value or NaN, never a trap.
    static func modbus(_ bytes: [UInt8]) {
        let words = stride(from: 0, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        for type in ModbusDataType.allCases {
            for order in WordOrder.allCases {
                let count = RegisterLayout(type: type, order: order, length: 4).registerCount
                guard words.count >= count else { continue }
                _ = RegisterLayout(type: type, order: order, length: 4).decode(words[0..<count])
            }
        }
    }

    /// One device per chip driver, parsed once.
    static let i2cDevices: [DeviceConfig] = {
        let devices = """
            buses: [{name: b, type: i2c, device: /dev/i2c-1}]
            devices:
              - {name: t1, bus: b, driver: tmp102, interval: 1s, points: [{name: temperature}]}
              - {name: t2, bus: b, driver: lm75, interval: 1s, points: [{name: temperature}]}
              - {name: t3, bus: b, driver: lm75a, interval: 1s, points: [{name: temperature}]}
              - {name: sh, bus: b, driver: sht3x, interval: 1s, points: [{name: temperature}, {name: humidity}]}
              - {name: bm, bus: b, driver: bme280, interval: 1s, points: [{name: temperature}, {name: pressure}, {name: humidity}]}
              - {name: ad, bus: b, driver: ads1115, interval: 1s, points: [{name: ain0}, {name: ain3}]}
              - {name: li, bus: b, driver: bh1750, interval: 1s, points: [{name: illuminance}]}
              - {name: rg, bus: b, driver: registers, address: 0x20, interval: 1s,
                 points: [{name: a, register: 0, type: float32}, {name: b, register: 4, type: int32, order: little}, {name: c, register: 9, type: int8}]}
            """
        guard let config = try? loader.parse(yaml: head + devices, file: "/fuzz/i2c.yaml", environment: [:]) else {
            preconditionFailure("the i2c harness's own config is invalid")
        }
        return config.devices
    }()

    /// Every chip driver fed arbitrary bytes for every read (chip id, calibration, measurement).
    static func i2c(_ bytes: [UInt8]) {
        let bus = ReplayBus(bytes)
        for device in i2cDevices {
            let driver = I2CDriver(device: "/dev/i2c-1", devices: [device], openBus: { _ in bus })
            _ = driver.commissioningReading(of: device, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
        }
    }

    /// A reading made of the input through the JSON and CBOR encoders: JSON always parses back.
    static func payload(_ bytes: [UInt8]) {
        var values: [(name: String, value: Value)] = []
        var index = 0
        while index + 9 <= bytes.count {
            let kind = bytes[index]
            let raw = bytes[index + 1..<index + 9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let name = "p\(index)"
            switch kind % 5 {
            case 0: values.append((name, .int(Int64(bitPattern: raw))))
            case 1: values.append((name, .uint(raw)))
            case 2: values.append((name, .double(Double(bitPattern: raw).isFinite ? Double(bitPattern: raw) : 0)))
            case 3: values.append((name, .bool(raw & 1 == 1)))
            default: values.append((name, .string(String(decoding: bytes[index + 1..<index + 9], as: UTF8.self))))
            }
            index += 9
        }
        let reading = Reading(device: "d\u{0}\"\\", timestamp: 1, values: values, errors: [("e", String(decoding: bytes.prefix(16), as: UTF8.self))])
        let json = JSONPayloadEncoder().encode(reading)
        precondition((try? JSONSerialization.jsonObject(with: Data(json))) != nil, "the JSON encoder wrote what JSON cannot read: \(String(decoding: json, as: UTF8.self))")
        _ = CBORPayloadEncoder().encode(reading)
    }
}

/// An adapter that answers every read with the next bytes of the input (then zeros), so the chip
/// drivers see arbitrary ids, trimming values and measurements.
final class ReplayBus: I2CBus {
    private var bytes: [UInt8]
    private var position = 0
    let capabilities: I2CCapabilities = .fullI2C

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func perform(_ transfer: I2CTransfer, address: UInt8) throws(I2CError) -> [UInt8] {
        let count: Int = switch transfer {
        case .writeRead(_, let readCount): readCount
        case .smbusReadByte, .smbusReadByteData: 1
        case .smbusReadWordData: 2
        case .smbusReadI2CBlock(_, let count): count
        default: 0
        }
        var answer: [UInt8] = []
        for _ in 0..<count {
            answer.append(position < bytes.count ? bytes[position] : 0)
            position += 1
        }
        return answer
    }

    func pause(_ duration: Duration) {}
}
