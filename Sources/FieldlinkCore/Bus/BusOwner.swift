import Logging

/// Everything that happens to a transaction's outcome, the same for every bus family: the reading
/// is stamped from the clock, each raw value goes through its point's conversion (scale, offset,
/// precision, `map`; NaN and infinity become point errors), the device's health is logged once per
/// change and published, a device that stops answering is backed off and probed in idle time, and
/// the finished `Reading` goes to the sink.
///
/// Lives on its bus's thread (inside the `BusLoop`), with the family's `BusDriver`; a family that
/// needs something special says so through the driver protocol, never with its own copy of this.
public final class BusOwner<Driver: BusDriver> {
    public let driver: Driver
    let devices: [DeviceConfig]
    let conversions: [[PointConversion]]
    private let sink: any ReadingSink
    let clock: any BusClock
    let logger: Logger
    var states: [DeviceState]
    /// The bus these devices are on, for its line-time counter.
    let bus: String
    /// Since when the line has carried garbage (bytes that were no answer) without a clean answer
    /// since: silence meanwhile is the noise's, not a device's, so no backoff grows.
    private var garbageSince: Int64?

    /// What the owner keeps per device between polls.
    struct DeviceState {
        var health: DeviceHealthTracker
        var backoff: Backoff
        /// Set while backed off: when the next probe may come.
        var nextProbe: ContinuousClock.Instant?
        var publishedBackoff = false
        /// When the current backoff began (Unix ms); nil while the device is polled normally.
        var backedOffSince: Int64?
        /// Write-back: when each point was last written (`min_write_interval`), and the commands
        /// refused or failed so far, published in the device's health.
        var lastWrites: [String: ContinuousClock.Instant] = [:]
        var commandsRefused: UInt64 = 0
        var commandsFailed: UInt64 = 0
        /// The health last published, so a refused command can publish its new counts.
        var lastHealth: DeviceHealth?
    }

    public init(driver: Driver, devices: [DeviceConfig], sink: any ReadingSink, clock: any BusClock = SystemBusClock(), logger: Logger) {
        self.driver = driver
        self.devices = devices
        self.conversions = devices.map { $0.points.map(\.conversion) }
        self.sink = sink
        self.clock = clock
        self.logger = logger
        self.bus = devices.first?.bus ?? ""
        GatewayCounters.shared.busStarted(bus)
        let policy = driver.backoff, noun = driver.noun
        self.states = devices.map { device in
            DeviceState(health: DeviceHealthTracker(device: device.name, pointCount: device.points.count, retry: device.interval, noun: noun),
                        backoff: Backoff(interval: device.interval, policy: policy))
        }
    }

    // MARK: The loop's two calls

    /// The device's own slot: a poll, or nothing while it is backed off (its probes go in idle time,
    /// unless no idle window came for a whole backoff period, when the probe takes this slot).
    public func scheduledPoll(_ index: Int) {
        if let probe = states[index].nextProbe, let wait = states[index].backoff.wait {
            guard clock.now >= probe + wait else { return }
        }
        if let reading = pollNow(index) { publish(reading, of: index) }
    }

    /// The time before the next scheduled poll: a backed-off device's probe where one is due and fits,
    /// else whatever the driver does while waiting (a stream reads). False: nothing used the time.
    public func idle(for available: Duration) -> Bool {
        let now = clock.now
        for index in devices.indices {
            guard let probe = states[index].nextProbe, probe <= now, driver.longestPoll(of: index) + .milliseconds(20) <= available else {
                continue
            }
            if let reading = pollNow(index) { publish(reading, of: index) }
            return true
        }
        return driver.idle(for: available) { index, poll in
            publish(finish(poll, of: index, at: clock.unixMilliseconds), of: index)
        }
    }

    // MARK: One reading

    /// Polls device `index` now and books the outcome (backoff), without publishing.
    func pollNow(_ index: Int) -> Reading? {
        let timestamp = clock.unixMilliseconds
        let start = clock.now
        let poll = driver.poll(index)
        GatewayCounters.shared.addLineTime(clock.now - start, bus: bus)
        return poll.map { finish($0, of: index, at: timestamp) }
    }

    /// `fieldlink probe --device`: one reading, converted as a poll is, handed to nobody.
    public func commission(_ index: Int) -> Reading {
        let timestamp = clock.unixMilliseconds
        return reading(driver.commission(index), of: index, at: timestamp)
    }

    private func finish(_ poll: DevicePoll, of index: Int, at timestamp: Int64) -> Reading {
        book(lineAware(poll, at: timestamp), of: index)
        return reading(poll, of: index, at: timestamp)
    }

    /// What a poll says about its device once the line's state is known. Garbage on the line (a
    /// garbled poll) judges no device, and neither does silence until some device answers cleanly
    /// again; that clean answer ends the disturbance, and every device backed off is probed at the
    /// next idle time that fits, so a healthy unit is back within an interval or two of the noise
    /// stopping instead of after its grown backoff.
    private func lineAware(_ poll: DevicePoll, at timestamp: Int64) -> Bool? {
        if poll.garbled, garbageSince == nil {
            garbageSince = timestamp
            logger.notice("garbage on the line (damaged or foreign frames): no device is backed off for its silence until one answers cleanly again",
                          metadata: ["bus": "\(bus)"])
        }
        guard let since = garbageSince else { return poll.answered }
        guard poll.answered == true, !poll.garbled else { return poll.answered == false ? nil : poll.answered }
        garbageSince = nil
        let backedOff = states.indices.filter { states[$0].nextProbe != nil }
        for other in backedOff { states[other].nextProbe = clock.now }
        logger.notice("line clean again after \(Duration.milliseconds(timestamp - since).configText) of garbage\(backedOff.isEmpty ? "" : ": probing \(backedOff.count) backed-off device(s) now")",
                      metadata: ["bus": "\(bus)"])
        return true
    }

    /// The raw values converted as every family converts them.
    private func reading(_ poll: DevicePoll, of index: Int, at timestamp: Int64) -> Reading {
        let device = devices[index]
        var reading = Reading(device: device.name, timestamp: timestamp, values: [], errors: [])
        reading.values.reserveCapacity(device.points.count)
        for (position, point) in device.points.enumerated() {
            let outcome = position < poll.points.count ? poll.points[position] : .failed("not read")
            switch outcome {
            case .raw(let raw):
                switch conversions[index][position].apply(raw) {
                case .success(let value): reading.values.append((point.name, value))
                case .failure(let error): reading.errors.append((point.name, error.description))
                }
            case .failed(let reason):
                reading.errors.append((point.name, reason))
            }
        }
        return reading
    }

    /// Backoff bookkeeping after a poll.
    private func book(_ answered: Bool?, of index: Int) {
        guard let answered else {
            // The line itself failed (or a stream period ended): the device is not judged, but a
            // backed-off device's probe is not retried at every idle moment either.
            if let wait = states[index].backoff.wait { states[index].nextProbe = clock.now + wait }
            return
        }
        let started = states[index].backoff.record(answered: answered)
        guard let wait = states[index].backoff.wait else {
            states[index].nextProbe = nil
            return
        }
        states[index].nextProbe = clock.now + wait
        if started {
            let device = devices[index]
            logger.notice("no answer to \(states[index].backoff.after) \(driver.noun)(s) in a row: backed off, probed after \(wait.configText), then twice as long each time (at most \(max(driver.backoff.maximum, device.interval).configText) apart) until it answers",
                          metadata: ["device": "\(device.name)"])
        }
    }

    /// Hands the reading on (unless every point failed) and the device's health when it changed.
    func publish(_ reading: Reading, of index: Int) {
        GatewayCounters.shared.recordReading(device: reading.device, pointErrors: reading.errors.count,
                                             goodAt: reading.values.isEmpty ? nil : reading.timestamp)
        if !reading.isTotalFailure { sink.deliver(reading) }
        if let health = report(reading, of: index) { sink.healthChanged(health) }
    }

    /// A command was refused or failed: the device's health goes out again with the new counts.
    func publishCommandCounts(of index: Int) {
        guard var health = states[index].lastHealth else { return }
        if let counters = driver.counters(of: index) {
            health.timeouts = counters.timeouts
            health.crcErrors = counters.crcErrors
            health.exceptionCode = counters.exceptionCode
        }
        health.commandsRefused = states[index].commandsRefused
        health.commandsFailed = states[index].commandsFailed
        states[index].lastHealth = health
        sink.healthChanged(health)
    }

    /// Logs once per change of a device's health and returns the new health to publish; nil when
    /// nothing changed.
    private func report(_ reading: Reading, of index: Int) -> DeviceHealth? {
        let backedOff = states[index].nextProbe != nil
        guard var health = states[index].health.record(reading, logger: logger, republish: backedOff != states[index].publishedBackoff) else {
            return nil
        }
        states[index].publishedBackoff = backedOff
        states[index].backedOffSince = backedOff ? states[index].backedOffSince ?? reading.timestamp : nil
        HealthBoard.shared.setDevice(devices[index].name, backedOff: backedOff)
        health.consecutiveFailures = UInt64(states[index].backoff.silentPolls)
        health.backedOffSince = states[index].backedOffSince
        if let counters = driver.counters(of: index) {
            health.timeouts = counters.timeouts
            health.crcErrors = counters.crcErrors
            health.exceptionCode = counters.exceptionCode
        }
        if devices[index].isWritable {
            health.commandsRefused = states[index].commandsRefused
            health.commandsFailed = states[index].commandsFailed
        }
        states[index].lastHealth = health
        return health
    }
}
