import FieldlinkCore
import Testing

@testable import FieldlinkPayload

@Suite struct CBORPayloadEncoderTests {
    let encoder = CBORPayloadEncoder()

    /// Bytes worked out by hand from RFC 8949 (and checked against the examples in its appendix A).
    @Test func aSmallReadingEncodesToTheExpectedBytes() {
        let reading = Reading(device: "m", timestamp: 1_000, sequence: 42, values: [("v", .double(1.5)), ("n", .int(-500))], errors: [])
        #expect(encoder.encode(reading) == [
            0xA4,                    // map(4)
            0x00, 0x61, 0x6D,        // 0: "m"
            0x01, 0x19, 0x03, 0xE8,  // 1: 1000
            0x02, 0x18, 0x2A,        // 2: 42
            0x03, 0xA2,              // 3: map(2)
            0x61, 0x76, 0xF9, 0x3E, 0x00,  // "v": 1.5 as a half
            0x61, 0x6E, 0x39, 0x01, 0xF3,  // "n": -500 = -1 - 499
        ])
    }

    @Test(arguments: [
        (1.0, [0xF9, 0x3C, 0x00]),                  // RFC 8949 A: 1.0 -> f93c00
        (100_000.0, [0xFA, 0x47, 0xC3, 0x50, 0x00]),  // -> fa47c35000
        (1.1, [0xFB, 0x3F, 0xF1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A]),  // -> fb3ff199999999999a
        (-4.1, [0xFB, 0xC0, 0x10, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66]), // -> fbc010666666666666
    ] as [(Double, [UInt8])])
    func floatsUseTheSmallestExactWidth(value: Double, bytes: [UInt8]) {
        var out = [UInt8]()
        CBORPayloadEncoder.appendValue(.double(value), to: &out)
        #expect(out == bytes)
    }

    @Test(arguments: [
        (Value.uint(0), [0x00]), (.uint(23), [0x17]), (.uint(24), [0x18, 0x18]), (.uint(1_000_000), [0x1A, 0x00, 0x0F, 0x42, 0x40]),
        (.uint(UInt64.max), [0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        (.int(-1), [0x20]), (.int(-1_000), [0x39, 0x03, 0xE7]), (.int(Int64.min), [0x3B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        (.bool(true), [0xF5]), (.bool(false), [0xF4]), (.string("ü"), [0x62, 0xC3, 0xBC]),
    ] as [(Value, [UInt8])])
    func scalarsMatchTheRFCExamples(value: Value, bytes: [UInt8]) {
        var out = [UInt8]()
        CBORPayloadEncoder.appendValue(value, to: &out)
        #expect(out == bytes)
    }

    @Test func errorsAreAFifthKeyOnlyWhenThereAreErrors() {
        let failing = Reading(device: "m", timestamp: 1, sequence: 1, values: [("a", .uint(1))], errors: [("b", "timeout")])
        let bytes = encoder.encode(failing)
        #expect(bytes.first == 0xA5)
        #expect(bytes.suffix(12) == [0x04, 0xA1, 0x61, 0x62, 0x67] + Array("timeout".utf8))
        #expect(encoder.encode(Reading(device: "m", timestamp: 1, sequence: 1, values: [("a", .uint(1))], errors: [])).first == 0xA4)
    }

    @Test func itIsSmallerThanTheJSON() {
        let reading = Reading(device: "meter1", timestamp: 1_764_071_234_567, sequence: 42_000,
                              values: [("voltage", .double(230.5)), ("current", .double(4.25)), ("energy", .uint(1_234_567)), ("relay", .bool(true))],
                              errors: [])
        let cbor = encoder.encode(reading).count, json = JSONPayloadEncoder().encode(reading).count
        #expect(cbor * 10 < json * 7, "CBOR \(cbor) B vs JSON \(json) B")
    }
}

@Suite struct BatchEncodingTests {
    @Test func jsonBatchesAreArraysOfTheSingleMessages() throws {
        let readings = (1...3).map { Reading(device: "m", timestamp: Int64($0), sequence: UInt64($0), values: [("x", .uint(UInt64($0)))], errors: []) }
        let json = JSONPayloadEncoder()
        let text = String(decoding: json.encode(batch: readings), as: UTF8.self)
        #expect(text == "[" + readings.map { String(decoding: json.encode($0), as: UTF8.self) }.joined(separator: ",") + "]")
    }

    /// Worked out by hand from the table layout in `CBORPayloadEncoder.encode(batch:)`.
    @Test func cborBatchesAreTablesWithDecimalColumns() {
        let readings = [
            Reading(device: "m", timestamp: 1_000, sequence: 7, values: [("v", .double(230.1)), ("on", .bool(true))], errors: []),
            Reading(device: "m", timestamp: 2_000, sequence: 8, values: [("v", .double(229.95))], errors: [("on", "timeout")]),
        ]
        #expect(CBORPayloadEncoder().encode(batch: readings) == [
            0xA6,                                      // map(6)
            0x00, 0x61, 0x6D,                          // 0: "m"
            0x01, 0x19, 0x03, 0xE8,                    // 1: ts 1000
            0x02, 0x07,                                // 2: seq 7
            0x05, 0x82, 0x61, 0x76, 0x62, 0x6F, 0x6E,  // 5: ["v", "on"]
            0x06, 0x82, 0x21, 0xF6,                    // 6: [-2, null] (230.1 and 229.95 in hundredths; "on" as is)
            0x07, 0x82,                                // 7: two rows
            0x84, 0x00, 0x00, 0x19, 0x59, 0xE2, 0xF5,  //   [0, 0, 23010, true]
            0x85, 0x19, 0x03, 0xE8, 0x01, 0x19, 0x59, 0xD3, 0xF6,  // [1000, 1, 22995, null,
            0xA1, 0x01, 0x67, 0x74, 0x69, 0x6D, 0x65, 0x6F, 0x75, 0x74,  //  {1: "timeout"}]
        ])
    }

    @Test func devicesSharingATopicGetOneTableEach() {
        let a = Reading(device: "a", timestamp: 1, sequence: 1, values: [("x", .uint(1))], errors: [])
        let b = Reading(device: "b", timestamp: 2, sequence: 9, values: [("y", .uint(2))], errors: [])
        let encoder = CBORPayloadEncoder()
        let bytes = encoder.encode(batch: [a, b, a])
        #expect(bytes.first == 0x82)  // array(2): a's table, then b's
        #expect(Array(bytes.dropFirst()) == encoder.encode(batch: [a, a]) + encoder.encode(batch: [b]))
    }

    @Test(arguments: [
        (230.1, 2301, -1), (5.0, 5, 0), (1e-05, 1, -5), (1.5e-05, 15, -6), (-0.25, -25, -2), (1234567.0, 1234567, 0), (1e+20, 1, 20),
    ] as [(Double, Int64, Int)])
    func decimalsAreTheShortestDigits(value: Double, significand: Int64, exponent: Int) {
        let decimal = Decimal64(value)
        #expect(decimal?.significand == significand && decimal?.exponent == exponent, "\(String(describing: decimal))")
    }

    @Test func valuesWithoutAShortDecimalStayFloats() {
        #expect(Decimal64(0.1 + 0.2) == nil)  // 0.30000000000000004: 17 digits
        #expect(Decimal64(.nan) == nil)
        let readings = [Reading(device: "m", timestamp: 0, sequence: 1, values: [("x", .double(0.1 + 0.2))], errors: [])]
        let bytes = CBORPayloadEncoder().encode(batch: readings)
        #expect(bytes.contains(0xFB) && bytes.contains(0xF6), "a double cell and a null exponent")
    }
}
