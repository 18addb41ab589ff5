import FieldlinkCore
import Logging

/// The transactions of one serial bus, on its owner's thread: the port (opened lazily, reopened
/// after it goes away), the frame splitter, and each device's parser. In poll mode a slot sends the
/// device's request and waits for one reply frame; in stream mode frames are read in the loop's idle
/// time and a slot ends the device's period. Conversion, health and backoff are the `BusOwner`'s.
final class SerialDriver: BusDriver {
    let options: SerialBusOptions
    let devices: [SerialDevice]
    let logger: Logger
    let clock: any BusClock
    private let openPort: (String, SerialSettings) throws(SerialError) -> any SerialPortIO
    var port: (any SerialPortIO)?
    var splitter: FrameSplitter
    private var buffer = [UInt8](repeating: 0, count: 4_096)
    /// nil while the port is open; the reason while it is not. Logged once per change.
    private var portProblem = StateChangeFilter<String?>()
    /// The open port has shown it works (bytes came in, a request went out). Until then a port that
    /// opens and at once hangs up again (a stale pty) is still the old problem, not a recovery, so
    /// it costs no log lines.
    private var portProven = false
    /// Set when the port opens, cleared by the first frame: that one may be the tail of a line sent before.
    private var freshlyOpened = false
    private var nextOpen: ContinuousClock.Instant

    /// How long a missing port waits before it is tried again.
    static let reopenDelay = Duration.seconds(1)
    /// The longest one read blocks in stream mode, so the loop beats and notices a stop.
    static let longestStreamRead = Duration.milliseconds(200)

    /// `openPort` is the seam for tests: a scripted port instead of a tty.
    init(options: SerialBusOptions, devices: [DeviceConfig], clock: any BusClock = SystemBusClock(), logger: Logger,
         openPort: @escaping (String, SerialSettings) throws(SerialError) -> any SerialPortIO = { path, settings throws(SerialError) in
             try SerialPort(path: path, settings: settings)
         }) {
        self.options = options
        self.devices = devices.map(SerialDevice.init)
        self.logger = logger
        self.clock = clock
        self.openPort = openPort
        splitter = FrameSplitter(framing: options.framing, maxLength: options.maxFrame)
        nextOpen = clock.now
    }

    var noun: String { options.mode == .stream ? "reading" : "poll" }

    func longestPoll(of device: Int) -> Duration {
        options.mode == .stream ? .zero : devices[device].options.timeout + .milliseconds(10)
    }

    // MARK: The port

    /// The open port, opening it when due; nil (with the reason) while it cannot be opened.
    func open() -> Result<any SerialPortIO, SerialError> {
        if let port { return .success(port) }
        do throws(SerialError) {
            let port = try openPort(options.port, options.settings)
            self.port = port
            portProven = false
            freshlyOpened = true
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
    func proven() {
        guard !portProven else { return }
        portProven = true
        if let change = portProblem.update(nil), change.previous != nil {
            logger.notice("\(options.port) is back after \(change.repeats) failed attempt(s)")
        }
    }

    /// Why the port is closed, for the readings that could not be taken.
    var portUnavailable: String {
        "port unavailable: \(options.port): \(portProblem.current.flatMap { $0 } ?? "closed")"
    }

    func lost(_ error: SerialError) {
        port = nil
        nextOpen = clock.now + Self.reopenDelay
        if portProblem.update(error.detail) != nil {
            logger.warning("lost \(options.port): \(error.detail) (reopening when it comes back)")
        }
    }

    /// Reads once (up to `timeout`) and hands every complete frame to `handle`; false when the port
    /// is not open.
    func readFrames(timeout: Duration, _ handle: (FrameSplitter.Event) -> Void) -> Bool {
        guard let port else { return false }
        do throws(SerialError) {
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

    /// Reads what arrives before the next slot; a device with `aggregate: none` reports every frame.
    func idle(for available: Duration, emit: (Int, DevicePoll) -> Void) -> Bool {
        guard options.mode == .stream else { return false }
        if port == nil {
            guard clock.now >= nextOpen, case .success = open() else { return false }
        }
        return readFrames(timeout: min(available, Self.longestStreamRead)) { event in dispatch(event, emit: emit) }
    }

    private func dispatch(_ event: FrameSplitter.Event, emit: (Int, DevicePoll) -> Void) {
        switch event {
        case .frame(let frame):
            // The port opened in the middle of whatever the device was sending: the first frame is
            // usually its tail. Expected, so it is not a drop; a complete one is used as usual.
            let first = freshlyOpened
            freshlyOpened = false
            for (index, device) in devices.enumerated() where device.take(frame, quietly: first) == .parsed {
                if device.options.aggregate == .none { emit(index, device.poll(fromFrame: true, missing: "not in this frame")) }
                // With `aggregate: none` too: the period's end then knows whether anything came.
                device.accumulate()
            }
        case .oversized:
            for device in devices { device.drops.drop("a frame longer than max_frame (\(options.maxFrame) bytes)") }
        case .noise(let count):
            guard !freshlyOpened else { return }  // the tail of a frame sent before the port opened
            for device in devices { device.drops.drop("\(count) byte(s) outside the start/end markers") }
        }
    }

    /// A stream device's period is over: its aggregated values (or, with `aggregate: none`, whose
    /// frames went out as they came, nothing unless nothing came).
    private func endPeriod(_ device: SerialDevice) -> DevicePoll? {
        defer { device.drops.endPeriod(device: device.config.name, logger: logger) }
        let interval = device.config.interval
        // What came before the port went away is published; only a period without it fails.
        if device.hasAccumulated {
            let aggregated = device.poll(missing: "not received in the last \(interval.configText)")
            return device.options.aggregate == .none ? nil : aggregated
        }
        if port == nil { return device.failure(portUnavailable, answered: nil) }
        return device.failure(device.drops.periodSummary.map { "nothing readable in the last \(interval.configText): \($0)" }
                              ?? "nothing received in the last \(interval.configText)", answered: nil)
    }

    // MARK: Poll mode

    func poll(_ index: Int) -> DevicePoll? {
        let device = devices[index]
        guard options.mode == .poll else { return endPeriod(device) }
        guard let request = device.options.request else { return device.failure("no request configured", answered: nil) }
        if port == nil, clock.now < nextOpen {
            return device.failure(portUnavailable, answered: nil)
        }
        let port: any SerialPortIO
        switch open() {
        case .success(let open): port = open
        case .failure(let error): return device.failure("port unavailable: \(error)", answered: nil)
        }
        port.discardInput()
        splitter.reset()
        do throws(SerialError) {
            try port.write(request, timeout: device.options.timeout)
            proven()
        } catch {
            lost(error)
            return device.failure("port unavailable: \(error)", answered: nil)
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
            if !open { return device.failure(portUnavailable, answered: nil) }
        }
        defer { device.drops.endPeriod(device: device.config.name, logger: logger) }
        switch outcome {
        case .parsed:
            var poll = device.poll(fromFrame: true, missing: "not in the reply")
            poll.answered = true
            return poll
        case .failed(let reason): return device.failure("reply dropped: \(reason)", answered: true)
        case .ignored, nil: return device.failure("no reply within \(device.options.timeout.configText)", answered: false)
        }
    }

    // MARK: Commissioning

    /// `fieldlink probe`: one poll, or in stream mode what one period (at least 3 s) brings.
    func commission(_ index: Int) -> DevicePoll {
        guard options.mode == .stream else {
            return poll(index) ?? devices[index].failure("nothing received", answered: nil)
        }
        let device = devices[index]
        if case .failure(let error) = open() { return device.failure("port unavailable: \(error)", answered: nil) }
        let period = max(device.config.interval, .seconds(3))
        let deadline = clock.now + period
        while clock.now < deadline {
            let open = readFrames(timeout: deadline - clock.now) { event in
                if case .frame(let frame) = event, device.take(frame) == .parsed { device.accumulate() }
            }
            if !open { return device.failure(portUnavailable, answered: nil) }
            if device.hasAllPoints { break }
        }
        return device.hasAccumulated ? device.poll(missing: "not received within \(period.configText)")
            : device.failure(device.drops.periodSummary ?? "nothing received within \(period.configText)", answered: nil)
    }
}
