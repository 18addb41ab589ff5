import FieldlinkCore
import Logging

/// The transactions of one Modbus bus (an RS-485 line or a TCP connection), on its owner's thread:
/// each device's planned reads with retries, the quiet time the line needs, the split of a merged
/// read the device rejects, and the transport opened lazily and reopened after it failed.
///
/// Everything after the transaction (conversion, health, backoff, publishing) is the `BusOwner`'s.
final class ModbusDriver: BusDriver {
    let options: any ModbusBusOptions
    let devices: [PolledDevice]
    let logger: Logger
    let clock: any BusClock
    private let openTransport: () throws(ModbusError) -> any ModbusTransport
    var transport: (any ModbusTransport)?
    /// When the last transaction on the line ended, for the quiet time before the next request.
    var lastTransactionEnd: ContinuousClock.Instant?
    /// Set after an exchange that failed on the line (a timeout, a CRC error, bytes that were no
    /// answer): what arrived since (the rest of the noise, a late answer) is discarded before the
    /// next request, not read as its answer.
    var flushBeforeNextRequest = false
    /// Per device: its read plan (split for good after a rejected merged read) and its counters.
    private var plans: [ReadPlan]
    var counters: [LinkCounters]
    /// Set by `poll`: whether the device answered anything (data or an exception), and whether the
    /// line carried bytes that were no answer (a CRC error, a damaged or foreign frame).
    private var answered = false
    private var garbled = false

    /// `openTransport` is the seam for tests: a fake serving a register image instead of libmodbus.
    init(options: any ModbusBusOptions, devices: [PolledDevice], clock: any BusClock = SystemBusClock(), logger: Logger,
         openTransport: (() throws(ModbusError) -> any ModbusTransport)? = nil) {
        self.options = options
        self.devices = devices
        self.logger = logger
        self.clock = clock
        if let openTransport {
            self.openTransport = openTransport
        } else {
            self.openTransport = { () throws(ModbusError) -> any ModbusTransport in try options.openConnection() }
        }
        self.plans = devices.map(\.plan)
        self.counters = Array(repeating: LinkCounters(), count: devices.count)
    }

    var backoff: BackoffPolicy { BackoffPolicy(after: options.defaults.backoffAfter, maximum: options.defaults.backoffMax) }

    func counters(of device: Int) -> LinkCounters? { counters[device] }

    /// A probe's worst case: every attempt of one request times out, after the line's quiet time.
    func longestPoll(of index: Int) -> Duration {
        let device = devices[index]
        return device.timeout * (device.retries + 1) + max(device.delayBeforeRequest, options.interFrameSilence)
    }

    func open() throws(ModbusError) -> any ModbusTransport {
        if let transport { return transport }
        let transport = try openTransport()
        self.transport = transport
        return transport
    }

    /// Reads every point of device `index` now, one request per planned read.
    func poll(_ index: Int) -> DevicePoll? {
        let device = devices[index]
        var points: [DevicePoll.Point?] = Array(repeating: nil, count: device.points.count)
        answered = false
        garbled = false
        do throws(ModbusError) {
            let transport = try open()
            try transport.setUnit(device.unit)
            transport.setResponseTimeout(device.timeout)
            var position = 0
            while position < plans[index].requests.count {
                let request = plans[index].requests[position]
                do {
                    try readWithRetries(request, of: device, index: index, on: transport, into: &points)
                    position += 1
                } catch {
                    if error.code == .exception(.illegalDataAddress), plans[index].canSplit(position) {
                        // Read again, point by point, here and in every later poll.
                        logger.warning("merged read \(request.table) \(request.address)-\(request.address + request.count - 1) rejected with \(error): reading its \(request.members.count) points one by one from now on",
                                       metadata: ["device": "\(device.config.name)"])
                        plans[index] = plans[index].splitting(position, spans: device.spans)
                        continue
                    }
                    for member in request.members { points[member.point] = .failed(error.description) }
                    if error.code == .port { throw error }
                    position += 1
                    // A device that does not answer its first request is not there: the rest of the poll
                    // would only cost the line one timeout each.
                    if !answered, error.meansNoAnswer {
                        for member in plans[index].requests[position...].flatMap(\.members) {
                            points[member.point] = .failed(error.description)
                        }
                        break
                    }
                }
            }
        } catch {
            // The line itself failed: the device is not judged.
            let reason = error.description
            return DevicePoll(points: points.map { $0 ?? .failed(reason) }, answered: nil, garbled: garbled)
        }
        return DevicePoll(points: points.map { $0 ?? .failed("not read") }, answered: answered, garbled: garbled)
    }

    /// One request with its retries, after the quiet time the line needs.
    private func readWithRetries(_ request: ReadPlan.Request, of device: PolledDevice, index: Int, on transport: any ModbusTransport,
                                 into points: inout [DevicePoll.Point?]) throws(ModbusError) {
        var attempt = 0
        while true {
            waitForQuietLine(device)
            defer { lastTransactionEnd = clock.now }
            do throws(ModbusError) {
                do throws(ModbusError) {
                    try read(request, of: device, on: transport, into: &points)
                } catch {
                    throw error.at(unit: device.unit, table: request.table, address: request.address)
                }
                answered = true
                return
            } catch {
                switch error.code {
                case .exception(let exception):
                    // A gateway saying its target is silent is no answer from the device.
                    answered = answered || !error.meansNoAnswer
                    counters[index].exceptionCode = exception.rawValue
                    throw error
                case .timeout:
                    counters[index].timeouts += 1
                case .badCRC:
                    counters[index].crcErrors += 1
                    garbled = true
                case .badResponse:
                    garbled = true
                case .port:
                    close()
                    throw error
                case .invalidArgument:
                    throw error
                }
                // A late or damaged answer must not be taken for the next one.
                transport.flush()
                flushBeforeNextRequest = true
                guard attempt < device.retries else { throw error }
                attempt += 1
            }
        }
    }

    /// The protocol's inter-frame silence, or the device's `delay_before_request` if longer, since the
    /// end of the previous transaction; after a failed exchange, the line is flushed once more, right
    /// before the request, so noise that went on after the failure is not read as its answer.
    func waitForQuietLine(_ device: PolledDevice) {
        if let last = lastTransactionEnd {
            let quiet = max(options.interFrameSilence, device.delayBeforeRequest)
            clock.sleep(for: quiet - last.duration(to: clock.now))
        }
        if flushBeforeNextRequest, let transport {
            transport.flush()
            flushBeforeNextRequest = false
        }
    }

    private func read(_ request: ReadPlan.Request, of device: PolledDevice, on transport: any ModbusTransport,
                      into points: inout [DevicePoll.Point?]) throws(ModbusError) {
        let answer: ReadPlan.Answer = switch request.table {
        case .coil, .discrete:
            .bits(try transport.readBits(discrete: request.table == .discrete, address: request.address, count: request.count))
        case .holding, .input:
            .registers(try transport.readRegisters(input: request.table == .input, address: request.address, count: request.count))
        }
        for (point, raw) in device.decode(answer, to: request) { points[point] = .raw(raw) }
    }

    func close() {
        transport?.close()
        transport = nil
    }
}
