extension Duration {
    /// Parses `500ms`, `5s`, `2m`, `1h`, `1m30s`, `1.5s`; nil for anything else, and for a unit
    /// written twice or out of order (`1d1d`, `30s1m`), which is a typo rather than a sum.
    public init?(configText text: String) {
        // Largest first: each part's unit must come after the previous part's.
        let units: [(suffix: String, milliseconds: Double)] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)]
        var nextUnit = 0
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let amount = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let suffix = rest.prefix { $0.isLetter }
            guard let position = units.firstIndex(where: { $0.suffix == suffix }), position >= nextUnit else { return nil }
            nextUnit = position + 1
            rest = rest.dropFirst(suffix.count)
            total += amount * units[position].milliseconds
        }
        // Past Int64 microseconds (about 292,000 years) the conversion would trap: not a duration either.
        let microseconds = (total * 1_000).rounded()
        guard microseconds < Double(Int64.max) else { return nil }
        self = .microseconds(Int64(microseconds))
    }

    /// The shortest config spelling of this duration, e.g. `1500ms`, `30s`.
    public var configText: String {
        let ms = milliseconds
        for (suffix, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1_000)] where ms >= size && ms % size == 0 {
            return "\(ms / size)\(suffix)"
        }
        return "\(ms)ms"
    }

    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Whole nanoseconds, rounded down (for monotonic-clock arithmetic).
    public var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
