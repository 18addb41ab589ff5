import ArgumentParser
import FieldlinkCore
import FieldlinkModbus
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Commissioning: poll one configured device once and show what each point decodes to, before
/// anything is published; or read raw registers once and show every way they could be meant.
/// The gateway need not run (and should not, on a shared line).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Poll one configured device once (--config F --device D), or read raw registers once and print every interpretation.",
        discussion: """
            fieldlink probe --config F --device meter1
            fieldlink probe --config F --bus rs485 --unit 1 --table holding --address 0 --count 4
            fieldlink probe --port /dev/ttyUSB0 --baud 9600 --parity none --unit 1 --address 0 --count 4
            fieldlink probe --host 10.0.0.5 --unit 1 --table input --address 30 --count 2
            """
    )

    @OptionGroup var line: BusSelection

    @Option(help: "The device to poll, by its name in the config.")
    var device: String?

    @Option(help: "Raw read: the slave id (unit identifier on TCP).")
    var unit: Int?

    @Option(help: "Raw read: holding, input, coil or discrete.")
    var table: ModbusTable = .holding

    @Option(help: "Raw read: the first (zero-based, protocol) address.")
    var address: Int = 0

    @Option(help: "Raw read: how many registers or bits.")
    var count: Int = 2

    func run() throws {
        if let device {
            try probeDevice(device)
        } else {
            try probeRaw()
        }
    }

    private func probeDevice(_ name: String) throws {
        guard let file = line.config else { throw ValidationError("--device needs --config") }
        let config = try ConfigOption.load(file: file)
        guard let device = config.devices.first(where: { $0.name == name }) else {
            let known = config.devices.map(\.name).joined(separator: ", ")
            throw ValidationError("no device \"\(name)\" in \(config.file) (devices: \(known.isEmpty ? "none" : known))")
        }
        let bus = config.buses.first { $0.name == device.bus }!
        let family = driverFamilies.first { $0.busTypes.contains(bus.type) }!
        let reading = family.pollOnce(bus: bus, device: device, logger: Logger(label: "fieldlink.probe"))
        print(ProbeTable(device: device, bus: bus, reading: reading).text, terminator: "")
        if reading.isTotalFailure { throw ExitCode(1) }
    }

    private func probeRaw() throws {
        guard let unit else { throw ValidationError("give --device NAME (with --config), or --unit for a raw read") }
        let limit = table.holdsBits ? ModbusLimits.maxBitsPerRead : ModbusLimits.maxRegistersPerRead
        guard (1...limit).contains(count) else { throw ValidationError("--count must be 1...\(limit) for \(table)") }
        guard (0...ModbusLimits.maxAddress).contains(address), address + count - 1 <= ModbusLimits.maxAddress else {
            throw ValidationError("--address \(address) --count \(count) runs past the last address \(ModbusLimits.maxAddress)")
        }
        let options = try line.busOptions()
        let answer: ModbusCommissioning.Answer
        do {
            answer = try ModbusCommissioning(options: options).read(unit: unit, table: table, address: address, count: count,
                                                                    timeout: line.timeoutDuration ?? options.defaults.timeout)
        } catch {
            print("unit \(unit), \(table.range(address, count: count)) on \(options.endpoint): \(error)")
            throw ExitCode(1)
        }
        print("unit \(unit), \(table.range(address, count: count)) on \(options):")
        switch answer {
        case .registers(let registers):
            print(RegisterInterpretations.table(registers, from: address), terminator: "")
        case .bits(let bits):
            for (offset, bit) in bits.enumerated() { print("\(address + offset)  \(bit ? 1 : 0)") }
        }
    }
}

/// The table `probe --device` prints: one row per configured point, in config order.
struct ProbeTable {
    let text: String

    init(device: DeviceConfig, bus: BusConfig, reading: Reading) {
        var rows = [["point", "value", "unit", "source"]]
        for point in device.points {
            let value = reading.values.first { $0.name == point.name }?.value
            let error = reading.errors.first { $0.name == point.name }?.reason
            rows.append([point.name, value.map(Self.text) ?? "ERROR: \(error ?? "not read")", point.unit ?? "", "\(point.options)"])
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = ["device \(device.name) (\(device.options)) on bus \(bus.name) (\(bus.type)): \(reading.values.count) of \(device.points.count) point(s) read"]
        for row in rows {
            lines.append(zip(row, widths).map { $0.padded(toLength: $1) }.joined(separator: "  ")
                .trimmingWhitespace())
        }
        text = lines.joined(separator: "\n") + "\n"
    }

    static func text(_ value: Value) -> String {
        switch value {
        case .bool(let b): "\(b)"
        case .int(let i): "\(i)"
        case .uint(let u): "\(u)"
        case .double(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        }
    }
}
