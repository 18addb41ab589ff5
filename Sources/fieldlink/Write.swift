import ArgumentParser
import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Commissioning: one write of one point, with every check the running gateway makes (writable,
/// min/max, type, exact round trip), then the point read back. The gateway must not run on the
/// same line meanwhile (the line has one owner).
struct Write: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one point of a configured device (--config F --device D --point P VALUE) and read it back.",
        discussion: """
            fieldlink write --config F --device heatpump --point setpoint 21.5
            fieldlink write --config F --device relays --point pump true
            fieldlink write --config F --device heatpump --point mode heat
            VALUE is read as a command payload is: JSON (21.5, true, "heat") or plain text.
            Exits 0 when written, 1 when the device did not take it, 2 when refused before sending.
            """
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "The device, by its name in the config.")
    var device: String

    @Option(help: "The point to write; it must have writable: true.")
    var point: String

    @Argument(help: "The value, in engineering units (after scale and offset), or a map label.")
    var value: String

    func run() throws {
        let config = try options.load()
        guard let device = config.devices.first(where: { $0.name == self.device }) else {
            let known = config.devices.map(\.name).joined(separator: ", ")
            throw ValidationError("no device \"\(self.device)\" in \(config.file) (devices: \(known.isEmpty ? "none" : known))")
        }
        let parsed: Value
        switch CommandPayload.scalar(Array(value.utf8)) {
        case .success(let value): parsed = value
        case .failure(let error): throw ValidationError("\(error)")
        }
        let bus = config.buses.first { $0.name == device.bus }!
        let family = driverFamilies.first { $0.busTypes.contains(bus.type) }!
        var logger = Logger(label: "fieldlink.write")
        logger[metadataKey: "bus"] = "\(bus.name)"
        let request = WriteRequest(device: device.name, values: [(point, parsed)], source: "command line")
        let results = family.writeOnce(bus: bus, device: device, request: request, logger: logger)
        for result in results {
            switch result.outcome {
            case .written(let readBack, let error):
                print("\(device.name).\(result.point) = \(result.value.text): written; read back \(readBack?.text ?? "nothing")\(error.map { " (\($0))" } ?? "")")
            case .refused(let reason):
                print("\(device.name).\(result.point) = \(result.value.text): refused, nothing sent: \(reason)")
                throw ExitCode(2)
            case .failed(let reason):
                print("\(device.name).\(result.point) = \(result.value.text): failed at the device: \(reason)")
                throw ExitCode(1)
            }
        }
    }
}
