import FieldlinkCore
import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension ModbusBusOptions {
    /// A connected context: the port opened (or the TCP connection made) and RS-485/RTS applied.
    public func openConnection() throws(ModbusError) -> ModbusConnection {
        let connection = try makeConnection()
        do {
            try connection.connect()
        } catch {
            let verb = self is ModbusTCPBusOptions ? "connect to" : "open"
            throw ModbusError(code: .port, detail: "cannot \(verb) \(endpoint): \(error.detail.replacingLiterally("open: ", with: ""))")
        }
        try configure(connection)
        return connection
    }
}

/// One-off reads for commissioning (`fieldlink probe` raw, `fieldlink scan`): blocking, on the
/// caller's thread, never while a gateway owns the bus.
public final class ModbusCommissioning {
    public let options: any ModbusBusOptions
    private let connection: ModbusConnection

    public init(options: any ModbusBusOptions) throws(ModbusError) {
        self.options = options
        connection = try options.openConnection()
    }

    /// What one read brought back: registers, or bits for coils and discrete inputs.
    public enum Answer: Sendable, Equatable {
        case registers([UInt16])
        case bits([Bool])
    }

    public func read(unit: Int, table: ModbusTable, address: Int, count: Int, timeout: Duration) throws(ModbusError) -> Answer {
        try connection.setUnit(unit)
        connection.setResponseTimeout(timeout)
        defer { PosixThread.sleep(options.interFrameSilence) }
        do {
            switch table {
            case .holding, .input:
                return .registers(try connection.readRegisters(input: table == .input, address: address, count: count))
            case .coil, .discrete:
                return .bits(try connection.readBits(discrete: table == .discrete, address: address, count: count))
            }
        } catch {
            if error.code != .port, error.code != .invalidArgument, !error.isException { connection.flush() }
            throw error
        }
    }

    /// The units among `units` that answer a one-register (or one-bit) read at `address`, with what
    /// they answered; an exception is an answer too (someone is there).
    public func scan(units: [Int], table: ModbusTable, address: Int, timeout: Duration,
                     found: (_ unit: Int, _ answer: Result<Answer, ModbusError>) -> Void) throws(ModbusError) {
        for unit in units {
            do {
                found(unit, .success(try read(unit: unit, table: table, address: address, count: 1, timeout: timeout)))
            } catch {
                switch error.code {
                case .exception: found(unit, .failure(error))
                case .port: throw error
                default: continue
                }
            }
        }
    }
}

extension ModbusTable {
    /// `holding 5` or `holding 0-3`, for messages.
    public func range(_ address: Int, count: Int) -> String {
        count == 1 ? "\(self) \(address)" : "\(self) \(address)-\(address + count - 1)"
    }
}

extension ModbusError {
    var isException: Bool {
        if case .exception = code { return true }
        return false
    }

    /// Nothing usable came from the device: silence, a damaged answer, or a gateway saying its target
    /// did not respond (exceptions 10 and 11). What backoff counts.
    var meansNoAnswer: Bool {
        switch code {
        case .timeout, .badCRC, .badResponse, .exception(.gatewayPathUnavailable), .exception(.gatewayTargetFailedToRespond): true
        case .exception, .port, .invalidArgument: false
        }
    }
}

/// Registers shown every way they could be meant, side by side, so the plausible reading stands out.
public enum RegisterInterpretations {
    public static let multiRegisterTypes: [ModbusDataType] = [.int32, .uint32, .float32, .int64, .uint64, .float64]

    public static func table(_ registers: [UInt16], from address: Int) -> String {
        var lines = ["address  hex     uint16  int16   ascii"]
        for (offset, register) in registers.enumerated() {
            let ascii = [UInt8(register >> 8), UInt8(register & 0xFF)].map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
            lines.append([pad("\(address + offset)", 9), pad("0x" + hex(register), 8), pad("\(register)", 8), pad("\(Int16(bitPattern: register))", 8),
                          ascii].joined())
        }
        let orders = WordOrder.allCases
        let fitting = multiRegisterTypes.filter { $0.registerCount <= registers.count }
        guard !fitting.isEmpty else { return lines.joined(separator: "\n") + "\n" }
        lines.append("")
        lines.append("from address \(address):")
        lines.append(pad("type", 9) + orders.map { pad($0.rawValue, 24) }.joined())
        for type in fitting {
            let slice = registers[0..<type.registerCount]
            lines.append(pad("\(type)", 9) + orders.map { pad(text(RegisterDecoder.decode(slice, as: type, order: $0)), 24) }.joined())
        }
        return lines.map { $0.trimmingWhitespace() }.joined(separator: "\n") + "\n"
    }

    static func text(_ value: Value) -> String {
        switch value {
        case .bool(let bool): "\(bool)"
        case .int(let int): "\(int)"
        case .uint(let uint): "\(uint)"
        case .double(let double): double.isNaN ? "NaN" : "\(double)"
        case .string(let string): "\"\(string)\""
        }
    }

    static func hex(_ register: UInt16) -> String {
        let digits = String(register, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text.padded(toLength: width)
    }
}
