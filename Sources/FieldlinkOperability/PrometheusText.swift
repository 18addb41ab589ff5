#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The Prometheus text exposition format (version 0.0.4) of a `StatusDocument`, for
/// node_exporter's textfile collector: HELP and TYPE before each family, counters ending `_total`,
/// units in the name (`_seconds`, `_bytes`, `_ratio`).
public enum PrometheusText {
    public static func render(_ status: StatusDocument) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples {
                let labels = sample.labels.isEmpty ? ""
                    : "{" + sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                out += "\(name)\(labels) \(number(sample.value))\n"
            }
        }
        let gateway = [("gateway", status.gateway)]
        family("fieldlink_build_info", "gauge", "Always 1; the version that runs.",
               [(gateway + [("version", status.version)], 1)])
        family("fieldlink_uptime_seconds", "gauge", "Seconds since the daemon started.", [(gateway, status.uptimeSeconds)])
        let device = { (d: StatusDocument.Device) in [("device", d.name), ("bus", d.bus)] }
        family("fieldlink_device_polls_total", "counter", "Readings taken from the device, whatever their outcome.",
               status.devices.map { (device($0), Double($0.polls)) })
        family("fieldlink_device_point_errors_total", "counter", "Points that failed to read, summed over every reading.",
               status.devices.map { (device($0), Double($0.pointErrors)) })
        family("fieldlink_device_up", "gauge", "1 when the device's last reading read every point, else 0.",
               status.devices.map { (device($0), $0.health == "ok" ? 1 : 0) })
        family("fieldlink_device_backed_off", "gauge", "1 while the device does not answer and is only probed now and then.",
               status.devices.map { (device($0), $0.backedOff ? 1 : 0) })
        family("fieldlink_device_last_good_reading_age_seconds", "gauge", "Seconds since the device's last reading with a value.",
               status.devices.compactMap { d in d.lastGoodAgeSeconds.map { (device(d), $0) } })
        let bus = { (b: StatusDocument.Bus) in [("bus", b.name), ("type", b.type)] }
        family("fieldlink_bus_busy_seconds_total", "counter", "Line time spent inside transactions; rate() of it is the utilisation.",
               status.buses.map { (bus($0), $0.busySeconds) })
        family("fieldlink_bus_utilisation_ratio", "gauge", "Line time used as a fraction of wall time since the bus started.",
               status.buses.map { (bus($0), $0.utilisation) })
        family("fieldlink_ring_messages", "gauge", "Messages held until the broker acknowledges them.", [([], Double(status.ring.messages))])
        family("fieldlink_ring_bytes", "gauge", "Bytes of the ring: segment files on disk (acknowledged records go with their whole segment) plus messages in memory.", [([], Double(status.ring.bytes))])
        family("fieldlink_ring_oldest_message_age_seconds", "gauge", "Age of the oldest message not yet acknowledged; 0 when empty.",
               [([], status.ring.oldestAgeSeconds ?? 0)])
        family("fieldlink_ring_dropped_messages_total", "counter", "Messages dropped because the ring was full or they were too old.",
               [([], Double(status.ring.dropped))])
        if let clock = status.clock {
            family("fieldlink_clock_synchronised", "gauge", "1 when the wall clock is synchronised (timesyncd, or the kernel's STA_UNSYNC clear, or time.trust: always).",
                   [([], clock.synchronised ? 1 : 0)])
            family("fieldlink_clock_held_readings", "gauge", "Readings held until the clock is synchronised (time.unsynced: hold).",
                   [([], Double(clock.heldReadings))])
        }
        family("fieldlink_mqtt_connected", "gauge", "1 for the broker connected to, 0 for the others.",
               status.broker.configured.map { url in ([("broker", url)], status.broker.state == "connected" && url == status.broker.url ? 1 : 0) })
        let qos = ["0", "1", "2"]
        family("fieldlink_mqtt_published_messages_total", "counter", "PUBLISHes handed to the broker, per QoS.",
               qos.map { ([("qos", $0)], Double(status.broker.published[$0] ?? 0)) })
        family("fieldlink_mqtt_acknowledged_messages_total", "counter", "Messages the broker acknowledged (QoS 0: written to the socket), per QoS.",
               qos.map { ([("qos", $0)], Double(status.broker.acknowledged[$0] ?? 0)) })
        family("fieldlink_mqtt_reconnects_total", "counter", "Successful connections to a broker after the first.",
               [([], Double(status.broker.reconnects))])
        return out
    }

    /// Label values: backslash, double quote and newline escaped.
    static func escape(_ value: String) -> String {
        value.replacingLiterally("\\", with: "\\\\").replacingLiterally("\"", with: "\\\"")
            .replacingLiterally("\n", with: "\\n")
    }

    /// Integers without a fraction; other values as Swift prints a Double (Prometheus reads both).
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
