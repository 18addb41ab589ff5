import FieldlinkCore
import Testing
@testable import FieldlinkSerial

/// Runs sentences (each with its line ending) through a line splitter and an NMEA parser wanting
/// every field, in chunks of `chunk` bytes; returns the outcomes and the last value per field.
private func parse(_ stream: String, chunk: Int = Int.max, fields: [NMEAField] = NMEAField.allCases)
    -> (outcomes: [ParseOutcome], values: [NMEAField: Value]) {
    var parser = FrameParser(.nmea, points: fields.map { ParserPoint(field: $0.rawValue, column: nil, type: .float) })
    var splitter = FrameSplitter(framing: .line(delimiter: [0x0A]), maxLength: 128)
    var outcomes: [ParseOutcome] = []
    var latest: [NMEAField: Value] = [:]
    let bytes = Array(stream.utf8)
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + max(1, min(chunk, bytes.count)))
        splitter.append(bytes[offset..<end])
        offset = end
        while let event = splitter.next() {
            guard case .frame(let frame) = event else {
                outcomes.append(.failed("oversized"))
                continue
            }
            var values = [Value?](repeating: nil, count: fields.count)
            outcomes.append(parser.parse(frame, into: &values))
            for (index, value) in values.enumerated() { if let value { latest[fields[index]] = value } }
        }
    }
    return (outcomes, latest)
}

/// A u-blox receiver's 1 Hz output (NMEA 4.11, GN talker for combined fixes, GP/GL for per-system
/// GSV) before it has a fix: every position field empty.
let ubloxNoFix = """
    $GNRMC,,V,,,,,,,,,,N*4D\r
    $GNVTG,,,,,,,,,N*2E\r
    $GNGGA,,,,,,0,00,99.99,,,,,,*56\r
    $GNGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99,1*33\r
    $GPGSV,1,1,00,0*65\r
    $GLGSV,1,1,00,2*7B\r
    $GNGLL,,,,,,V,N*7A\r

    """

/// The same receiver with a 3D fix.
let ubloxFix = """
    $GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A,V*33\r
    $GNVTG,77.52,T,,M,0.004,N,0.008,K,A*18\r
    $GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*46\r
    $GNGSA,A,3,10,23,15,20,,,,,,,,,1.94,1.01,1.66,1*0A\r
    $GPGSV,3,1,10,10,52,304,44,15,24,077,38,16,16,302,,18,35,146,,1*62\r
    $GLGSV,1,1,02,65,35,059,33,72,41,313,29,1*79\r
    $GNGLL,4717.11437,N,00833.91522,E,083559.00,A,A*75\r

    """

@Suite struct NMEAParserTests {
    @Test(.timeLimit(.minutes(1)), arguments: [Int.max, 1, 7, 23])
    func noFixGivesNoPosition(chunk: Int) {
        let (outcomes, values) = parse(ubloxNoFix, chunk: chunk)
        #expect(outcomes == [.parsed, .ignored, .parsed, .ignored, .ignored, .ignored, .ignored])
        #expect(values == [.fixQuality: .int(0), .satellites: .int(0)])
    }

    @Test(.timeLimit(.minutes(1))) func theParserRemembersWhetherThereIsAFix() {
        var parser = FrameParser(.nmea, points: [ParserPoint(field: "latitude", column: nil, type: .float)])
        var values: [Value?] = [nil]
        #expect(parser.missingReason == nil)
        _ = parser.parse(Array("$GNGGA,,,,,,0,00,99.99,,,,,,*56".utf8)[...], into: &values)
        #expect(parser.missingReason == "no fix (the receiver reports none)")
        _ = parser.parse(Array("$GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A,V*33".utf8)[...], into: &values)
        #expect(parser.missingReason == nil && values == [.double(47.2852395)])
    }

    @Test(.timeLimit(.minutes(1)), arguments: [Int.max, 1, 5, 64])
    func fixGivesPositionAltitudeSpeedAndTime(chunk: Int) {
        let (outcomes, values) = parse(ubloxFix, chunk: chunk)
        #expect(outcomes == [.parsed, .ignored, .parsed, .ignored, .ignored, .ignored, .ignored])
        #expect(values[.latitude] == .double(47.2852395))
        #expect(values[.longitude] == .double(8.56525367))
        #expect(values[.altitude] == .double(499.6))
        #expect(values[.satellites] == .int(8))
        #expect(values[.fixQuality] == .int(1))
        #expect(values[.hdop] == .double(1.01))
        #expect(values[.speed] == .double(0.004))
        #expect(values[.course] == .double(77.52))
        #expect(values[.time] == .string("2002-12-09T08:35:59.00Z"))
    }

    @Test(.timeLimit(.minutes(1))) func classicGPExamples() {
        let (outcomes, values) = parse("""
            $GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47
            $GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A

            """)
        #expect(outcomes == [.parsed, .parsed])
        #expect(values[.latitude] == .double(48.1173))
        #expect(values[.longitude] == .double(11.51666667))
        #expect(values[.speed] == .double(22.4))
        #expect(values[.course] == .double(84.4))
        #expect(values[.time] == .string("1994-03-23T12:35:19Z"))
    }

    @Test(.timeLimit(.minutes(1))) func southAndWestAreNegativeForGalileoAndGlonassTalkers() {
        let (outcomes, values) = parse("""
            $GAGGA,083600.00,3351.2000,S,15112.5000,W,2,11,0.8,-12.5,M,30.0,M,1.0,0000*46
            $GLRMC,083600.00,A,3351.2000,S,15112.5000,W,12.5,,251126,,,D*5B

            """)
        #expect(outcomes == [.parsed, .parsed])
        #expect(values[.latitude] == .double(-33.85333333))
        #expect(values[.longitude] == .double(-151.20833333))
        #expect(values[.altitude] == .double(-12.5))
        #expect(values[.fixQuality] == .int(2))
        #expect(values[.course] == nil)
    }

    @Test(.timeLimit(.minutes(1))) func otherTalkersAreIgnored() {
        #expect(parse("$BDGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*49\n").outcomes == [.ignored])
    }

    @Test(.timeLimit(.minutes(1))) func badChecksumPartialSentenceNoiseAndOverLongLinesAreFailures() {
        let noise = String(decoding: [0xB5, 0x62, 0x01, 0x07, 0x5C, 0x00, 0xFF], as: UTF8.self)
        let stream = "$GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*47\n"  // one digit off
            + "559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*46\n"  // the start was lost
            + "\(noise)\n"
            + "$GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,\n"  // no checksum
            + "$GNRMC,083559.00,A,4717.11437,N*ZZ\n"
            + String(repeating: "$GNGSV,", count: 40) + "\n"
            + "$GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*46\r\n"
        for chunk in [Int.max, 1, 9] {
            let (outcomes, values) = parse(stream, chunk: chunk)
            #expect(outcomes.count == 7)
            for outcome in outcomes.dropLast() {
                guard case .failed = outcome else {
                    Issue.record("expected a failure, got \(outcome)")
                    continue
                }
            }
            #expect(outcomes.last == .parsed)
            #expect(values[.latitude] == .double(47.2852395))
        }
        if case .failed(let reason) = parse(stream).outcomes[0] { #expect(reason.contains("checksum mismatch (says 47, bytes give 46)")) }
    }

    @Test(.timeLimit(.minutes(1))) func fixWithoutPositionIsAFailureNotAZero() {
        // Quality 1 but empty coordinates: a damaged sentence, not a position at 0°, 0°.
        let outcome = parse("$GNGGA,083559.00,,,,,1,08,1.01,499.6,M,48.0,M,,*7D\n").outcomes
        #expect(outcome.count == 1)
        if case .failed(let reason) = outcome[0] { #expect(reason.contains("position")) } else { Issue.record("\(outcome)") }
    }

    @Test(.timeLimit(.minutes(1))) func onlyWantedFieldsAreWritten() {
        let (_, values) = parse(ubloxFix, fields: [.satellites])
        #expect(values == [.satellites: .int(8)])
    }
}
