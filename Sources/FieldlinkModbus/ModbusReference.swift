import FieldlinkCore

// fieldlink.yaml(5): the Modbus keys, beside the family that reads them (README: "Modbus buses").
extension ModbusFamily {
    public static let reference: [ConfigSectionDoc] = {
        typealias K = ConfigKeyDoc
        let transaction = [
            K("timeout", ModbusBusDefaults.defaultTimeout.configText, "how long to wait for an answer"),
            K("retries", "\(ModbusBusDefaults.defaultRetries)", "extra attempts after a timeout or a damaged answer"),
            K("delay_before_request", ModbusBusDefaults.defaultDelayBeforeRequest.configText, "quiet time on the line before each request"),
        ]
        let backoff = [
            K("backoff_after", "\(ModbusBusDefaults.defaultBackoffAfter)", "polls without an answer before a device is backed off"),
            K("backoff_max", ModbusBusDefaults.defaultBackoffMax.configText, "longest wait between probes of a backed-off device"),
        ]
        return [
            ConfigSectionDoc("buses[] (type: modbus-rtu)", "Modbus RTU on a serial line (RS-485).", [
                K("port", "(required)", "the tty, e.g. /dev/ttyUSB0 or /dev/serial/by-id/..."),
                K("baud", "\(ModbusFamily.defaultBaud)", "line speed"),
                K("parity", ModbusFamily.defaultParity.rawValue, "none, even or odd"),
                K("data_bits", "\(ModbusFamily.defaultDataBits)", "5 to 8"),
                K("stop_bits", "\(ModbusFamily.defaultStopBits)", "1 or 2"),
            ] + transaction + backoff + [
                K("rs485", "false", "the kernel's RS-485 mode (TIOCSRS485)"),
                K("rts", "none", "up or down: libmodbus drives RTS while sending"),
                K("rts_delay", "", "with rts: the delay around sending"),
            ]),
            ConfigSectionDoc("buses[] (type: modbus-tcp)", "Modbus TCP, or a TCP-to-RTU gateway.", [
                K("host", "(required)", "where the device listens"),
                K("port", "\(ModbusFamily.defaultTCPPort)", ""),
            ] + transaction + backoff),
            ConfigSectionDoc("devices[] (Modbus)", "", [
                K("unit", "RTU: (required); TCP: \(ModbusFamily.defaultTCPUnit)", "the slave id, 1 to 247"),
            ] + transaction + [
                K("max_gap", "\(ModbusDeviceOptions.defaultMaxGap)", "unused registers bridged when reads are merged"),
                K("merge", "\(ModbusDeviceOptions.defaultMerge)", "false reads every point on its own"),
            ]),
            ConfigSectionDoc("devices[].points[] (Modbus)", "", [
                K("table", "holding", "holding, input, coil or discrete"),
                K("address", "(required)", "zero-based protocol address, 0 to 65535"),
                K("bit", "", "a bool from one bit of a register, 0 to 15"),
                K("type", "uint16", "bool, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, raw"),
                K("order", "ABCD", "byte order: ABCD, CDAB, BADC, DCBA"),
                K("length", "", "registers, for string and raw"),
                K("write_function", "6 or 16 (holding), 5 or 15 (coil)", "writable: the function code the device accepts"),
            ]),
        ]
    }()
}
