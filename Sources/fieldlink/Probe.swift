import ArgumentParser
import FieldlinkCore
import Foundation
import Logging

/// Commissioning: poll one configured device once and show what each point decodes to, before
/// anything is published. The gateway need not run (and should not, on a shared line).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Poll one configured device once and print its decoded points with units and errors."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "The device to poll, by its name in the config.")
    var device: String

    func run() throws {
        let config = try options.load()
        guard let device = config.devices.first(where: { $0.name == self.device }) else {
            let known = config.devices.map(\.name).joined(separator: ", ")
            throw ValidationError("no device \"\(self.device)\" in \(config.file) (devices: \(known.isEmpty ? "none" : known))")
        }
        let bus = config.buses.first { $0.name == device.bus }!
        let family = driverFamilies.first { $0.busTypes.contains(bus.type) }!
        let reading = family.pollOnce(bus: bus, device: device, logger: Logger(label: "fieldlink.probe"))
        print(ProbeTable(device: device, bus: bus, reading: reading).text, terminator: "")
        if reading.isTotalFailure { throw ExitCode(1) }
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
            lines.append(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
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
