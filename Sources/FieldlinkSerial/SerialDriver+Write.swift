import FieldlinkCore

// Write-back on a poll-mode serial bus: each writable point sends its device's command with the
// value filled in and, when the command says what to expect, waits for that reply.
extension SerialDriver {
    func write(_ write: PointWrite) -> Result<Void, WriteFailure> {
        let device = devices[write.device]
        var requests: [(point: String, bytes: [UInt8], expect: String?)] = []
        for (index, raw) in write.points {
            let point = device.config.points[index]
            guard options.mode == .poll, let name = (point.options as! SerialPointOptions).command,
                  let command = device.options.commands[name] else {
                return .failure(WriteFailure("point \(point.name) has no command to send", reachedDevice: false))
            }
            requests.append((point.name, command.request(raw), command.expect))
        }
        let port: any SerialPortIO
        switch open() {
        case .success(let open): port = open
        case .failure(let error): return .failure(WriteFailure("port unavailable: \(error)", reachedDevice: false))
        }
        for request in requests {
            port.discardInput()
            splitter.reset()
            do throws(SerialError) {
                try port.write(request.bytes, timeout: device.options.timeout)
                proven()
            } catch {
                lost(error)
                return .failure(WriteFailure("port unavailable: \(error)"))
            }
            guard let expect = request.expect else { continue }
            if let failure = awaitReply(matching: expect, within: device.options.timeout, for: request.point) { return .failure(failure) }
        }
        return .success(())
    }

    /// Reads frames until one contains `expect`; the first other frame is the device saying no.
    private func awaitReply(matching expect: String, within timeout: Duration, for point: String) -> WriteFailure? {
        guard let pattern = try? Regex(expect) else { return WriteFailure("expect is not a valid regular expression", reachedDevice: false) }
        let deadline = clock.now + timeout
        var reply: String?
        while reply == nil {
            let remaining = deadline - clock.now
            guard remaining > .zero else { break }
            let open = readFrames(timeout: remaining) { event in
                if reply == nil, case .frame(let frame) = event { reply = String(decoding: frame, as: UTF8.self) }
            }
            if !open { return WriteFailure(portUnavailable) }
        }
        guard let reply else { return WriteFailure("no reply to the \(point) command within \(timeout.configText)") }
        return reply.contains(pattern) ? nil : WriteFailure("the device answered \"\(reply)\", not \(expect)")
    }
}
