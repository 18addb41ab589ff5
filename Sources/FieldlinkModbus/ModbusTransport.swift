import FieldlinkCore

/// The byte boundary of a Modbus bus: the requests the driver makes of the wire, one at a time.
///
/// `ModbusConnection` (libmodbus, RTU or TCP) implements it for the gateway; a fake serving a
/// register image implements it for tests, so retries, splits and backoff are tested without a line.
public protocol ModbusTransport: AnyObject {
    /// Addresses the next requests to `unit` (`modbus_set_slave`).
    func setUnit(_ unit: Int) throws(ModbusError)
    /// How long a request waits for its answer.
    func setResponseTimeout(_ timeout: Duration)
    /// Reads `count` holding (or `input`) registers from `address`.
    func readRegisters(input: Bool, address: Int, count: Int) throws(ModbusError) -> [UInt16]
    /// Reads `count` coils (or `discrete` inputs) from `address`.
    func readBits(discrete: Bool, address: Int, count: Int) throws(ModbusError) -> [Bool]
    /// Writes one holding register (function 6).
    func writeRegister(address: Int, value: UInt16) throws(ModbusError)
    /// Writes holding registers from `address` in one request (function 16).
    func writeRegisters(address: Int, values: [UInt16]) throws(ModbusError)
    /// Writes one coil (function 5).
    func writeBit(address: Int, value: Bool) throws(ModbusError)
    /// Writes coils from `address` in one request (function 15).
    func writeBits(address: Int, values: [Bool]) throws(ModbusError)
    /// Discards a late or damaged answer, so it is not taken for the next one.
    func flush()
    /// Releases the line; the driver opens a new transport for the next poll.
    func close()
}

extension ModbusConnection: ModbusTransport {}
