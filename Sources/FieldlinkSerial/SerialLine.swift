import FieldlinkCore
import Foundation
import Logging

/// The state of one serial bus on its own thread: the port (opened lazily, reopened after it goes
/// away), the frame splitter, and each device's parser and health.
final class SerialLine {
    let options: SerialBusOptions
    let devices: [SerialDevice]
    private let logger: Logger
    private let clock = ContinuousClock()
    private var port: SerialPort?
    private var splitter: FrameSplitter
    private var buffer = [UInt8](repeating: 0, count: 4_096)
    /// nil while the port is open; the reason while it is not. Logged once per change.
    private var portProblem = StateChangeFilter<String?>()
    /// The open port has shown it works (bytes came in, a request went out). Until then a port that
    /// opens and at once hangs up again (a stale pty) is still the old problem, not a recovery, so
    /// it costs no log lines.
    private var portProven = false
    private var nextOpen: ContinuousClock.Instant

    /// How long a missing port waits before it is tried again.
    static let reopenDelay = Duration.seconds(1)

    init(options: SerialBusOptions, devices: [DeviceConfig], logger: Logger) {
        self.options = options
        let start = ContinuousClock().now
        self.devices = devices.map { SerialDevice(config: $0, start: start) }
        self.logger = logger
        splitter = FrameSplitter(framing: options.framing, maxLength: options.maxFrame)
        nextOpen = start
    }

    /// The open port, opening it when due; nil (with the reason) while it cannot be opened.
    private func openPort() -> Result<SerialPort, SerialError> {
        if let port { return .success(port) }
        do {
            let port = try SerialPort(path: options.port, settings: options.settings)
            self.port = port
            portProven = false
            splitter.reset()
            return .success(port)
        } catch {
            nextOpen = clock.now + Self.reopenDelay
            if portProblem.update(error.detail) != nil {
                logger.warning("cannot use \(options.port): \(error.detail) (trying again every \(Self.reopenDelay.configText))")
            }
            return .failure(error)
        }
    }

    /// Bytes moved: the port works; logged once if it had not.
    private func proven() {
        guard !portProven else { return }
        portProven = true
        if let change = portProblem.update(nil), change.previous != nil {
            logger.notice("\(options.port) is back after \(change.repeats) failed attempt(s)")
        }
    }

    /// Why the port is closed, for the readings that could not be taken.
    private var portUnavailable: String {
        "port unavailable: \(options.port): \(portProblem.current.flatMap { $0 } ?? "closed")"
    }

    private func lost(_ error: SerialError) {
        port = nil
        nextOpen = clock.now + Self.reopenDelay
        if portProblem.update(error.detail) != nil {
            logger.warning("lost \(options.port): \(error.detail) (reopening when it comes back)")
        }
    }

    private func publish(_ reading: Reading, of device: SerialDevice, to sink: (any ReadingSink)?) {
        if !reading.isTotalFailure { sink?.deliver(reading) }
        if let health = device.health.record(reading, logger: logger) { sink?.healthChanged(health) }
    }

    /// Reads once (up to `timeout`) and hands every complete frame to `handle`; false when the port
    /// is not open.
    private func readFrames(timeout: Duration, _ handle: (FrameSplitter.Event) -> Void) -> Bool {
        guard let port else { return false }
        do {
            let count = try port.read(into: &buffer, timeout: timeout)
            guard count > 0 else { return true }
            proven()
            splitter.append(buffer[0..<count])
            while let event = splitter.next() { handle(event) }
            return true
        } catch {
            lost(error)
            return false
        }
    }

    // MARK: Stream mode

    /// Reads until `stopping` says so, publishing each device's reading when its period ends.
    func stream(sink: any ReadingSink, heartbeat: HealthBoard.Heartbeat, stopping: () -> Bool) {
        logger.info("reading \(devices.count) device(s) from \(options.description)")
        while !stopping() {
            heartbeat.beat()
            var now = clock.now
            if port == nil, now >= nextOpen { _ = openPort() }
            let nextDue = devices.map(\.due).min() ?? now + .seconds(1)
            let wait = min(max(nextDue - now, .milliseconds(1)), .milliseconds(200))
            if port == nil {
                Thread.sleep(forTimeInterval: wait.seconds)
            } else {
                _ = readFrames(timeout: wait) { event in dispatch(event, sink: sink) }
            }
            now = clock.now
            for device in devices where now >= device.due {
                endPeriod(device, failure: port == nil ? portUnavailable : nil, sink: sink)
            }
        }
    }

    private func dispatch(_ event: FrameSplitter.Event, sink: any ReadingSink) {
        switch event {
        case .frame(let frame):
            for device in devices where device.take(frame) == .parsed {
                if device.options.aggregate == .none {
                    publish(device.reading(fromFrame: true, missing: "not in this frame"), of: device, to: sink)
                }
                // With `aggregate: none` too: the period's end then knows whether anything came.
                device.accumulate()
            }
        case .oversized:
            for device in devices { device.drops.drop("a frame longer than max_frame (\(options.maxFrame) bytes)") }
        case .noise(let count):
            for device in devices { device.drops.drop("\(count) byte(s) outside the start/end markers") }
        }
    }

    /// A stream device's period is over: its aggregated reading (or, with `aggregate: none`, whose
    /// frames went out as they came, only its health when nothing came) goes to the sink.
    private func endPeriod(_ device: SerialDevice, failure: String?, sink: any ReadingSink) {
        let interval = device.config.interval
        let reading: Reading
        if let failure {
            _ = device.reading(missing: failure)
            reading = device.failure(failure)
        } else if device.hasAccumulated {
            let aggregated = device.reading(missing: "not received in the last \(interval.configText)")
            if device.options.aggregate == .none {
                device.drops.endPeriod(device: device.config.name, logger: logger)
                device.due = max(device.due + interval, clock.now)
                return
            }
            reading = aggregated
        } else {
            reading = device.failure(device.drops.periodSummary.map { "nothing readable in the last \(interval.configText): \($0)" }
                                     ?? "nothing received in the last \(interval.configText)")
        }
        publish(reading, of: device, to: sink)
        device.drops.endPeriod(device: device.config.name, logger: logger)
        device.due = max(device.due + interval, clock.now)
    }

    // MARK: Poll mode

    /// Sends the device's request and waits for one reply frame within its timeout.
    func poll(_ index: Int) -> Reading {
        let device = devices[index]
        guard let request = device.options.request else { return device.failure("no request configured") }
        if port == nil, clock.now < nextOpen {
            return device.failure(portUnavailable)
        }
        let port: SerialPort
        switch openPort() {
        case .success(let open): port = open
        case .failure(let error): return device.failure("port unavailable: \(error)")
        }
        port.discardInput()
        splitter.reset()
        do {
            try port.write(request, timeout: device.options.timeout)
            proven()
        } catch {
            lost(error)
            return device.failure("port unavailable: \(error)")
        }
        let deadline = clock.now + device.options.timeout
        var outcome: ParseOutcome?
        while outcome == nil || outcome == .ignored {
            let remaining = deadline - clock.now
            guard remaining > .zero else { break }
            outcome = nil
            let open = readFrames(timeout: remaining) { event in
                guard outcome == nil || outcome == .ignored else { return }
                switch event {
                case .frame(let frame): outcome = device.take(frame)
                case .oversized:
                    let reason = "a frame longer than max_frame (\(options.maxFrame) bytes)"
                    device.drops.drop(reason)
                    outcome = .failed(reason)
                case .noise: break
                }
            }
            if !open { return device.failure(portUnavailable) }
        }
        defer { device.drops.endPeriod(device: device.config.name, logger: logger) }
        switch outcome {
        case .parsed: return device.reading(fromFrame: true, missing: "not in the reply")
        case .failed(let reason): return device.failure("reply dropped: \(reason)")
        case .ignored, nil: return device.failure("no reply within \(device.options.timeout.configText)")
        }
    }

    /// Polls (poll mode) and publishes, on the bus loop's thread.
    func pollAndPublish(_ index: Int, sink: any ReadingSink) {
        publish(poll(index), of: devices[index], to: sink)
    }

    // MARK: Commissioning

    /// `fieldlink probe`: one poll, or in stream mode what one period (at least 3 s) brings.
    func probe(_ index: Int) -> Reading {
        guard options.mode == .stream else { return poll(index) }
        let device = devices[index]
        if case .failure(let error) = openPort() { return device.failure("port unavailable: \(error)") }
        let period = max(device.config.interval, .seconds(3))
        let deadline = clock.now + period
        while clock.now < deadline {
            let open = readFrames(timeout: deadline - clock.now) { event in
                if case .frame(let frame) = event, device.take(frame) == .parsed { device.accumulate() }
            }
            if !open { return device.failure(portUnavailable) }
            if device.hasAllPoints { break }
        }
        return device.hasAccumulated ? device.reading(missing: "not received within \(period.configText)")
            : device.failure(device.drops.periodSummary ?? "nothing received within \(period.configText)")
    }
}
