import FieldlinkCore

extension ReadPlan {
    /// What one request brought back.
    public enum Answer: Sendable {
        case registers([UInt16])
        case bits([Bool])
    }
}

/// A point as the driver needs it: plain values, no existentials to unwrap on every poll.
struct PolledPoint: Sendable {
    let name: String
    let layout: RegisterLayout
}

/// A device as the driver needs it: config plus its precomputed read plan and line settings.
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
        self.points = zip(config.points, pointOptions).map { PolledPoint(name: $0.name, layout: $1.layout) }
        self.spans = pointOptions.map(\.span)
        self.plan = ReadPlan(spans: spans, maxGap: options.maxGap, merge: options.merge)
    }

    /// Each member point's raw value from one request's answer (the bus owner converts it).
    func decode(_ answer: ReadPlan.Answer, to request: ReadPlan.Request) -> [(point: Int, raw: Value)] {
        request.members.map { member in
            let point = points[member.point]
            let raw: Value = switch answer {
            case .bits(let bits): .bool(bits[member.offset])
            case .registers(let registers): point.layout.decode(registers[member.offset..<member.offset + point.layout.registerCount])
            }
            return (member.point, raw)
        }
    }
}
