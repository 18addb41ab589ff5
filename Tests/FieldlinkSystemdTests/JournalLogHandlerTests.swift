import FieldlinkSystemd
import Logging
import Testing

@Suite("JournalLogHandler")
struct JournalLogHandlerTests {
    @Test("metadata keys become journal field names journald accepts",
          arguments: [("device", "DEVICE"), ("bus", "BUS"), ("point", "POINT"), ("topic", "TOPIC"), ("errno", "ERRNO"),
                      ("modbus_exception", "MODBUS_EXCEPTION"), ("broker-url", "BROKER_URL"), ("_secret", "SECRET"),
                      ("1st", "META_1ST"), ("message", "META_MESSAGE"), ("priority", "META_PRIORITY"), ("größe", "GR_SSE"),
                      ("", "META_")])
    func fieldName(key: String, expected: String) {
        #expect(JournalLogHandler.fieldName(key) == expected)
    }

    @Test("field names are at most 64 characters")
    func longName() {
        #expect(JournalLogHandler.fieldName(String(repeating: "a", count: 100)).count == 64)
    }

    @Test("an entry carries MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the merged metadata")
    func fields() {
        var handler = JournalLogHandler(label: "test", level: .info)
        handler[metadataKey: "bus"] = "rs485"
        let event = LogEvent(level: .warning, message: "no response", metadata: ["device": "meter1"], source: "test",
                             file: "File.swift", function: "f()", line: 7)
        let fields = Dictionary(handler.fields(for: event).map { ($0.name, $0.value) }) { first, _ in first }
        #expect(fields["MESSAGE"] == "no response")
        #expect(fields["PRIORITY"] == "4")
        #expect(fields["SYSLOG_IDENTIFIER"] == "fieldlink")
        #expect(fields["DEVICE"] == "meter1")
        #expect(fields["BUS"] == "rs485")
        #expect(fields["CODE_LINE"] == "7")
    }
}
