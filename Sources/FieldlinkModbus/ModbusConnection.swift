import CModbus
import FieldlinkCore
#if canImport(Glibc)
import Glibc
#endif

/// The Modbus exception codes a slave can answer with (Modbus Application Protocol v1.1b3, section 7).
public enum ModbusException: Int, Sendable, CustomStringConvertible {
    case illegalFunction = 1
    case illegalDataAddress = 2
    case illegalDataValue = 3
    case serverDeviceFailure = 4
    case acknowledge = 5
    case serverDeviceBusy = 6
    case negativeAcknowledge = 7
    case memoryParityError = 8
    case gatewayPathUnavailable = 10
    case gatewayTargetFailedToRespond = 11

    public var description: String {
        switch self {
        case .illegalFunction: "illegal function"
        case .illegalDataAddress: "illegal data address"
        case .illegalDataValue: "illegal data value"
        case .serverDeviceFailure: "server device failure"
        case .acknowledge: "acknowledge"
        case .serverDeviceBusy: "server device busy"
        case .negativeAcknowledge: "negative acknowledge"
        case .memoryParityError: "memory parity error"
        case .gatewayPathUnavailable: "gateway path unavailable"
        case .gatewayTargetFailedToRespond: "gateway target device failed to respond"
        }
    }
}

/// What went wrong on the wire, typed so the poller can tell a dead slave from a dead port.
public struct ModbusError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The slave answered with an exception.
        case exception(ModbusException)
        /// No (complete) answer within the response timeout.
        case timeout
        /// An answer arrived but failed its CRC check (noise on the line, or two slaves talking at once).
        case badCRC
        /// An answer arrived but was damaged otherwise (wrong slave, wrong length, wrong transaction).
        case badResponse
        /// The port itself failed (missing, unplugged, permission).
        case port
        case invalidArgument
    }

    public var code: Code
    public var detail: String
    /// Where on the bus it happened, once the driver knows: the unit addressed and the request's
    /// table and first address (nil for errors of the line itself).
    public var unit: Int?
    public var table: ModbusTable?
    public var address: Int?

    public init(code: Code, detail: String, unit: Int? = nil, table: ModbusTable? = nil, address: Int? = nil) {
        self.code = code
        self.detail = detail
        self.unit = unit
        self.table = table
        self.address = address
    }

    /// This error, located at a request.
    public func at(unit: Int, table: ModbusTable? = nil, address: Int? = nil) -> ModbusError {
        ModbusError(code: code, detail: detail, unit: unit, table: table ?? self.table, address: address ?? self.address)
    }

    /// "unit 3, holding 100" for log lines; the point errors a reading carries stay short.
    public var location: String? {
        guard let unit else { return nil }
        guard let table, let address else { return "unit \(unit)" }
        return "unit \(unit), \(table) \(address)"
    }

    public var description: String {
        switch code {
        case .exception(let exception): "Modbus exception \(exception.rawValue) (\(exception))"
        case .timeout: "no response (timeout)"
        default: detail
        }
    }

    /// Maps an errno left by libmodbus to a typed error.
    static func fromErrno(_ number: Int32, operation: String) -> ModbusError {
        let base = cmodbus_errno_exception_base()
        let text = String(cString: modbus_strerror(number))
        if number > base, number <= base + 11, let exception = ModbusException(rawValue: Int(number - base)) {
            return ModbusError(code: .exception(exception), detail: text)
        }
        switch number {
        case ETIMEDOUT: return ModbusError(code: .timeout, detail: "\(operation): no response (timeout)")
        case cmodbus_errno_bad_crc(): return ModbusError(code: .badCRC, detail: "\(operation): \(text)")
        case cmodbus_errno_bad_data(), cmodbus_errno_bad_exception(), cmodbus_errno_bad_slave(),
             cmodbus_errno_message_too_long(), cmodbus_errno_unknown_exception():
            return ModbusError(code: .badResponse, detail: "\(operation): \(text)")
        case EINVAL: return ModbusError(code: .invalidArgument, detail: "\(operation): \(text)")
        default: return ModbusError(code: .port, detail: "\(operation): \(text)")
        }
    }
}

/// One libmodbus context: the single owner of a `modbus_t *`, freed in `deinit`.
///
/// Not `Sendable`: a `modbus_t` is not thread-safe, so it lives on its bus's `BusLoop` thread.
/// Each method names the libmodbus function it wraps.
public final class ModbusConnection {
    private let context: OpaquePointer
    public private(set) var isConnected = false

    /// An RTU context on a serial port (`modbus_new_rtu`).
    public init(rtuPort port: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int) throws(ModbusError) {
        let parityCharacter: CChar = switch parity {
        case .none: CChar(UInt8(ascii: "N"))
        case .even: CChar(UInt8(ascii: "E"))
        case .odd: CChar(UInt8(ascii: "O"))
        }
        guard let context = modbus_new_rtu(port, Int32(baud), parityCharacter, Int32(dataBits), Int32(stopBits)) else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "modbus_new_rtu(\(port))")
        }
        self.context = context
        // Retries and flushing are ours: libmodbus's own recovery would sleep and reconnect behind our back.
        modbus_set_error_recovery(context, MODBUS_ERROR_RECOVERY_NONE)
    }

    deinit {
        if isConnected { modbus_close(context) }
        modbus_free(context)
    }

    /// A Modbus-TCP context (`modbus_new_tcp_pi`, which also takes host names and IPv6, unlike `modbus_new_tcp`).
    public init(tcpHost host: String, port: Int) throws(ModbusError) {
        guard let context = modbus_new_tcp_pi(host, String(port)) else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "modbus_new_tcp_pi(\(host), \(port))")
        }
        self.context = context
        modbus_set_error_recovery(context, MODBUS_ERROR_RECOVERY_NONE)
    }

    /// Opens the port (`modbus_connect`).
    public func connect() throws(ModbusError) {
        guard !isConnected else { return }
        guard modbus_connect(context) == 0 else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "open")
        }
        isConnected = true
    }

    /// Closes the port (`modbus_close`); the next `connect` reopens it.
    public func close() {
        guard isConnected else { return }
        modbus_close(context)
        isConnected = false
    }

    /// `modbus_set_response_timeout`.
    public func setResponseTimeout(_ timeout: Duration) {
        let microseconds = max(1_000, timeout.milliseconds * 1_000)
        modbus_set_response_timeout(context, UInt32(microseconds / 1_000_000), UInt32(microseconds % 1_000_000))
    }

    /// Lets the kernel switch the RS-485 driver (`modbus_rtu_set_serial_mode(MODBUS_RTU_RS485)`, i.e. TIOCSRS485).
    /// Only after `connect`; a port whose driver has no RS-485 mode (a pty, most USB-serial chips) refuses.
    public func enableRS485() throws(ModbusError) {
        guard modbus_rtu_set_serial_mode(context, MODBUS_RTU_RS485) == 0 else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "RS-485 mode (TIOCSRS485)")
        }
    }

    /// Direction switching in software through RTS (`modbus_rtu_set_rts`, `modbus_rtu_set_rts_delay`).
    public func setRTS(_ rts: RTSMode, delay: Duration?) throws(ModbusError) {
        let mode: Int32 = switch rts {
        case .none: MODBUS_RTU_RTS_NONE
        case .up: MODBUS_RTU_RTS_UP
        case .down: MODBUS_RTU_RTS_DOWN
        }
        guard modbus_rtu_set_rts(context, mode) == 0 else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "RTS \(rts.rawValue)")
        }
        if let delay, modbus_rtu_set_rts_delay(context, Int32(delay.microseconds)) != 0 {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "RTS delay")
        }
    }

    /// `modbus_set_slave`.
    public func setUnit(_ unit: Int) throws(ModbusError) {
        guard modbus_set_slave(context, Int32(unit)) == 0 else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "set unit \(unit)")
        }
    }

    /// Discards bytes still arriving from an earlier exchange, so a late reply is not taken for the next one (`modbus_flush`).
    public func flush() {
        _ = modbus_flush(context)
    }

    /// Reads `count` holding (`modbus_read_registers`) or input (`modbus_read_input_registers`) registers.
    public func readRegisters(input: Bool, address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        var registers = [UInt16](repeating: 0, count: count)
        let received = registers.withUnsafeMutableBufferPointer { buffer in
            input ? modbus_read_input_registers(context, Int32(address), Int32(count), buffer.baseAddress)
                : modbus_read_registers(context, Int32(address), Int32(count), buffer.baseAddress)
        }
        guard received == count else {
            throw received < 0 ? ModbusError.fromErrno(cmodbus_errno(), operation: "read registers")
                : ModbusError(code: .badResponse, detail: "read \(received) of \(count) registers")
        }
        return registers
    }

    /// Reads `count` coils (`modbus_read_bits`) or discrete inputs (`modbus_read_input_bits`).
    public func readBits(discrete: Bool, address: Int, count: Int) throws(ModbusError) -> [Bool] {
        var bits = [UInt8](repeating: 0, count: count)
        let received = bits.withUnsafeMutableBufferPointer { buffer in
            discrete ? modbus_read_input_bits(context, Int32(address), Int32(count), buffer.baseAddress)
                : modbus_read_bits(context, Int32(address), Int32(count), buffer.baseAddress)
        }
        guard received == count else {
            throw received < 0 ? ModbusError.fromErrno(cmodbus_errno(), operation: "read bits")
                : ModbusError(code: .badResponse, detail: "read \(received) of \(count) bits")
        }
        return bits.map { $0 != 0 }
    }

    /// Writes one holding register (`modbus_write_register`, function 6).
    public func writeRegister(address: Int, value: UInt16) throws(ModbusError) {
        guard modbus_write_register(context, Int32(address), value) == 1 else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "write register")
        }
    }

    /// Writes holding registers in one request (`modbus_write_registers`, function 16).
    public func writeRegisters(address: Int, values: [UInt16]) throws(ModbusError) {
        let written = values.withUnsafeBufferPointer { modbus_write_registers(context, Int32(address), Int32(values.count), $0.baseAddress) }
        guard written == values.count else {
            throw written < 0 ? ModbusError.fromErrno(cmodbus_errno(), operation: "write registers")
                : ModbusError(code: .badResponse, detail: "wrote \(written) of \(values.count) registers")
        }
    }

    /// Writes one coil (`modbus_write_bit`, function 5).
    public func writeBit(address: Int, value: Bool) throws(ModbusError) {
        guard modbus_write_bit(context, Int32(address), value ? 1 : 0) == 1 else {
            throw ModbusError.fromErrno(cmodbus_errno(), operation: "write coil")
        }
    }

    /// Writes coils in one request (`modbus_write_bits`, function 15).
    public func writeBits(address: Int, values: [Bool]) throws(ModbusError) {
        let bytes = values.map { UInt8($0 ? 1 : 0) }
        let written = bytes.withUnsafeBufferPointer { modbus_write_bits(context, Int32(address), Int32(bytes.count), $0.baseAddress) }
        guard written == values.count else {
            throw written < 0 ? ModbusError.fromErrno(cmodbus_errno(), operation: "write coils")
                : ModbusError(code: .badResponse, detail: "wrote \(written) of \(values.count) coils")
        }
    }
}

public enum Parity: String, Sendable, CaseIterable {
    case none, even, odd
}

/// Who drives the RS-485 transmitter: the adapter itself (`none`), or RTS high (`up`) or low (`down`) while sending.
public enum RTSMode: String, Sendable, CaseIterable {
    case none, up, down
}

extension Duration {
    /// Whole microseconds, rounded down.
    var microseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}
