import BusTestSupport
import FieldlinkCore
@testable import FieldlinkModbus
import FieldlinkYAML
import Foundation
import Logging
import Testing

/// The registers a device sends for a value, worked out from the datasheet's encoding with
/// `Sample` (the big-endian bytes, then the order's swaps), never through the decoder.
enum Wire {
    static func float32(_ value: Float, _ order: WordOrder = .abcd) -> [UInt16] { Sample(float32: value, .double(0)).registers(order) }
    static func uint16(_ value: UInt16) -> [UInt16] { [value] }
    static func int16(_ value: Int16) -> [UInt16] { [UInt16(bitPattern: value)] }
    static func uint32(_ value: UInt32, _ order: WordOrder = .abcd) -> [UInt16] { Sample(.uint32, integer: value, .uint(0)).registers(order) }
    static func int32(_ value: Int32, _ order: WordOrder = .abcd) -> [UInt16] { Sample(.int32, integer: value, .int(0)).registers(order) }
    static func uint64(_ value: UInt64) -> [UInt16] { Sample(.uint64, integer: value, .uint(0)).registers(.abcd) }
    static func int64(_ value: Int64) -> [UInt16] { Sample(.int64, integer: value, .int(0)).registers(.abcd) }

    /// Two ASCII characters per register, the first in the high byte, NUL-padded to `length` registers.
    static func ascii(_ text: String, length: Int) -> [UInt16] {
        var bytes = Array(text.utf8)
        bytes += Array(repeating: 0, count: length * 2 - bytes.count)
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
    }
}

/// One profile's golden case, from `devices/testcases/<profile>/`: `registers.yaml`, a register
/// image of a device showing known values (each written as the datasheet encodes it and turned into
/// words by `Wire`, never by the decoder), and `reading.yaml`, what each point must publish.
struct GoldenCase: Sendable, CustomTestStringConvertible {
    var profile: String
    var registers: [(table: ModbusTable, address: Int, words: [UInt16])]
    var expected: [String: Value]
    var testDescription: String { profile }

    init(profile: String, directory: String) throws {
        self.profile = profile
        let folder = "\(directory)/testcases/\(profile)"
        let image = try YAML.compose(yaml: String(contentsOfFile: "\(folder)/registers.yaml", encoding: .utf8))?.sequence.map(Array.init) ?? []
        registers = try image.map { entry in
            guard let tableName = entry.mapping?["table"]?.string, let table = ModbusTable(rawValue: tableName),
                  let address = entry.mapping?["address"]?.int, let data = entry.mapping?["data"]?.sequence?.compactMap(\.string)
            else { throw GoldenCaseError("\(folder)/registers.yaml: bad entry at \(entry.mark.map { "\($0)" } ?? "?")") }
            return (table, address, try data.flatMap { try Self.words($0, in: folder) })
        }
        let reading = try YAML.compose(yaml: String(contentsOfFile: "\(folder)/reading.yaml", encoding: .utf8))?.mapping
        expected = try Dictionary(uniqueKeysWithValues: (reading.map(Array.init) ?? []).map { key, value in
            let name = key.string ?? "?"
            switch value.tag.name {
            case .int: if let number = value.int { return (name, Value.uint(UInt64(number))) }
            case .float: if let number = value.float { return (name, .double(number)) }
            case .bool: if let bit = value.bool { return (name, .bool(bit)) }
            case .str: if let text = value.string { return (name, .string(text)) }
            default: break
            }
            throw GoldenCaseError("\(folder)/reading.yaml: cannot read \(name)")
        })
    }

    /// `TYPE[/ORDER] VALUE`, `words W W ...` or `ascii/REGISTERS TEXT` as the registers a device sends.
    static func words(_ item: String, in folder: String) throws -> [UInt16] {
        let parts = item.split(separator: " ", maxSplits: 1).map(String.init)
        let kind = parts[0].split(separator: "/").map(String.init)
        let order = kind.count > 1 ? WordOrder(rawValue: kind[1].uppercased()) ?? .abcd : .abcd
        let argument = parts.count > 1 ? parts[1] : ""
        switch kind[0] {
        case "float32": if let value = Float(argument) { return Wire.float32(value, order) }
        case "uint16": if let value = UInt16(argument) { return Wire.uint16(value) }
        case "int16": if let value = Int16(argument) { return Wire.int16(value) }
        case "uint32": if let value = UInt32(argument) { return Wire.uint32(value, order) }
        case "int32": if let value = Int32(argument) { return Wire.int32(value, order) }
        case "uint64": if let value = UInt64(argument) { return Wire.uint64(value) }
        case "int64": if let value = Int64(argument) { return Wire.int64(value) }
        case "words": return try argument.split(separator: " ").map { word in
            guard let value = UInt16(word) else { throw GoldenCaseError("\(folder): bad word \(word)") }
            return value
        }
        case "ascii": if kind.count > 1, let length = Int(kind[1]) { return Wire.ascii(argument, length: length) }
        default: break
        }
        throw GoldenCaseError("\(folder)/registers.yaml: cannot encode \"\(item)\"")
    }
}

struct GoldenCaseError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite(.timeLimit(.minutes(1)))
struct ProfileTests {
    /// The repository's devices/ folder, found from this file so the tests run from any directory.
    static let devicesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("devices").path

    static let loader = ConfigLoader(families: [ModbusFamily()], profileDirectories: [devicesDirectory])

    /// A config with one device using `profile` (the config file's own devices/ folder does not exist).
    static func device(profile: String) throws -> (BusConfig, DeviceConfig) {
        let yaml = """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0}]
            devices: [{name: dev, bus: rs485, unit: 1, interval: 1s, profile: \(profile)}]
            """
        let config = try loader.parse(yaml: yaml, file: "/nonexistent-fieldlink-test/fieldlink.yaml")
        return (config.buses[0], config.devices[0])
    }

    /// The shipped profiles: every `devices/*.yaml`.
    static var profiles: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: devicesDirectory)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The gateway's own poll path: the Modbus driver's plan, retries and split, over a fake
    /// transport serving the image, converted and published by the bus owner.
    @Test(arguments: profiles)
    func decodesTheDatasheetImage(_ profile: String) throws {
        let golden = try GoldenCase(profile: profile, directory: Self.devicesDirectory)
        let (bus, device) = try Self.device(profile: golden.profile)
        #expect(Set(device.points.map(\.name)) == Set(golden.expected.keys), "every point of the profile has an expected reading")
        var image = RegisterImage()
        for (table, address, words) in golden.registers { image.set(table, address, words) }
        let clock = ManualClock(), sink = RecordingSink()
        let transport = FakeModbusTransport(images: [1: image], clock: clock)
        let options = bus.options as! any ModbusBusOptions
        let driver = ModbusDriver(options: options, devices: [PolledDevice(config: device, bus: options)], clock: clock,
                                  logger: Logger(label: "test"), openTransport: { transport })
        BusOwner(driver: driver, devices: [device], sink: sink, clock: clock, logger: Logger(label: "test")).scheduledPoll(0)
        let reading = try #require(sink.readings.first)
        #expect(reading.errors.map { "\($0.name): \($0.reason)" } == [])
        for (name, value) in reading.values {
            #expect(value == golden.expected[name] || value.sameNumber(as: golden.expected[name]), "\(golden.profile).\(name): \(value)")
        }
        #expect(reading.values.count == golden.expected.count)
    }

    @Test func everyShippedProfileHasAGoldenCase() throws {
        let cases = try FileManager.default.contentsOfDirectory(atPath: Self.devicesDirectory + "/testcases")
        #expect(Set(Self.profiles) == Set(cases))
        #expect(Self.profiles.count >= 8)
    }

    @Test func everyProfileNamesItsSource() throws {
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.devicesDirectory) where file.hasSuffix(".yaml") {
            let text = try String(contentsOfFile: "\(Self.devicesDirectory)/\(file)", encoding: .utf8)
            let header = text.split(separator: "\n").prefix { $0.hasPrefix("#") }
            #expect(header.contains { $0.hasPrefix("# Source: ") }, "\(file) has no '# Source:' line in its header comment")
        }
    }
}

extension Value {
    /// A whole number, signed or not, equal to the expected one (YAML has one kind of integer).
    func sameNumber(as other: Value?) -> Bool {
        switch (self, other) {
        case (.int(let value), .uint(let expected)?): value >= 0 && UInt64(value) == expected
        default: false
        }
    }
}
