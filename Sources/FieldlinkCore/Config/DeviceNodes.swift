import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The device nodes a config's buses open (`/dev/ttyUSB0`, `/dev/i2c-1`): `check` warns about the
/// ones missing now but does not fail, since a USB adapter may be plugged in after the check.
public enum DeviceNodes {
    /// What to do when `/dev/i2c-N` is missing on a Raspberry Pi.
    public static let enableI2C = "enable I2C: sudo raspi-config nonint do_i2c 0 (or dtparam=i2c_arm=on in /boot/firmware/config.txt and a reboot), "
        + "then sudo modprobe i2c-dev (ls /dev/i2c-* lists the adapters)"

    /// What to do when a serial port is missing.
    public static let plugInSerial = "plug in the adapter or HAT (ls /dev/serial/by-id/ names USB adapters by serial number, which survives re-plugging)"

    /// The advice for a missing `path`: how to enable I2C for `/dev/i2c-N`, else how to find a serial port.
    public static func advice(forMissing path: String) -> String {
        URL(fileURLWithPath: path).lastPathComponent.hasPrefix("i2c-") ? enableI2C : plugInSerial
    }

    /// A warning, at the bus, for each bus whose device node cannot be opened now.
    public static func warnings(for config: Config) -> [ConfigProblem] {
        config.buses.compactMap { bus in
            guard let node = bus.options.physicalResource, node.hasPrefix("/") else { return nil }
            guard let why = FileAccess.whyNotReadWrite(node) else { return nil }
            let advice = why == Errno(ENOENT) ? advice(forMissing: node) : "the user fieldlink runs as needs access (the unit grants it; by hand: group dialout or i2c)"
            return ConfigProblem(location: bus.location, path: "buses.\(bus.name)",
                                 message: "\(node) cannot be opened now (\(why.text)); not an error, fieldlink keeps trying while it runs; \(advice)")
        }
    }
}
