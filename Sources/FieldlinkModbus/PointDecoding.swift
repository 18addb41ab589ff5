import FieldlinkCore

extension ReadPlan {
    /// What one request brought back.
    public enum Answer: Sendable {
        case registers([UInt16])
        case bits([Bool])
    }
}

extension PolledPoint {
    init(_ point: PointConfig, _ options: ModbusPointOptions) {
        self.init(name: point.name, layout: options.layout, conversion: point.conversion)
    }
}

extension PolledDevice {
    /// Each member point's published value (or why it has none) from one request's answer. The poller
    /// and `RegisterImage` both decode through here, so a profile's golden test decodes exactly as a poll.
    func decode(_ answer: ReadPlan.Answer, to request: ReadPlan.Request) -> [(point: Int, result: Result<Value, ConversionError>)] {
        request.members.map { member in
            let point = points[member.point]
            let raw: Value = switch answer {
            case .bits(let bits): .bool(bits[member.offset])
            case .registers(let registers): point.layout.decode(registers[member.offset..<member.offset + point.layout.registerCount])
            }
            return (member.point, point.conversion.apply(raw))
        }
    }
}

/// A device's memory as a test or a simulator sees it: register and bit values by protocol address.
/// Decoding a configured device from it runs the poller's own read plan and decoding, without a bus,
/// so a profile can be checked against a datasheet's example values.
public struct RegisterImage: Sendable {
    public var holding: [Int: UInt16] = [:]
    public var input: [Int: UInt16] = [:]
    public var coils: [Int: Bool] = [:]
    public var discrete: [Int: Bool] = [:]

    public init() {}

    /// Puts `words` at `address` onward in `table`.
    public mutating func set(_ table: ModbusTable, _ address: Int, _ words: [UInt16]) {
        for (offset, word) in words.enumerated() {
            if table == .input { input[address + offset] = word } else { holding[address + offset] = word }
        }
    }

    /// What a poll of `device` would publish. An address the image lacks fails its request, as an
    /// illegal data address would on a real device; and as the poller does then, a merged request
    /// that fails is read again point by point.
    public func reading(of device: DeviceConfig, timestamp: Int64 = 0) -> Reading {
        let polled = PolledDevice(config: device, bus: ModbusRTUBusOptions(port: "register-image", baud: 19_200, parity: .even, dataBits: 8,
                                                                           stopBits: 1, timeout: .seconds(1)))
        var results: [Result<Value, ConversionError>?] = Array(repeating: nil, count: polled.points.count)
        var plan = polled.plan
        var position = 0
        while position < plan.requests.count {
            let request = plan.requests[position]
            let addresses = request.address..<request.address + request.count
            let answer: ReadPlan.Answer?
            switch request.table {
            case .holding, .input:
                let table = request.table == .input ? input : holding
                let words = addresses.compactMap { table[$0] }
                answer = words.count == request.count ? .registers(words) : nil
            case .coil, .discrete:
                let table = request.table == .coil ? coils : discrete
                let bits = addresses.compactMap { table[$0] }
                answer = bits.count == request.count ? .bits(bits) : nil
            }
            guard let answer else {
                if plan.canSplit(position) {
                    plan = plan.splitting(position, spans: polled.spans)
                    continue
                }
                for member in request.members { results[member.point] = .failure(ConversionError("no \(request.table) \(addresses) in the image")) }
                position += 1
                continue
            }
            for (point, result) in polled.decode(answer, to: request) { results[point] = result }
            position += 1
        }
        var reading = Reading(device: device.name, timestamp: timestamp, values: [], errors: [])
        for (point, result) in zip(polled.points, results) {
            switch result {
            case .success(let value)?: reading.values.append((point.name, value))
            case .failure(let error)?: reading.errors.append((point.name, error.description))
            case nil: reading.errors.append((point.name, "not read"))
            }
        }
        return reading
    }
}
