import FieldlinkCore

extension CBORPayloadEncoder {
    /// Several polls of one device as one table, so a batch costs little more than its numbers:
    ///
    ///     0: device   1: ts of the first row   2: seq of the first row
    ///     5: [point name, ...]                 (the columns, in order of first appearance)
    ///     6: [exponent or null, ...]           (per column)
    ///     7: [[Δts, Δseq, value or null, ..., {column: reason}?], ...]
    ///     8: "unsynced"                        (only when some row's ts came from an unsynchronised clock)
    ///
    /// Δts and Δseq are differences from the row before (0 in the first row). A column whose values
    /// are all decimals gets an exponent e, and its cells are the integers m with value = m × 10^e
    /// exactly (230.1 with e = -1 is 2301), which is how a meter's decimals shrink from 9 bytes to
    /// 2–3. Other columns (integers, booleans, text, floats without a short decimal) hold the value
    /// as in a single message. null: the point is not in that row (failed, or unchanged under
    /// on-change reporting); a failed point's reason is in the row's trailing map, keyed by column.
    ///
    /// Devices that share a topic share its batches: then the message is an array of such tables,
    /// one per device, in the order the devices first appear.
    public func encode(batch readings: [Reading]) -> [UInt8] {
        var devices: [String] = []
        var byDevice: [String: [Reading]] = [:]
        for reading in readings {
            if byDevice[reading.device] == nil { devices.append(reading.device) }
            byDevice[reading.device, default: []].append(reading)
        }
        guard devices.count > 1 else { return table(readings) }
        var out = [UInt8]()
        Self.appendHead(major: 4, UInt64(devices.count), to: &out)
        for device in devices { out += table(byDevice[device]!) }
        return out
    }

    /// One device's readings as one table.
    private func table(_ readings: [Reading]) -> [UInt8] {
        var columns: [String] = []
        var index: [String: Int] = [:]
        for reading in readings {
            for name in reading.values.map(\.name) + reading.errors.map(\.name) where index[name] == nil {
                index[name] = columns.count
                columns.append(name)
            }
        }
        // Per column: the common exponent, if every value in it is a short decimal.
        var decimals: [[Int: Decimal64]] = Array(repeating: [:], count: columns.count)
        var exponents: [Int?] = Array(repeating: 0, count: columns.count)
        for (row, reading) in readings.enumerated() {
            for (name, value) in reading.values {
                let column = index[name]!
                guard exponents[column] != nil else { continue }
                if case .double(let number) = value, let decimal = Decimal64(number) {
                    decimals[column][row] = decimal
                    exponents[column] = min(exponents[column]!, decimal.exponent)
                } else {
                    exponents[column] = nil
                }
            }
        }
        var mantissas: [[Int: Int64]] = Array(repeating: [:], count: columns.count)
        for column in columns.indices {
            guard let exponent = exponents[column] else { continue }
            for (row, decimal) in decimals[column] {
                guard let mantissa = decimal.mantissa(atExponent: exponent) else {
                    exponents[column] = nil
                    break
                }
                mantissas[column][row] = mantissa
            }
        }

        var out = [UInt8]()
        out.reserveCapacity(64 + readings.count * (4 + 4 * columns.count))
        let unsynced = readings.contains(where: \.hasUnsyncedTime)
        Self.appendHead(major: 5, unsynced ? 7 : 6, to: &out)
        Self.appendHead(major: 0, UInt64(Key.device.rawValue), to: &out)
        Self.appendText(readings.first?.device ?? "", to: &out)
        Self.appendHead(major: 0, UInt64(Key.ts.rawValue), to: &out)
        Self.appendInteger(readings.first?.timestamp ?? 0, to: &out)
        Self.appendHead(major: 0, UInt64(Key.seq.rawValue), to: &out)
        Self.appendHead(major: 0, readings.first?.sequence ?? 0, to: &out)
        if unsynced { Self.appendUnsyncedQuality(to: &out) }
        Self.appendHead(major: 0, UInt64(Key.points.rawValue), to: &out)
        Self.appendHead(major: 4, UInt64(columns.count), to: &out)
        for name in columns { Self.appendText(name, to: &out) }
        Self.appendHead(major: 0, UInt64(Key.exponents.rawValue), to: &out)
        Self.appendHead(major: 4, UInt64(columns.count), to: &out)
        for exponent in exponents {
            if let exponent { Self.appendInteger(Int64(exponent), to: &out) } else { out.append(0xF6) }
        }
        Self.appendHead(major: 0, UInt64(Key.rows.rawValue), to: &out)
        Self.appendHead(major: 4, UInt64(readings.count), to: &out)
        var previous = readings.first
        for (row, reading) in readings.enumerated() {
            var cells: [Value?] = Array(repeating: nil, count: columns.count)
            for (name, value) in reading.values { cells[index[name]!] = value }
            Self.appendHead(major: 4, UInt64(2 + columns.count + (reading.errors.isEmpty ? 0 : 1)), to: &out)
            Self.appendInteger(reading.timestamp - (previous?.timestamp ?? reading.timestamp), to: &out)
            Self.appendInteger(Int64(truncatingIfNeeded: reading.sequence &- (previous?.sequence ?? reading.sequence)), to: &out)
            for (column, cell) in cells.enumerated() {
                if let mantissa = mantissas[column][row], exponents[column] != nil {
                    Self.appendInteger(mantissa, to: &out)
                } else if let cell {
                    Self.appendValue(cell, to: &out)
                } else {
                    out.append(0xF6)
                }
            }
            if !reading.errors.isEmpty {
                Self.appendHead(major: 5, UInt64(reading.errors.count), to: &out)
                for (name, reason) in reading.errors {
                    Self.appendHead(major: 0, UInt64(index[name]!), to: &out)
                    Self.appendText(reason, to: &out)
                }
            }
            previous = reading
        }
        return out
    }
}

/// A double as the decimal its shortest text spells (`230.1` is 2301 × 10^-1), when that decimal
/// has at most 15 significant digits, so the integer round-trips to exactly the same double.
struct Decimal64: Equatable {
    var significand: Int64
    var exponent: Int

    init?(_ value: Double) {
        guard value.isFinite else { return nil }
        // Swift prints the shortest digits that read back to the same double: "230.1", "1e-05", "5.0".
        let text = "\(value)"
        var digits = ""
        var exponent = 0
        var negative = false
        var afterPoint = false
        var characters = Substring(text)
        if let e = characters.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let power = Int(characters[characters.index(after: e)...]) else { return nil }
            exponent = power
            characters = characters[..<e]
        }
        for character in characters {
            switch character {
            case "-": negative = true
            case ".": afterPoint = true
            case "0"..."9":
                digits.append(character)
                if afterPoint { exponent -= 1 }
            default: return nil
            }
        }
        // Trailing zeros belong in the exponent ("5.0" is 5 × 10^0, not 50 × 10^-1).
        while digits.count > 1, digits.hasSuffix("0") {
            digits.removeLast()
            exponent += 1
        }
        let significant = digits.drop { $0 == "0" }
        guard significant.count <= 15, let magnitude = Int64(digits) else { return nil }
        self.significand = negative ? -magnitude : magnitude
        self.exponent = exponent
    }

    /// The integer m with m × 10^exponent == self; nil if it does not fit 15 digits.
    func mantissa(atExponent target: Int) -> Int64? {
        var value = significand
        for _ in 0..<(exponent - target) {
            let (product, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow, abs(product) < 1_000_000_000_000_000 else { return nil }
            value = product
        }
        return value
    }
}
