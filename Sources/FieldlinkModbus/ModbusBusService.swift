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

/// A device as the poller needs it: config plus its precomputed read plan.
struct PolledDevice: Sendable {
    let config: DeviceConfig
    let unit: Int
    let timeout: Duration
    let points: [PolledPoint]
    let plan: ReadPlan

    init(config: DeviceConfig, busTimeout: Duration) {
        let options = config.options as! ModbusDeviceOptions
        let pointOptions = config.points.map { $0.options as! ModbusPointOptions }
        self.config = config
        self.unit = options.unit
        self.timeout = options.timeout ?? busTimeout
        self.points = zip(config.points, pointOptions).map(PolledPoint.init)
        self.plan = ReadPlan(spans: pointOptions.map(\.span), maxGap: 0)
    }
}

/// The single owner of one RS-485 line: polls its devices one transaction at a time on the line's
/// own thread, on a fixed-rate schedule.
struct ModbusBusService: Service {
    let bus: BusConfig
    let options: ModbusRTUBusOptions
    let devices: [PolledDevice]
    let sink: any ReadingSink
    let logger: Logger

    init(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) {
        self.bus = bus
        self.options = bus.options as! ModbusRTUBusOptions
        self.devices = devices.map { PolledDevice(config: $0, busTimeout: (bus.options as! ModbusRTUBusOptions).timeout) }
        self.sink = sink
        var logger = logger
        logger[metadataKey: "bus"] = "\(bus.name)"
        self.logger = logger
    }

    func run() async throws {
        guard !devices.isEmpty else { return }
        let options = self.options, devices = self.devices, sink = self.sink, logger = self.logger
        let loop = BusLoop(name: "fl-\(bus.name)", devices: devices.map { .init(name: $0.config.name, interval: $0.config.interval) },
                           logger: logger, makeResource: { ModbusLine(options: options, devices: devices, logger: logger) }) { index, line in
            let reading = line.poll(devices[index])
            if !reading.isTotalFailure { sink.deliver(reading) }
            if let health = line.report(reading, of: index) { sink.healthChanged(health) }
        }
        logger.info("polling \(devices.count) device(s) on \(options.description)")
        await loop.runUntilShutdown()
    }
}

/// What a poll said about a device, compared poll to poll to log only changes.
enum PollHealth: Equatable, Sendable {
    case ok
    case failing(summary: String, total: Bool)

    init(_ reading: Reading, pointCount: Int) {
        guard !reading.errors.isEmpty else {
            self = .ok
            return
        }
        let reasons = Set(reading.errors.map(\.reason))
        let total = reading.values.isEmpty
        if reasons.count == 1, let reason = reasons.first {
            let which = total ? "all \(pointCount) point(s)" : reading.errors.map(\.name).joined(separator: ", ")
            self = .failing(summary: "\(which) failed: \(reason)", total: total)
        } else {
            let list = reading.errors.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
            self = .failing(summary: "\(reading.errors.count) of \(pointCount) point(s) failed: \(list)", total: total)
        }
    }
}

/// The line's state on its own thread: the libmodbus context, opened lazily and reopened after a
/// port failure, and each device's health as last logged.
final class ModbusLine {
    let options: ModbusRTUBusOptions
    private let devices: [PolledDevice]
    private let logger: Logger
    private var connection: ModbusConnection?
    private var health: [StateChangeFilter<PollHealth>]
    private var lastSuccess: [Int64?]
    private var failedPolls: [UInt64]

    init(options: ModbusRTUBusOptions, devices: [PolledDevice], logger: Logger) {
        self.options = options
        self.devices = devices
        self.logger = logger
        self.health = Array(repeating: StateChangeFilter(), count: devices.count)
        self.lastSuccess = Array(repeating: nil, count: devices.count)
        self.failedPolls = Array(repeating: 0, count: devices.count)
    }

    /// Logs once per change of a device's health, with how long the previous state lasted, and
    /// returns the new health to publish; nil when nothing changed.
    func report(_ reading: Reading, of index: Int) -> DeviceHealth? {
        let device = devices[index]
        let state = PollHealth(reading, pointCount: device.points.count)
        if !reading.values.isEmpty { lastSuccess[index] = reading.timestamp }
        if !reading.errors.isEmpty { failedPolls[index] += 1 }
        guard let change = health[index].update(state) else { return nil }
        HealthBoard.shared.setDevice(device.config.name, ok: state == .ok)
        let metadata: Logger.Metadata = ["device": "\(device.config.name)"]
        switch (state, change.previous) {
        case (.ok, nil):
            logger.info("reading all \(device.points.count) point(s)", metadata: metadata)
        case (.ok, .some):
            logger.notice("reading all points again after \(change.repeats) failed poll(s)", metadata: metadata)
        case (.failing(let summary, let total), _):
            let consequence = total ? "nothing published" : "published without them"
            logger.warning("\(summary) (\(consequence); retrying every \(device.config.interval.configText))", metadata: metadata)
        }
        let error: String? = if case .failing(let summary, _) = state { summary } else { nil }
        return DeviceHealth(device: device.config.name, ok: state == .ok, since: reading.timestamp, lastSuccess: lastSuccess[index],
                            failedPolls: failedPolls[index], error: error)
    }

    private func open() throws(ModbusError) -> ModbusConnection {
        if let connection { return connection }
        let connection = try ModbusConnection(rtuPort: options.port, baud: options.baud, parity: options.parity,
                                              dataBits: options.dataBits, stopBits: options.stopBits)
        do {
            try connection.connect()
        } catch {
            throw ModbusError(code: .port, detail: "cannot open \(options.port): \(error.detail.replacingOccurrences(of: "open: ", with: ""))")
        }
        self.connection = connection
        return connection
    }

    /// Reads every point of `device`, one request per merged range.
    func poll(_ device: PolledDevice) -> Reading {
        let timestamp = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
        var values: [Value?] = Array(repeating: nil, count: device.points.count)
        var failures: [String?] = Array(repeating: nil, count: device.points.count)
        do throws(ModbusError) {
            let connection = try open()
            try connection.setUnit(device.unit)
            connection.setResponseTimeout(device.timeout)
            for request in device.plan.requests {
                do {
                    try read(request, of: device, on: connection, into: &values, failures: &failures)
                } catch {
                    for member in request.members { failures[member.point] = error.description }
                    switch error.code {
                    case .timeout, .badResponse: connection.flush()
                    case .port: close()
                    case .exception, .invalidArgument: break
                    }
                    if error.code == .port { throw error }
                }
            }
        } catch {
            for index in failures.indices where failures[index] == nil && values[index] == nil {
                failures[index] = error.description
            }
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
