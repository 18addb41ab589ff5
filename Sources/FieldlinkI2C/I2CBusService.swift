import FieldlinkCore
import Foundation
import Logging
import ServiceLifecycle

/// The single owner of one I2C adapter: polls its devices one transaction at a time on the
/// adapter's own thread (ioctl blocks), on a fixed-rate schedule.
struct I2CBusService: Service {
    let bus: BusConfig
    let devices: [DeviceConfig]
    let sink: any ReadingSink
    let logger: Logger

    init(bus: BusConfig, devices: [DeviceConfig], sink: any ReadingSink, logger: Logger) {
        self.bus = bus
        self.devices = devices
        self.sink = sink
        self.logger = logger.on(bus: bus)
    }

    func run() async throws {
        guard !devices.isEmpty else { return }
        let path = (bus.options as! I2CBusOptions).device, devices = self.devices, sink = self.sink, logger = self.logger
        let loop = BusLoop(name: "fl-\(bus.name)", devices: devices.map { .init(name: $0.name, interval: $0.interval) },
                           logger: logger, makeResource: { I2CLine(device: path, devices: devices, logger: logger) }) { index, line in
            let reading = line.poll(index)
            if !reading.isTotalFailure { sink.deliver(reading) }
            if let health = line.report(reading, of: index) { sink.healthChanged(health) }
        }
        logger.info("polling \(devices.count) device(s) on \(path)")
        await loop.runUntilShutdown()
    }
}

/// The adapter's state on its own thread: the opened adapter (reopened after it failed), each
/// device's driver with what it learned (calibration), and each device's health as last logged.
final class I2CLine {
    private let path: String
    private let devices: [DeviceConfig]
    private let logger: Logger
    private let openBus: (String) throws(I2CError) -> any I2CBus
    private var bus: (any I2CBus)?
    private var sensors: [(any I2CSensor)?]
    private var health: [DeviceHealthTracker]

    /// `openBus` is the seam for tests: the fake bus instead of /dev/i2c-N.
    init(device path: String, devices: [DeviceConfig], logger: Logger,
         openBus: @escaping (String) throws(I2CError) -> any I2CBus = { path throws(I2CError) in try I2CAdapter(path: path) }) {
        self.path = path
        self.devices = devices
        self.logger = logger
        self.openBus = openBus
        self.sensors = Array(repeating: nil, count: devices.count)
        self.health = devices.map { DeviceHealthTracker(device: $0.name, pointCount: $0.points.count, retry: $0.interval, noun: "poll") }
    }

    /// Reads every point of device `index`. A device's failure (NACK, wrong chip, CRC) fails its
    /// points only; the next device on the bus is polled as usual.
    func poll(_ index: Int) -> Reading {
        let config = devices[index]
        let options = config.options as! I2CDeviceOptions
        let timestamp = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
        var reading = Reading(device: config.name, timestamp: timestamp, values: [], errors: [])
        let sources = config.points.map { ($0.options as! I2CPointOptions).source }
        do throws(I2CError) {
            if bus == nil { bus = try openBus(path) }
            let device = I2CDevice(bus: bus!, address: options.address)
            if options.driver == .registers {
                for (point, source) in zip(config.points, sources) {
                    guard case .register(let register, let type, let order) = source else { continue }
                    do throws(I2CError) {
                        let bytes = try device.readRegisters(register, count: type.size, perByteFallback: true)
                        reading.values.append((point.name, point.transform.apply(I2CRegisterDecoder.decode(bytes, as: type, order: order))))
                    } catch {
                        if error.code == .adapter { throw error }
                        reading.errors.append((point.name, error.description))
                    }
                }
                return reading
            }
            var sensor = sensors[index] ?? Self.makeSensor(options)
            let wanted = Set(sources.compactMap { source -> String? in if case .quantity(let name) = source { name } else { nil } })
            let measured: [String: Double]
            do throws(I2CError) {
                measured = try sensor.measure(wanted, on: device)
                sensors[index] = sensor
            } catch {
                sensors[index] = nil  // start afresh (chip id, calibration) next time
                throw error
            }
            for (point, source) in zip(config.points, sources) {
                guard case .quantity(let name) = source, let value = measured[name] else {
                    reading.errors.append((point.name, "not measured"))
                    continue
                }
                reading.values.append((point.name, point.transform.apply(.double(value))))
            }
        } catch {
            if error.code == .adapter { bus = nil }
            reading.values = []
            reading.errors = config.points.map { ($0.name, error.description) }
        }
        return reading
    }

    static func makeSensor(_ options: I2CDeviceOptions) -> any I2CSensor {
        switch options.driver {
        case .tmp102: TMP102()
        case .lm75: LM75()
        case .sht3x: SHT3x()
        case .bme280: BME280()
        case .ads1115: ADS1115(gain: options.gain ?? 2.048)
        case .bh1750: BH1750()
        case .registers: fatalError("the registers driver reads its points itself")
        }
    }

    /// Logs once per change of a device's health and returns the new health to publish; nil when
    /// nothing changed.
    func report(_ reading: Reading, of index: Int) -> DeviceHealth? {
        health[index].record(reading, logger: logger)
    }
}
