import FieldlinkCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What a bus costs per cycle, from its read plans and its line rate (`fieldlink plan`).
///
/// RTU frames are counted in 11-bit characters: a read request is 8 bytes; its answer 5 + 2N bytes
/// for N registers, 5 + ceil(N/8) for N bits. Each transaction also needs the 3.5-character silence
/// before the request (or `delay_before_request`, if longer) and before the answer. The slave's own
/// turnaround is not known, so the figures are a lower bound.
public struct ModbusBusPlan: Sendable {
    public struct Transaction: Sendable {
        public var request: ReadPlan.Request
        public var requestBytes: Int { 8 }
        public var responseBytes: Int {
            request.table.holdsBits ? 5 + (request.count + 7) / 8 : 5 + 2 * request.count
        }
        /// On the wire and in the silences; nil on TCP.
        public var lineTime: Duration?
    }

    public struct Device: Sendable {
        public var name: String
        public var unit: Int
        public var interval: Duration
        public var transactions: [Transaction]
        public var lineTime: Duration? {
            transactions.reduce(Duration.zero as Duration?) { sum, transaction in
                guard let sum, let time = transaction.lineTime else { return nil }
                return sum + time
            }
        }
        /// Naive reading: one request per point.
        public var pointCount: Int
    }

    public let bus: BusConfig
    public let devices: [Device]

    public init(bus: BusConfig, devices: [DeviceConfig]) {
        let options = bus.options as! any ModbusBusOptions
        self.bus = bus
        self.devices = devices.map { config in
            let polled = PolledDevice(config: config, bus: options)
            let transactions = polled.plan.requests.map { request in
                var transaction = Transaction(request: request)
                if let wire = options.wireTime(characters: transaction.requestBytes + transaction.responseBytes) {
                    transaction.lineTime = wire + max(options.interFrameSilence, polled.delayBeforeRequest) + options.interFrameSilence
                }
                return transaction
            }
            return Device(name: config.name, unit: polled.unit, interval: config.interval, transactions: transactions,
                          pointCount: config.points.count)
        }
    }

    /// The share of the line's time the devices need, 1.0 being all of it; nil on TCP.
    public var load: Double? {
        devices.reduce(0.0 as Double?) { sum, device in
            guard let sum, let time = device.lineTime else { return nil }
            return sum + time.seconds / device.interval.seconds
        }
    }

    public var warnings: [String] {
        var warnings: [String] = []
        for device in devices {
            if let time = device.lineTime, time > device.interval {
                warnings.append("device \(device.name): one poll takes at least \(Self.milliseconds(time)), longer than its \(device.interval.configText) interval")
            }
        }
        if let load, load > 1 {
            warnings.append("bus \(bus.name): the devices need \(Self.percent(load)) of the line; polls will be skipped (lengthen intervals, raise the baud rate or split the line)")
        }
        return warnings
    }

    public var text: String {
        let options = bus.options as! any ModbusBusOptions
        var lines = ["bus \(bus.name) (\(bus.type), \(options))"]
        if options.wireTime(characters: 1) != nil {
            lines[0] += ": 11 bits per character, inter-frame silence \(Self.milliseconds(options.interFrameSilence))"
        }
        for device in devices {
            let requests = device.transactions.count
            var line = "  device \(device.name) (unit \(device.unit)) every \(device.interval.configText): \(requests) request(s) per poll (\(device.pointCount) one per point)"
            if let time = device.lineTime {
                line += ", \(Self.milliseconds(time)) of line time (\(Self.percent(time.seconds / device.interval.seconds)) of its interval)"
            }
            lines.append(line)
            for transaction in device.transactions {
                let request = transaction.request
                let unit = request.table.holdsBits ? "bit" : "register"
                var line = "    \(request.table) \(request.address)-\(request.address + request.count - 1) (\(request.count) \(unit)\(request.count == 1 ? "" : "s"), \(request.members.count) point(s)): \(transaction.requestBytes) + \(transaction.responseBytes) bytes"
                if let time = transaction.lineTime { line += ", \(Self.milliseconds(time))" }
                lines.append(line)
            }
        }
        if let load {
            lines.append("  line busy \(Self.percent(load)) of the time (lower bound: the slaves' turnaround is not counted)")
        } else {
            lines.append("  TCP: no line time estimate (no shared serial line)")
        }
        lines += warnings.map { "  WARNING: \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    static func milliseconds(_ duration: Duration) -> String {
        "\((duration.seconds * 1_000).fixed(2)) ms"
    }

    static func percent(_ share: Double) -> String {
        "\((share * 100).fixed(1))%"
    }
}
