import ArgumentParser
import FieldlinkCore
import FieldlinkI2C
import FieldlinkModbus
import FieldlinkSerial

/// Every config section this binary reads: the common ones, then each family's.
let configReference = ConfigReference.common + ModbusFamily.reference + SerialFamily.reference + I2CFamily.reference

/// `fieldlink reference`: fieldlink.yaml(5) from the key tables (the package's man page is made with it).
struct Reference: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the config file's man page, fieldlink.yaml(5), in roff (man -l - reads it).",
        shouldDisplay: false
    )

    @Option(help: "The date on the page (YYYY-MM-DD).")
    var date = "1970-01-01"

    func run() {
        print(ConfigReference.manPage(sections: configReference, version: FieldlinkVersion.current, date: date), terminator: "")
    }
}
