import FieldlinkCore
import FieldlinkModbus
import Testing

/// Write-back's config keys: each refusal located at the key that asks for the impossible.
@Suite(.timeLimit(.minutes(1)))
struct ModbusWriteConfigTests {
    static func problems(_ point: String, device: String = "") -> [String] {
        let yaml = """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0}]
            devices:
              - {name: hp, bus: rs485, unit: 1, interval: 1s\(device), points: [\(point)]}
            """
        do {
            _ = try ConfigLoader(families: [ModbusFamily()]).parse(yaml: yaml, file: "/etc/fieldlink/fieldlink.yaml")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func aWritablePointIsAcceptedWithItsLimits() throws {
        #expect(Self.problems("{name: sp, address: 0, scale: 0.1, writable: true, min: 5, max: 30, min_write_interval: 2s}",
                              device: ", accept_retained: true, command_max_age: 30s, command_results: true") == [])
    }

    @Test(arguments: [
        ("{name: t, table: input, address: 0, writable: true}", "points[0].writable: this point cannot be writable: an input register is read-only"),
        ("{name: t, table: discrete, address: 0, writable: true}", "points[0].writable: this point cannot be writable: a discrete input is read-only"),
        ("{name: t, address: 0, min: 3}", "points[0].min: min limits what a command may write: it needs writable: true"),
        ("{name: t, address: 0, writable: true, min: 9, max: 3}", "points[0].max: max 3.0 is below min 9.0"),
        ("{name: t, address: 0, type: float32, writable: true, write_function: 6}", "points[0].write_function: function 6 writes one register; a float32 takes 2: use 16"),
        ("{name: t, table: coil, address: 0, writable: true, write_function: 16}", "points[0].write_function: a coil is written with function 5 (one coil) or 15 (several coils), not 16"),
        ("{name: t, address: 0, write_function: 16}", "points[0].write_function: write_function says how a command is written: it needs writable: true"),
        ("{name: t, address: 0, type: raw, writable: true}", "points[0].writable: this point cannot be writable: a raw point"),
    ])
    func impossibleWritesAreRefusedWhereTheyAreAsked(point: String, problem: String) {
        let found = Self.problems(point)
        #expect(found.contains { $0.contains("devices[0].\(problem)") }, "\(found)")
    }

    @Test func commandSettingsNeedAWritablePoint() {
        let found = Self.problems("{name: t, address: 0}", device: ", command_results: true")
        #expect(found.contains { $0.contains("devices[0].command_results: this device has no writable point") }, "\(found)")
    }
}
