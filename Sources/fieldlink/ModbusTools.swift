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

extension ModbusTable: ExpressibleByArgument {}
extension Parity: ExpressibleByArgument {}

/// Which Modbus bus a commissioning command talks to: one from a config (`--config F --bus NAME`),
/// a serial port (`--port /dev/ttyUSB0 --baud ...`) or a TCP device (`--host H [--port 502]`).
struct BusSelection: ParsableArguments {
    @Option(name: [.short, .long], help: "The YAML config file.")
    var config: String?

    @Option(help: "With --config: the bus to use, by name.")
    var bus: String?

    @Option(help: "The serial port (RTU); with --host, the TCP port (default 502).")
    var port: String?

    @Option(help: "A Modbus-TCP device or gateway (host name or address).")
    var host: String?

    @Option(help: "RTU: baud rate.")
    var baud: Int = 19_200

    @Option(help: "RTU: none, even or odd.")
    var parity: Parity = .even

    @Option(help: "RTU: data bits.")
    var dataBits: Int = 8

    @Option(help: "RTU: stop bits.")
    var stopBits: Int = 1

    @Option(help: "Response timeout, e.g. 500ms (default: with --config the bus's; otherwise 500ms for probe, 100ms for scan).")
    var timeout: String?

    var timeoutDuration: Duration? {
        timeout.flatMap { Duration(configText: $0) }
    }

    func validate() throws {
        if let timeout, Duration(configText: timeout) == nil { throw ValidationError("--timeout \(timeout) is not a duration (e.g. 100ms)") }
    }

    func busOptions() throws -> any ModbusBusOptions {
        if let config {
            guard let name = bus else { throw ValidationError("with --config, name the bus: --bus NAME") }
            let loaded = try ConfigOption.load(file: config)
            guard let bus = loaded.buses.first(where: { $0.name == name }) else {
                throw ValidationError("no bus \"\(name)\" in \(config) (buses: \(loaded.buses.map(\.name).joined(separator: ", ")))")
            }
            guard let options = bus.options as? any ModbusBusOptions else { throw ValidationError("bus \(name) is \(bus.type), not Modbus") }
            return options
        }
        if let host {
            guard let tcpPort = Int(port ?? "502"), (1...65_535).contains(tcpPort) else { throw ValidationError("--port with --host is a TCP port (1...65535)") }
            var options = ModbusTCPBusOptions(host: host, port: tcpPort)
            if let timeoutDuration { options.defaults.timeout = timeoutDuration }
            return options
        }
        guard let port else { throw ValidationError("say which bus: --config F --bus NAME, --port /dev/ttyUSB0 (RTU) or --host H (TCP)") }
        guard ModbusFamily.bauds.contains(baud) else { throw ValidationError("unsupported baud rate \(baud)") }
        return ModbusRTUBusOptions(port: port, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits,
                                   timeout: timeoutDuration ?? .milliseconds(500))
    }
}

/// `fieldlink plan`: what each bus costs per cycle, before anything is wired.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each Modbus bus's merged read requests per cycle and the line time they need; warn when devices cannot fit their intervals."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        for bus in config.buses {
            guard bus.options is any ModbusBusOptions else {
                print("bus \(bus.name) (\(bus.type)): no request plan for this bus type")
                continue
            }
            print(ModbusBusPlan(bus: bus, devices: config.devices(on: bus)).text, terminator: "")
        }
    }
}

/// `fieldlink scan`: which slave ids answer on a line.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the slave ids that answer on a Modbus bus (a one-register read each; an exception counts as an answer).",
        discussion: "fieldlink scan --port /dev/ttyUSB0 --baud 9600 --parity none --units 1-247"
    )

    @OptionGroup var line: BusSelection

    @Option(help: "Units to try: 1-247, or a list such as 1-10,20,30.")
    var units: String = "1-247"

    @Option(help: "The table to read.")
    var table: ModbusTable = .holding

    @Option(help: "The address to read.")
    var address: Int = 0

    func run() throws {
        let list = try Self.parseUnits(units)
        let options = try line.busOptions()
        // A quick sweep by default; a configured bus's own timeout when there is one (its devices may need it).
        let timeout = line.timeoutDuration ?? (line.config != nil ? options.defaults.timeout : .milliseconds(100))
        print("scanning \(list.count) unit(s) on \(options.endpoint), \(table) \(address), timeout \(timeout.configText)")
        var found: [Int] = []
        do {
            try ModbusCommissioning(options: options).scan(units: list, table: table, address: address, timeout: timeout) { unit, answer in
                found.append(unit)
                switch answer {
                case .success(.registers(let registers)): print("unit \(unit): answers (\(table) \(address) = \(registers[0]))")
                case .success(.bits(let bits)): print("unit \(unit): answers (\(table) \(address) = \(bits[0] ? 1 : 0))")
                case .failure(let error): print("unit \(unit): answers with \(error)")
                }
            }
        } catch {
            print("scan stopped: \(error)")
            throw ExitCode(1)
        }
        print("\(found.count) of \(list.count) unit(s) answered\(found.isEmpty ? "" : ": " + found.map(String.init).joined(separator: ", "))")
        if found.isEmpty { throw ExitCode(1) }
    }

    static func parseUnits(_ text: String) throws -> [Int] {
        var units: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1).map { Int($0.trimmingWhitespace()) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, low <= high, (0...255).contains(low), (0...255).contains(high) else {
                throw ValidationError("--units \(text): expected ranges like 1-247 or 1-10,20 (0...255)")
            }
            units += Array(low...high)
        }
        return units
    }
}
