import FieldlinkCore
import Logging

/// The transactions of one I2C adapter, on its owner's thread: the adapter opened lazily (and
/// reopened after it failed), each device's chip driver with what it learned (calibration), and
/// the raw values of its points. Conversion, health and backoff are the `BusOwner`'s.
public final class I2CDriver: BusDriver {
    let path: String
    let devices: [DeviceConfig]
    let openBus: (String) throws(I2CError) -> any I2CBus
    var bus: (any I2CBus)?
    private var sensors: [(any I2CSensor)?]

    /// `openBus` is the seam for tests and the fuzz harness: a fake bus instead of /dev/i2c-N.
    public init(device path: String, devices: [DeviceConfig],
         openBus: @escaping (String) throws(I2CError) -> any I2CBus = { path throws(I2CError) in try I2CAdapter(path: path) }) {
        self.path = path
        self.devices = devices
        self.openBus = openBus
        self.sensors = Array(repeating: nil, count: devices.count)
    }

    /// A chip's transfers take milliseconds; a conversion wait (BME280, ADS1115) at most ~100 ms.
    public func longestPoll(of device: Int) -> Duration { .milliseconds(200) }

    /// Reads every point of device `index`. A device's failure (NACK, wrong chip, CRC) fails its
    /// points only; the next device on the bus is polled as usual.
    public func poll(_ index: Int) -> DevicePoll? {
        let config = devices[index]
        let options = config.options as! I2CDeviceOptions
        let sources = config.points.map { ($0.options as! I2CPointOptions).source }
        do throws(I2CError) {
            if bus == nil { bus = try openBus(path) }
            let device = I2CDevice(bus: bus!, address: options.address)
            if options.driver == .registers {
                var points: [DevicePoll.Point] = []
                var answered = false
                for source in sources {
                    guard case .register(let register, let type, let order) = source else {
                        points.append(.failed("not a register"))
                        continue
                    }
                    do throws(I2CError) {
                        let bytes = try device.readRegisters(register, count: type.size, perByteFallback: true)
                        points.append(.raw(I2CRegisterDecoder.decode(bytes, as: type, order: order)))
                        answered = true
                    } catch {
                        if error.code == .adapter { throw error }
                        answered = answered || error.isAnswer
                        points.append(.failed(error.description))
                    }
                }
                return DevicePoll(points: points, answered: answered)
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
            let points: [DevicePoll.Point] = sources.map { source in
                guard case .quantity(let name) = source, let value = measured[name] else { return .failed("not measured") }
                return .raw(.double(value))
            }
            return DevicePoll(points: points, answered: true)
        } catch {
            if error.code == .adapter { bus = nil }
            return .failure(error.description, points: config.points.count, answered: error.code == .adapter ? nil : error.isAnswer)
        }
    }

    static func makeSensor(_ options: I2CDeviceOptions) -> any I2CSensor {
        switch options.driver {
        case .tmp102: TMP102()
        case .lm75: LM75(bits: 9)
        case .lm75a: LM75(bits: 11)
        case .sht3x: SHT3x()
        case .bme280: BME280()
        case .ads1115: ADS1115(gain: options.gain ?? 2.048)
        case .bh1750: BH1750()
        case .registers: fatalError("the registers driver reads its points itself")
        }
    }
}

extension I2CError {
    /// Whether the chip took part: a wrong chip id or a bad CRC is an answer, no acknowledge is not.
    var isAnswer: Bool {
        switch code {
        case .noDevice, .timeout, .adapter: false
        default: true
        }
    }
}
