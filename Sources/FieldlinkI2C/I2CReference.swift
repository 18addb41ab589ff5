import FieldlinkCore

// fieldlink.yaml(5): the I2C keys, beside the family that reads them (README: "I2C sensors").
extension I2CFamily {
    public static let reference: [ConfigSectionDoc] = {
        typealias K = ConfigKeyDoc
        return [
            ConfigSectionDoc("buses[] (type: i2c)", "An I2C adapter through i2c-dev.", [
                K("device", "(required)", "the adapter, e.g. /dev/i2c-1 (enable I2C: raspi-config, dtparam=i2c_arm=on, modprobe i2c-dev)"),
            ]),
            ConfigSectionDoc("devices[] (I2C)", "", [
                K("driver", "(required)", "tmp102, lm75, sht3x, bme280, ads1115, bh1750 or registers"),
                K("address", "the chip's usual one", "the 7-bit address (required for registers)"),
                K("gain", "2.048", "ads1115: full scale in volts"),
            ]),
            ConfigSectionDoc("devices[].points[] (I2C)", "", [
                K("measure", "the point's name", "what the chip measures, e.g. temperature, ain0"),
                K("register", "", "registers: 0x00 to 0xff"),
                K("type", "uint16", "registers: uint8, int8, uint16, int16, uint32, int32, float32"),
                K("order", "big", "registers: big or little"),
            ]),
        ]
    }()
}
