import FieldlinkCore

// fieldlink.yaml(5): the serial text keys, beside the family that reads them (README: "Serial text sensors").
extension SerialFamily {
    public static let reference: [ConfigSectionDoc] = {
        typealias K = ConfigKeyDoc
        return [
            ConfigSectionDoc("buses[] (type: serial)", "A serial line with text or framed devices.", [
                K("port", "(required)", "the tty"),
                K("baud", "9600", "any termios speed"),
                K("parity", "none", "none, even or odd"),
                K("data_bits", "8", "5 to 8"),
                K("stop_bits", "1", "1 or 2"),
                K("flow", "none", "none, rtscts or xonxoff"),
                K("exclusive", "true", "TIOCEXCL"),
                K("rs485", "false", "the kernel's RS-485 mode: true, or {rts_on_send, delay_before_send, delay_after_send}"),
                K("mode", SerialBusOptions.defaultMode.rawValue, "stream (the device talks on its own) or poll (request and reply)"),
                K("max_frame", "4KiB", "a longer frame is dropped whole"),
                K("framing", "line", "line, fixed or start-end"),
                K("delimiter", "\"\\n\"", "line framing: the end of a line"),
                K("length", "", "fixed framing: bytes per frame"),
                K("start", "", "start-end framing: the start marker"),
                K("end", "", "start-end framing: the end marker"),
            ]),
            ConfigSectionDoc("devices[] (serial)", "", [
                K("parser", "(required)", "nmea, regex, keyvalue or csv"),
                K("pattern", "", "regex: named groups become points"),
                K("separator", "space / ,", "keyvalue: between pairs; csv: between columns"),
                K("assign", "=", "keyvalue: between key and value"),
                K("request", "", "poll mode: the bytes sent"),
                K("timeout", SerialDeviceOptions.defaultTimeout.configText, "poll mode: how long to wait for the reply"),
                K("aggregate", SerialDeviceOptions.defaultAggregate.rawValue, "stream mode: last, avg, min, max or none per interval"),
                K("commands", "", "poll mode, write-back: named request templates, {name: {send: \"SET {value}\\r\", expect: REGEX}}"),
            ]),
            ConfigSectionDoc("devices[].points[] (serial)", "", [
                K("field", "the point's name", "the NMEA field, regex group or key"),
                K("column", "", "csv: the column, 0-based"),
                K("type", "float", SerialValueType.allCases.map(\.rawValue).joined(separator: ", ")),
                K("command", "", "writable: the device's command that writes this point"),
            ]),
        ]
    }()
}
