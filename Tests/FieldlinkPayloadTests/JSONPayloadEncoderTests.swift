import FieldlinkCore
import FieldlinkPayload
import Foundation
import Testing

@Suite struct JSONPayloadEncoderTests {
    let encoder = JSONPayloadEncoder()

    func text(_ reading: Reading) -> String {
        String(decoding: encoder.encode(reading), as: UTF8.self)
    }

    func object(_ reading: Reading) throws -> [String: Any] {
        let decoded = try JSONSerialization.jsonObject(with: Data(encoder.encode(reading)))
        return try #require(decoded as? [String: Any])
    }

    @Test func exactBytesOfAKnownReading() {
        let reading = Reading(device: "meter1", timestamp: 1_764_071_234_567, sequence: 42,
                              values: [("voltage", .double(230.1)), ("power", .int(-1_250)), ("energy", .uint(987_654)),
                                       ("relay", .bool(true)), ("mode", .string("auto"))],
                              errors: [("current", "Modbus exception 2 (illegal data address)")])
        let expected = #"{"device":"meter1","ts":1764071234567,"seq":42,"values":{"voltage":230.1,"power":-1250,"#
            + #""energy":987654,"relay":true,"mode":"auto"},"errors":{"current":"Modbus exception 2 (illegal data address)"}}"#
        #expect(encoder.encode(reading) == Array(expected.utf8))
        #expect(encoder.contentType == "application/json")
    }

    @Test func errorsAppearOnlyWhenThereAreErrors() throws {
        let reading = Reading(device: "d", timestamp: 0, sequence: 1, values: [("a", .int(1))], errors: [])
        #expect(text(reading) == #"{"device":"d","ts":0,"seq":1,"values":{"a":1}}"#)
        #expect(try object(reading)["errors"] == nil)
    }

    @Test func keysComeInFixedOrder() {
        let line = text(Reading(device: "d", timestamp: 5, sequence: 6, values: [("v", .bool(false))], errors: [("e", "x")]))
        let positions = [#""device":"#, #""ts":"#, #""seq":"#, #""values":"#, #""errors":"#].map {
            line.range(of: $0).map { line.distance(from: line.startIndex, to: $0.lowerBound) } ?? -1
        }
        #expect(!positions.contains(-1))
        #expect(positions == positions.sorted())
    }

    @Test func valuesKeepTheirPointOrder() {
        let names = ["z", "a", "m", "b"]
        let line = text(Reading(device: "d", timestamp: 0, values: names.map { ($0, Value.int(0)) }, errors: []))
        #expect(line.contains(#""values":{"z":0,"a":0,"m":0,"b":0}"#))
    }

    @Test func everyValueDecodesBackExactly() throws {
        let doubles: [Double] = [230.1, 0.1 + 0.2, -0.000123, 1e21, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 49.99, 3, -0.0]
        let reading = Reading(
            device: "meter1", timestamp: 1_764_071_234_567, sequence: UInt64.max,
            values: [("i", .int(Int64.min)), ("imax", .int(Int64.max)), ("u", .uint(UInt64.max)), ("t", .bool(true)),
                     ("f", .bool(false))] + doubles.enumerated().map { ("d\($0.offset)", .double($0.element)) },
            errors: [])
        let json = try object(reading)
        #expect(json["device"] as? String == "meter1")
        #expect((json["ts"] as? NSNumber)?.int64Value == 1_764_071_234_567)
        #expect((json["seq"] as? NSNumber)?.uint64Value == UInt64.max)
        let values = try #require(json["values"] as? [String: Any])
        #expect((values["i"] as? NSNumber)?.int64Value == Int64.min)
        #expect((values["imax"] as? NSNumber)?.int64Value == Int64.max)
        #expect((values["u"] as? NSNumber)?.uint64Value == UInt64.max)
        #expect(values["t"] as? Bool == true)
        #expect(values["f"] as? Bool == false)
        // Doubles through JSONDecoder: corelibs' JSONSerialization rounds some (0.30000000000000004) on its own.
        struct Doubles: Decodable { var values: [String: Double] }
        let onlyDoubles = Reading(device: "d", timestamp: 0, values: doubles.enumerated().map { ("d\($0.offset)", .double($0.element)) },
                                  errors: [])
        let decoded = try JSONDecoder().decode(Doubles.self, from: Data(encoder.encode(onlyDoubles))).values
        for (index, double) in doubles.enumerated() {
            #expect(decoded["d\(index)"] == double, "value \(double)")
            #expect(decoded["d\(index)"]?.sign == double.sign)
        }
        #expect(values.count == 5 + doubles.count)
    }

    @Test func doublesUseTheShortestRoundTripText() {
        let line = text(Reading(device: "d", timestamp: 0, values: [("a", .double(230.1)), ("b", .double(0.1 + 0.2)), ("c", .double(3))],
                                errors: []))
        #expect(line.contains(#""values":{"a":230.1,"b":0.30000000000000004,"c":3.0}"#))
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteDoublesBecomeNull(value: Double) throws {
        let reading = Reading(device: "d", timestamp: 0, values: [("x", .double(value))], errors: [])
        #expect(text(reading).contains(#""values":{"x":null}"#))
        let values = try #require(try object(reading)["values"] as? [String: Any])
        #expect(values["x"] is NSNull)
    }

    static let awkwardStrings = [
        #"say "hi""#, #"C:\path\to"#, "line1\nline2", "cr\rtab\t", "bell\u{07}nul\u{00}esc\u{1B}us\u{1F}", "del\u{7F}",
        "zähler °C", "温度", "emoji 🔌", "\u{2028}separator", "", "\"\\\"",
    ]

    @Test(arguments: awkwardStrings)
    func stringsRoundTripThroughAnyJSONParser(string: String) throws {
        let reading = Reading(device: string, timestamp: 0, values: [(string, .string(string))], errors: [(string + "!", string)])
        let json = try object(reading)
        #expect(json["device"] as? String == string)
        #expect((json["values"] as? [String: Any])?[string] as? String == string)
        #expect((json["errors"] as? [String: Any])?[string + "!"] as? String == string)
    }

    @Test func controlCharactersAreEscapedAsRFC8259Says() {
        let line = text(Reading(device: "q\"b\\n\nr\rt\tx\u{01}y\u{1F}", timestamp: 0, values: [], errors: []))
        #expect(line.hasPrefix(#"{"device":"q\"b\\n\nr\rt\tx\u0001y\u001f","#))
        // Nothing below 0x20 is left raw.
        #expect(!encoder.encode(Reading(device: "\u{00}\u{1F}\n", timestamp: 0, values: [], errors: [])).contains { $0 < 0x20 })
    }

    @Test func nonASCIIIsPassedThroughAsUTF8() {
        let bytes = encoder.encode(Reading(device: "zähler", timestamp: 0, values: [], errors: []))
        #expect(bytes.starts(with: Array(#"{"device":"zähler""#.utf8)))
    }

    @Test func emptyReadingIsStillAnObject() {
        #expect(text(Reading(device: "d", timestamp: -1, values: [], errors: [])) == #"{"device":"d","ts":-1,"seq":0,"values":{}}"#)
    }
}

@Suite struct DeviceHealthJSONTests {
    @Test func plainHealthHasNoDriverCounters() {
        let health = DeviceHealth(device: "m", ok: true, since: 5, lastSuccess: nil, failedPolls: 0, error: nil)
        #expect(String(decoding: JSONPayloadEncoder().encode(health: health), as: UTF8.self)
            == #"{"device":"m","state":"ok","since":5,"last_success":null,"failed_polls":0}"#)
    }

    @Test func driverCountersFollowWhenSet() {
        var health = DeviceHealth(device: "m", ok: false, since: 5, lastSuccess: 4, failedPolls: 3, error: "no response (timeout)")
        health.consecutiveFailures = 3
        health.timeouts = 7
        health.crcErrors = 1
        health.exceptionCode = 2
        health.backedOffSince = 9_000
        #expect(String(decoding: JSONPayloadEncoder().encode(health: health), as: UTF8.self)
            == #"{"device":"m","state":"failing","since":5,"last_success":4,"failed_polls":3,"error":"no response (timeout)","consecutive_failures":3,"timeouts":7,"crc_errors":1,"exception":2,"backed_off_since":9000}"#)
    }
}
