import FieldlinkCore

/// The one line `systemctl status fieldlink` shows (`STATUS=`): devices, buffer, broker.
///
/// `3 device(s): 2 ok, 1 failing (meter2); 12 message(s) buffered; broker mqtt://10.0.0.5:1883 connected`
struct ServiceStatus {
    let devices: [String]
    let health: HealthBoard.Snapshot
    let buffered: Int

    var line: String {
        let failing = devices.filter { health.devices[$0] == false }
        let ok = devices.filter { health.devices[$0] == true }.count
        let pending = devices.count - ok - failing.count
        var parts = ["\(ok) ok"]
        if !failing.isEmpty {
            let names = failing.prefix(3).map { health.backedOff.contains($0) ? "\($0) backed off" : $0 }.joined(separator: ", ")
                + (failing.count > 3 ? ", …" : "")
            parts.append("\(failing.count) failing (\(names))")
        }
        if pending > 0 { parts.append("\(pending) not polled yet") }
        let broker = health.broker.map { "broker \($0) connected" } ?? "broker not connected"
        return "\(devices.count) device(s): \(parts.joined(separator: ", ")); \(buffered) message(s) buffered; \(broker)"
    }
}
