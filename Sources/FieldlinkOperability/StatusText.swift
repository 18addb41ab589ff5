#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension StatusDocument {
    /// `fieldlink status` for a person:
    ///
    /// ```
    /// fieldlink 0.1.0, gateway gw1 (pid 4242), up 2h 03m 12s
    /// broker mqtt://10.0.0.5:1883: connected, 0 reconnect(s); published 0/1200/0, acknowledged 0/1200/0 (QoS 0/1/2)
    /// bus line1 (modbus-rtu): line busy 12.5% of the time
    ///   meter1: ok, last good reading 0.4 s ago, 1200 poll(s), 0 point error(s)
    /// ring: 3 message(s) (1 in flight), 1.2 KiB, oldest 0.5 s, 0 dropped
    /// clock: synchronised
    /// ```
    public var text: String {
        var lines = ["fieldlink \(version), gateway \(gateway) (pid \(pid)), up \(Self.age(uptimeSeconds))"]
        let counts = { (map: [String: UInt64]) in ["0", "1", "2"].map { String(map[$0] ?? 0) }.joined(separator: "/") }
        lines.append("broker \(broker.url): \(broker.state), \(broker.reconnects) reconnect(s); published \(counts(broker.published)), acknowledged \(counts(broker.acknowledged)) (QoS 0/1/2)")
        var listed = Set<String>()
        for bus in buses {
            lines.append("bus \(bus.name) (\(bus.type)): line busy \(Self.percent(bus.utilisation)) of the time")
            for device in devices where device.bus == bus.name {
                listed.insert(device.name)
                lines.append("  " + Self.line(device))
            }
        }
        for device in devices where !listed.contains(device.name) { lines.append("  " + Self.line(device)) }
        let oldest = ring.oldestAgeSeconds.map { "oldest \(Self.age($0))" } ?? "empty"
        lines.append("ring: \(ring.messages) message(s) (\(ring.inFlight) in flight), \(Self.size(ring.bytes)), \(oldest), \(ring.dropped) dropped")
        if let clock {
            lines.append(clock.synchronised ? "clock: synchronised" : "clock: not synchronised, \(clock.heldReadings) reading(s) held until it is")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func line(_ device: Device) -> String {
        let last = device.lastGoodAgeSeconds.map { "last good reading \(age($0)) ago" } ?? "no good reading yet"
        return "\(device.name): \(device.health), \(last), \(device.polls) poll(s), \(device.pointErrors) point error(s)"
    }

    static func percent(_ fraction: Double) -> String {
        let tenths = (fraction * 1_000).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)%"
    }

    /// `0.4 s`, `12 s`, `3m 05s`, `2h 03m 12s`, `4d 01h 00m`.
    static func age(_ seconds: Double) -> String {
        if seconds < 10 { return "\(Int((seconds * 10).rounded()) / 10).\(Int((seconds * 10).rounded()) % 10) s" }
        let total = Int(seconds.rounded())
        let (days, hours, minutes, rest) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if days > 0 { return "\(days)d \(two(hours))h \(two(minutes))m" }
        if hours > 0 { return "\(hours)h \(two(minutes))m \(two(rest))s" }
        if minutes > 0 { return "\(minutes)m \(two(rest))s" }
        return "\(total) s"
    }

    static func size(_ bytes: Int) -> String {
        if bytes < 1_024 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB"]
        var value = Double(bytes) / 1_024, index = 0
        while value >= 1_024, index < units.count - 1 { value /= 1_024; index += 1 }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[index])"
    }
}
