import Logging

// Write-back: a command checked whole, written, read back at once, audited and counted.
extension BusOwner {
    /// Runs one command between polls, on the bus thread. Every point is checked first (writable,
    /// limits, type, exact round trip, rate limit, age); if any is refused nothing is written.
    /// Otherwise the driver writes them in one transaction and the device is read back at once:
    /// that reading goes out as a normal one, and its values answer the command.
    public func write(_ request: WriteRequest) -> [PointWriteResult] {
        guard let index = devices.firstIndex(where: { $0.name == request.device }) else {
            let results = request.values.map { PointWriteResult(point: $0.point, value: $0.value, outcome: .refused("no device \"\(request.device)\" on this bus")) }
            audit(results, device: request.device, source: request.source)
            return results
        }
        let results = perform(request, on: index)
        audit(results, device: request.device, source: request.source)
        let refused = results.filter { if case .refused = $0.outcome { true } else { false } }.count
        let failed = results.filter { if case .failed = $0.outcome { true } else { false } }.count
        if refused + failed > 0 {
            states[index].commandsRefused += refused > 0 ? 1 : 0
            states[index].commandsFailed += failed > 0 ? 1 : 0
            publishCommandCounts(of: index)
        }
        return results
    }

    private func perform(_ request: WriteRequest, on index: Int) -> [PointWriteResult] {
        let now = clock.now
        if let refusal = request.refusal {
            return request.values.map { PointWriteResult(point: $0.point, value: $0.value, outcome: .refused(refusal)) }
        }
        if let deadline = request.deadline, now > deadline {
            return request.values.map { PointWriteResult(point: $0.point, value: $0.value, outcome: .refused("expired before it could be executed (command_max_age or message expiry)")) }
        }
        var refusals: [String?] = []
        var raws: [(index: Int, raw: Value)] = []
        for (position, (name, value)) in request.values.enumerated() {
            let refusal: String?
            if request.values[..<position].contains(where: { $0.point == name }) {
                refusal = "named twice in one command"
            } else {
                switch check(name, value, of: index, at: now) {
                case .success(let (point, raw)):
                    raws.append((point, raw))
                    refusal = nil
                case .failure(let error):
                    refusal = error.description
                }
            }
            refusals.append(refusal)
        }
        if refusals.contains(where: { $0 != nil }) {
            return zip(request.values, refusals).map { entry, refusal in
                PointWriteResult(point: entry.point, value: entry.value,
                                 outcome: .refused(refusal ?? "not written: another point of the same command was refused"))
            }
        }
        let started = clock.now
        let written = driver.write(PointWrite(device: index, points: raws))
        GatewayCounters.shared.addLineTime(clock.now - started, bus: bus)
        switch written {
        case .failure(let failure):
            return request.values.map {
                PointWriteResult(point: $0.point, value: $0.value, outcome: failure.reachedDevice ? .failed(failure.description) : .refused(failure.description))
            }
        case .success:
            let written = clock.now
            for (name, _) in request.values { states[index].lastWrites[name] = written }
        }
        // The read-back: a normal poll of the device, published as every poll is.
        let reading = pollNow(index)
        if let reading { publish(reading, of: index) }
        return request.values.map { name, value in
            let readBack = reading?.values.first { $0.name == name }?.value
            let error = readBack == nil ? reading?.errors.first { $0.name == name }?.reason ?? "no reading" : nil
            return PointWriteResult(point: name, value: value, outcome: .written(readBack: readBack, readBackError: error))
        }
    }

    /// The point's position and raw value, or why it is refused.
    private func check(_ name: String, _ value: Value, of index: Int, at now: ContinuousClock.Instant) -> Result<(Int, Value), ConversionError> {
        let device = devices[index]
        guard let position = device.points.firstIndex(where: { $0.name == name }) else {
            return .failure(ConversionError("no point \"\(name)\" on device \(device.name)"))
        }
        let point = device.points[position]
        guard let limits = point.write else {
            return .failure(ConversionError("point \(name) is not writable"))
        }
        if let reason = limits.refusal(of: value) {
            return .failure(ConversionError(reason))
        }
        let raw: Value
        switch conversions[index][position].invert(value, kind: point.options.writeKind) {
        case .success(let value): raw = value
        case .failure(let error): return .failure(error)
        }
        if let interval = limits.minInterval, let last = states[index].lastWrites[name], now < last + interval {
            return .failure(ConversionError("written \(last.duration(to: now).configText) ago; min_write_interval is \(interval.configText)"))
        }
        return .success((position, raw))
    }

    /// One log line per point of a command: DEVICE=, POINT=, VALUE=, RESULT=, TOPIC= in the journal.
    private func audit(_ results: [PointWriteResult], device: String, source: String) {
        for result in results {
            let metadata: Logger.Metadata = ["device": "\(device)", "point": "\(result.point)", "value": "\(result.value.text)",
                                             "result": "\(result.summary)", "topic": "\(source)"]
            switch result.outcome {
            case .written(let readBack, _):
                logger.notice("command: \(result.point) = \(result.value.text) written, read back \(readBack?.text ?? "nothing")", metadata: metadata)
            case .refused(let reason):
                logger.warning("command: \(result.point) = \(result.value.text) refused: \(reason)", metadata: metadata)
            case .failed(let reason):
                logger.error("command: \(result.point) = \(result.value.text) failed at the device: \(reason)", metadata: metadata)
            }
        }
    }
}
