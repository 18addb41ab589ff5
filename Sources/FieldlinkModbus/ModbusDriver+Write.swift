import FieldlinkCore

// Write-back on a Modbus bus: the registers and coils of one command, as few requests as the
// points' write functions allow, on the bus thread between polls.
extension ModbusDriver {
    /// One request of a write: registers or coils from `address`, or one bit of a register.
    struct WriteStep {
        enum Payload {
            case registers([UInt16])
            case coils([Bool])
            /// Read-modify-write of one register: bit `bit` set to `on`.
            case bit(Int, on: Bool, order: WordOrder)
        }

        var address: Int
        var payload: Payload
        /// The point's own `write_function`; nil lets the step pick (and merge).
        var function: Int?

        var count: Int {
            switch payload {
            case .registers(let words): words.count
            case .coils(let bits): bits.count
            case .bit: 1
            }
        }

        /// Whether `next` continues this request in one function 16 (or 15) write: adjacent, same
        /// table, neither pinned to a single-item function, within the protocol's limit.
        func merges(_ next: WriteStep) -> Bool {
            guard next.address == address + count, function != 5, function != 6, next.function != 5, next.function != 6 else { return false }
            switch (payload, next.payload) {
            case (.registers(let mine), .registers(let theirs)): return mine.count + theirs.count <= ModbusLimits.maxRegistersPerWrite
            case (.coils(let mine), .coils(let theirs)): return mine.count + theirs.count <= ModbusLimits.maxBitsPerWrite
            default: return false
            }
        }
    }

    func write(_ write: PointWrite) -> Result<Void, WriteFailure> {
        let device = devices[write.device]
        var steps: [WriteStep] = []
        for (index, raw) in write.points {
            let options = device.config.points[index].options as! ModbusPointOptions
            let step: WriteStep
            switch (options.table, options.bit, raw) {
            case (.coil, _, .bool(let on)):
                step = WriteStep(address: options.address, payload: .coils([on]), function: options.writeFunction)
            case (.holding, let bit?, .bool(let on)):
                step = WriteStep(address: options.address, payload: .bit(bit, on: on, order: options.order), function: options.writeFunction)
            case (.holding, nil, _):
                guard let words = options.layout.encode(raw) else {
                    return .failure(WriteFailure("\(raw.text) cannot be encoded as \(options.type)", reachedDevice: false))
                }
                step = WriteStep(address: options.address, payload: .registers(words), function: options.writeFunction)
            default:
                return .failure(WriteFailure("\(options.table) \(options.address) cannot be written", reachedDevice: false))
            }
            steps.append(step)
        }
        steps.sort { $0.address < $1.address }
        var merged: [WriteStep] = []
        for step in steps {
            if let last = merged.last, last.merges(step) {
                switch (last.payload, step.payload) {
                case (.registers(let mine), .registers(let theirs)): merged[merged.count - 1].payload = .registers(mine + theirs)
                case (.coils(let mine), .coils(let theirs)): merged[merged.count - 1].payload = .coils(mine + theirs)
                default: break
                }
                merged[merged.count - 1].function = merged[merged.count - 1].function ?? step.function
            } else {
                merged.append(step)
            }
        }
        do throws(ModbusError) {
            let transport = try open()
            try transport.setUnit(device.unit)
            transport.setResponseTimeout(device.timeout)
            for step in merged {
                do throws(ModbusError) {
                    try run(step, on: transport, device: device)
                } catch {
                    throw error.at(unit: device.unit, table: step.payload.isCoils ? .coil : .holding, address: step.address)
                }
            }
            return .success(())
        } catch {
            book(error, of: write.device)
            return .failure(WriteFailure(error.description))
        }
    }

    /// One request (two for a bit of a register: read, then write), after the line's quiet time.
    /// Writes are not retried: the device may have taken one whose answer was lost.
    private func run(_ step: WriteStep, on transport: any ModbusTransport, device: PolledDevice) throws(ModbusError) {
        waitForQuietLine(device)
        defer { lastTransactionEnd = clock.now }
        switch step.payload {
        case .registers(let words):
            if words.count == 1, step.function != 16 {
                try transport.writeRegister(address: step.address, value: words[0])
            } else {
                try transport.writeRegisters(address: step.address, values: words)
            }
        case .coils(let bits):
            if bits.count == 1, step.function != 15 {
                try transport.writeBit(address: step.address, value: bits[0])
            } else {
                try transport.writeBits(address: step.address, values: bits)
            }
        case .bit(let bit, let on, let order):
            let register = try transport.readRegisters(input: false, address: step.address, count: 1)[0]
            lastTransactionEnd = clock.now
            waitForQuietLine(device)
            let updated = RegisterEncoder.setting(bit, to: on, in: register, order: order)
            if step.function == 16 {
                try transport.writeRegisters(address: step.address, values: [updated])
            } else {
                try transport.writeRegister(address: step.address, value: updated)
            }
        }
    }

    /// The failed write in the device's counters, as a failed poll would be.
    private func book(_ error: ModbusError, of index: Int) {
        switch error.code {
        case .exception(let exception): counters[index].exceptionCode = exception.rawValue
        case .timeout:
            counters[index].timeouts += 1
            transport?.flush()
            flushBeforeNextRequest = true
        case .badCRC:
            counters[index].crcErrors += 1
            transport?.flush()
            flushBeforeNextRequest = true
        case .badResponse:
            transport?.flush()
            flushBeforeNextRequest = true
        case .port: close()
        case .invalidArgument: break
        }
    }
}

extension ModbusDriver.WriteStep.Payload {
    var isCoils: Bool {
        if case .coils = self { return true }
        return false
    }
}
