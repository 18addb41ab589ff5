import FieldlinkCore
import Foundation
import Logging
import ServiceLifecycle

/// A point as the poller needs it: plain values, no existentials to unwrap on every poll.
struct PolledPoint: Sendable {
    let name: String
    let layout: RegisterLayout
    let conversion: PointConversion
}

/// A device as the poller needs it: config plus its precomputed read plan and line settings.
struct PolledDevice: Sendable {
    let config: DeviceConfig
    let unit: Int
    let timeout: Duration
    let retries: Int
    let delayBeforeRequest: Duration
    let points: [PolledPoint]
    /// Where each point lies, for re-planning when the device rejects a merged read.
    let spans: [ReadPlan.Span]
    let plan: ReadPlan

    init(config: DeviceConfig, bus: any ModbusBusOptions) {
        let options = config.options as! ModbusDeviceOptions
        let pointOptions = config.points.map { $0.options as! ModbusPointOptions }
        self.config = config
        self.unit = options.unit
        self.timeout = options.timeout ?? bus.defaults.timeout
        self.retries = options.retries ?? bus.defaults.retries
        self.delayBeforeRequest = options.delayBeforeRequest ?? bus.defaults.delayBeforeRequest
        self.points = zip(config.points, pointOptions).map(PolledPoint.init)
        self.spans = pointOptions.map(\.span)
        self.plan = ReadPlan(spans: spans, maxGap: options.maxGap, merge: options.merge)
    }
}

/// The single owner of one Modbus bus (an RS-485 line or a TCP connection): polls its devices one
/// transaction at a time on the bus's own thread, on a fixed-rate schedule.
struct ModbusBusService: Service {
    let bus: BusConfig
    let options: any ModbusBusOptions
    let devices: [PolledDevice]
    let sink: any ReadingSink
    let logger: Logger

    init(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) {
        let options = bus.options as! any ModbusBusOptions
        self.bus = bus
        self.options = options
        self.devices = devices.map { PolledDevice(config: $0, bus: options) }
        self.sink = sink
        self.logger = logger.on(bus: bus)
    }

    func run() async throws {
        guard !devices.isEmpty else { return }
        let options = self.options, devices = self.devices, sink = self.sink, logger = self.logger
        @Sendable func publish(_ index: Int, _ reading: Reading, on line: ModbusLine) {
            if !reading.isTotalFailure { sink.deliver(reading) }
            if let health = line.report(reading, of: index) { sink.healthChanged(health) }
        }
        let loop = BusLoop(name: "fl-\(bus.name)", devices: devices.map { .init(name: $0.config.name, interval: $0.config.interval) },
                           logger: logger, makeResource: { ModbusLine(options: options, devices: devices, logger: logger) },
                           idle: { available, line in
                               if let (index, reading) = line.probeBackedOff(within: available) { publish(index, reading, on: line) }
                           }) { index, line in
            if let reading = line.scheduledPoll(index) { publish(index, reading, on: line) }
        }
        logger.info("polling \(devices.count) device(s) on \(options.description)")
        await loop.runUntilShutdown()
    }
}

/// When a device that stopped answering is tried again: its interval doubled per silent probe, capped.
///
/// Pure value, so the sequence is tested without a line or a clock.
struct Backoff: Sendable, Equatable {
    let interval: Duration
    let after: Int
    let maximum: Duration
    /// Polls in a row that got no answer at all.
    private(set) var silentPolls = 0

    init(interval: Duration, after: Int, maximum: Duration) {
        self.interval = interval
        self.after = after
        self.maximum = maximum
    }

    var isBackedOff: Bool { silentPolls >= after }

    /// The wait before the next probe while backed off: 2, 4, 8, ... intervals, at most `maximum`
    /// (or one interval, for a device polled more rarely than that anyway).
    var wait: Duration? {
        guard isBackedOff else { return nil }
        let doublings = min(silentPolls - after + 1, 30)
        let cap = max(maximum, interval)
        let seconds = min(interval.seconds * Double(1 << doublings), cap.seconds)
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// Books one poll; returns true when the device just became backed off.
    mutating func record(answered: Bool) -> Bool {
        guard !answered else {
            silentPolls = 0
            return false
        }
        silentPolls += 1
        return silentPolls == after
    }
}

/// The bus's state on its own thread: the libmodbus context, opened lazily and reopened after a
/// port or connection failure, and each device's plan, backoff and health.
final class ModbusLine {
    let options: any ModbusBusOptions
    private let devices: [PolledDevice]
    private let logger: Logger
    private let clock = ContinuousClock()
    private var connection: ModbusConnection?
    /// When the last transaction on the line ended, for the quiet time before the next request.
    private var lastTransactionEnd: ContinuousClock.Instant?
    private var states: [DeviceState]

    /// What the line keeps per device between polls.
    private struct DeviceState {
        var plan: ReadPlan
        var health: DeviceHealthTracker
        var backoff: Backoff
        var nextProbe: ContinuousClock.Instant?
        var timeouts: UInt64 = 0
        var crcErrors: UInt64 = 0
        var exceptionCode: Int?
        var publishedBackoff = false
        /// When the current backoff began (Unix ms); nil while the device is polled normally.
        var backedOffSince: Int64?
    }

    /// Set by `pollNow`: whether the device answered anything (data or an exception).
    private var answered = false

    init(options: any ModbusBusOptions, devices: [PolledDevice], logger: Logger) {
        self.options = options
        self.devices = devices
        self.logger = logger
        self.states = devices.map { device in
            DeviceState(plan: device.plan,
                        health: DeviceHealthTracker(device: device.config.name, pointCount: device.points.count, retry: device.config.interval,
                                                    noun: "poll"),
                        backoff: Backoff(interval: device.config.interval, after: options.defaults.backoffAfter,
                                         maximum: options.defaults.backoffMax))
        }
    }

    /// The device's own slot: a poll, or nothing while it is backed off (its probes go in idle time,
    /// unless no idle window came for a whole backoff period, when the probe takes this slot).
    func scheduledPoll(_ index: Int) -> Reading? {
        if let probe = states[index].nextProbe, let wait = states[index].backoff.wait {
            guard clock.now >= probe + wait else { return nil }
        }
        return pollNow(index)
    }

    /// Probes one backed-off device whose turn has come, if its probe (one request that may time
    /// out) fits in `available` before the next scheduled poll.
    func probeBackedOff(within available: Duration) -> (Int, Reading)? {
        let now = clock.now
        for index in devices.indices {
            guard let probe = states[index].nextProbe, probe <= now else { continue }
            let device = devices[index]
            let cost = device.timeout * (device.retries + 1) + device.delayBeforeRequest + .milliseconds(20)
            guard cost <= available else { continue }
            return (index, pollNow(index))
        }
        return nil
    }

    /// Logs once per change of a device's health, with how long the previous state lasted, and
    /// returns the new health to publish; nil when nothing changed.
    func report(_ reading: Reading, of index: Int) -> DeviceHealth? {
        let device = devices[index]
        let backedOff = states[index].nextProbe != nil
        guard var health = states[index].health.record(reading, logger: logger, republish: backedOff != states[index].publishedBackoff) else {
            return nil
        }
        states[index].publishedBackoff = backedOff
        states[index].backedOffSince = backedOff ? states[index].backedOffSince ?? reading.timestamp : nil
        HealthBoard.shared.setDevice(device.config.name, backedOff: backedOff)
        health.consecutiveFailures = UInt64(states[index].backoff.silentPolls)
        health.timeouts = states[index].timeouts
        health.crcErrors = states[index].crcErrors
        health.exceptionCode = states[index].exceptionCode
        health.backedOffSince = states[index].backedOffSince
        return health
    }

    private func open() throws(ModbusError) -> ModbusConnection {
        if let connection { return connection }
        let connection = try options.openConnection()
        self.connection = connection
        return connection
    }

    /// Reads every point of device `index` now, one request per planned read, and books the outcome
    /// (backoff, counters).
    func pollNow(_ index: Int) -> Reading {
        let device = devices[index]
        let timestamp = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
        var values: [Value?] = Array(repeating: nil, count: device.points.count)
        var failures: [String?] = Array(repeating: nil, count: device.points.count)
        answered = false
        var lineFailed = false
        do throws(ModbusError) {
            let connection = try open()
            try connection.setUnit(device.unit)
            connection.setResponseTimeout(device.timeout)
            var position = 0
            while position < states[index].plan.requests.count {
                let request = states[index].plan.requests[position]
                do {
                    try readWithRetries(request, of: device, index: index, on: connection, into: &values, failures: &failures)
                    position += 1
                } catch {
                    if error.code == .exception(.illegalDataAddress), states[index].plan.canSplit(position) {
                        // Read again, point by point, here and in every later poll.
                        logger.warning("merged read \(request.table) \(request.address)-\(request.address + request.count - 1) rejected with \(error): reading its \(request.members.count) points one by one from now on",
                                       metadata: ["device": "\(device.config.name)"])
                        states[index].plan = states[index].plan.splitting(position, spans: device.spans)
                        continue
                    }
                    for member in request.members { failures[member.point] = error.description }
                    if error.code == .port { throw error }
                    position += 1
                    // A device that does not answer its first request is not there: the rest of the poll
                    // would only cost the line one timeout each.
                    if !answered, error.meansNoAnswer {
                        for member in states[index].plan.requests[position...].flatMap(\.members) {
                            failures[member.point] = error.description
                        }
                        break
                    }
                }
            }
        } catch {
            lineFailed = true
            for point in failures.indices where failures[point] == nil && values[point] == nil {
                failures[point] = error.description
            }
        }
        if !lineFailed {
            book(index, answered: answered)
        } else if let wait = states[index].backoff.wait {
            // The line itself failed: the device is not judged, but its probe is not retried at every idle moment either.
            states[index].nextProbe = clock.now + wait
        }
        var reading = Reading(device: device.config.name, timestamp: timestamp, values: [], errors: [])
        for (index, point) in device.points.enumerated() {
            if let value = values[index] {
                reading.values.append((point.name, value))
            } else {
                reading.errors.append((point.name, failures[index] ?? "not read"))
            }
        }
        return reading
    }

    /// Backoff bookkeeping after a poll that reached the line.
    private func book(_ index: Int, answered: Bool) {
        let device = devices[index]
        let started = states[index].backoff.record(answered: answered)
        guard let wait = states[index].backoff.wait else {
            states[index].nextProbe = nil
            return
        }
        states[index].nextProbe = clock.now + wait
        if started {
            logger.notice("no answer to \(states[index].backoff.after) poll(s) in a row: backed off, probed after \(wait.configText), then twice as long each time (at most \(max(options.defaults.backoffMax, device.config.interval).configText) apart) until it answers",
                          metadata: ["device": "\(device.config.name)"])
        }
    }

    /// One request with its retries, after the quiet time the line needs.
    private func readWithRetries(_ request: ReadPlan.Request, of device: PolledDevice, index: Int, on connection: ModbusConnection,
                                 into values: inout [Value?], failures: inout [String?]) throws(ModbusError) {
        var attempt = 0
        while true {
            waitForQuietLine(device)
            defer { lastTransactionEnd = clock.now }
            do {
                try read(request, of: device, on: connection, into: &values, failures: &failures)
                answered = true
                return
            } catch {
                switch error.code {
                case .exception(let exception):
                    // A gateway saying its target is silent is no answer from the device.
                    answered = answered || !error.meansNoAnswer
                    states[index].exceptionCode = exception.rawValue
                    throw error
                case .timeout:
                    states[index].timeouts += 1
                case .badCRC:
                    states[index].crcErrors += 1
                case .badResponse:
                    break
                case .port:
                    close()
                    throw error
                case .invalidArgument:
                    throw error
                }
                // A late or damaged answer must not be taken for the next one.
                connection.flush()
                guard attempt < device.retries else { throw error }
                attempt += 1
            }
        }
    }

    /// The protocol's inter-frame silence, or the device's `delay_before_request` if longer, since the
    /// end of the previous transaction.
    private func waitForQuietLine(_ device: PolledDevice) {
        guard let last = lastTransactionEnd else { return }
        let quiet = max(options.interFrameSilence, device.delayBeforeRequest)
        let remaining = quiet - last.duration(to: clock.now)
        if remaining > .zero { Thread.sleep(forTimeInterval: remaining.seconds) }
    }

    private func read(_ request: ReadPlan.Request, of device: PolledDevice, on connection: ModbusConnection,
                      into values: inout [Value?], failures: inout [String?]) throws(ModbusError) {
        let answer: ReadPlan.Answer = switch request.table {
        case .coil, .discrete:
            .bits(try connection.readBits(discrete: request.table == .discrete, address: request.address, count: request.count))
        case .holding, .input:
            .registers(try connection.readRegisters(input: request.table == .input, address: request.address, count: request.count))
        }
        for (point, result) in device.decode(answer, to: request) {
            switch result {
            case .success(let value): values[point] = value
            case .failure(let error): failures[point] = error.description
            }
        }
    }

    private func close() {
        connection?.close()
        connection = nil
    }
}
