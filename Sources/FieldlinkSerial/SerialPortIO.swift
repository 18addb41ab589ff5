/// The byte boundary of a serial bus: what the driver asks of the port.
///
/// `SerialPort` (termios) implements it for the gateway; a scripted fake implements it for tests,
/// so framing, replies, timeouts and a port that goes away are tested without a tty or a sleep.
public protocol SerialPortIO: AnyObject {
    /// Reads what has arrived into `buffer`, waiting up to `timeout` for the first byte; 0 on timeout.
    func read(into buffer: inout [UInt8], timeout: Duration) throws(SerialError) -> Int
    /// Writes all of `bytes`, or fails once `timeout` passed without progress.
    func write(_ bytes: [UInt8], timeout: Duration) throws(SerialError)
    /// Drops whatever arrived but was not read.
    func discardInput()
}

extension SerialPort: SerialPortIO {}
