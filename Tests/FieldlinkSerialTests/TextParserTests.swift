import FieldlinkCore
import Testing
@testable import FieldlinkSerial

private func run(_ settings: ParserSettings, _ points: [ParserPoint], _ line: String) -> (ParseOutcome, [Value?]) {
    var parser = FrameParser(settings, points: points)
    var values = [Value?](repeating: nil, count: points.count)
    let outcome = parser.parse(Array(line.utf8)[...], into: &values)
    return (outcome, values)
}

@Suite struct RegexParserTests {
    let pattern = #"T:\s*(?<temperature>-?\d+\.\d+)\s*C(\s+RH:\s*(?<humidity>\d+)%)?\s+(?<status>\w+)"#

    @Test(.timeLimit(.minutes(1))) func namedGroupsBecomeTypedPoints() {
        let points = [ParserPoint(field: "temperature", column: nil, type: .float), ParserPoint(field: "humidity", column: nil, type: .int),
                      ParserPoint(field: "status", column: nil, type: .string)]
        let (outcome, values) = run(.regex(pattern: pattern), points, "T: -3.25 C RH: 41% OK\r")
        #expect(outcome == .parsed)
        #expect(values == [.double(-3.25), .int(41), .string("OK")])
    }

    @Test(.timeLimit(.minutes(1))) func optionalGroupThatDidNotTakePartLeavesItsPointEmpty() {
        let points = [ParserPoint(field: "temperature", column: nil, type: .float), ParserPoint(field: "humidity", column: nil, type: .int)]
        let (outcome, values) = run(.regex(pattern: pattern), points, "T: 21.50 C OK")
        #expect(outcome == .parsed)
        #expect(values == [.double(21.5), nil])
    }

    @Test(.timeLimit(.minutes(1))) func noMatchAndWrongTypeFail() {
        let points = [ParserPoint(field: "status", column: nil, type: .int)]
        guard case .failed(let reason) = run(.regex(pattern: pattern), points, "garbage").0 else { Issue.record("expected a failure"); return }
        #expect(reason.contains("does not match"))
        guard case .failed(let typed) = run(.regex(pattern: pattern), points, "T: 1.0 C OK").0 else { Issue.record("expected a failure"); return }
        #expect(typed.contains("not an integer"))
    }

    @Test(.timeLimit(.minutes(1))) func groupNamesAreFoundInEverySpelling() {
        #expect(RegexParser.groupNames(in: #"(?<a>\d)(?P<b_2>x)(?'c'y)(?:z)(?=w)(?<!q)"#) == ["a", "b_2", "c"])
    }
}

@Suite struct KeyValueParserTests {
    let points = [ParserPoint(field: "T", column: nil, type: .float), ParserPoint(field: "H", column: nil, type: .int)]

    @Test(.timeLimit(.minutes(1))) func whitespaceSeparatedPairs() {
        let (outcome, values) = run(.keyValue(separator: nil, assign: [0x3D]), points, "T=21.5  H=40\tP=1013\r")
        #expect(outcome == .parsed)
        #expect(values == [.double(21.5), .int(40)])
    }

    @Test(.timeLimit(.minutes(1))) func configuredSeparators() {
        let (outcome, values) = run(.keyValue(separator: Array(";".utf8), assign: Array(": ".utf8)), points, "H: 38; T: -0.5;")
        #expect(outcome == .parsed)
        #expect(values == [.double(-0.5), .int(38)])
    }

    @Test(.timeLimit(.minutes(1))) func missingKeysLeaveSlotsEmptyAndBadTokensFail() {
        #expect(run(.keyValue(separator: nil, assign: [0x3D]), points, "T=1").1 == [.double(1), nil])
        guard case .failed(let reason) = run(.keyValue(separator: nil, assign: [0x3D]), points, "T=1 booting").0 else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.contains("\"booting\" is not key=value"))
        guard case .failed = run(.keyValue(separator: nil, assign: [0x3D]), points, "T=warm").0 else { Issue.record("expected a failure"); return }
    }
}

@Suite struct CSVParserTests {
    let points = [ParserPoint(field: nil, column: 2, type: .float), ParserPoint(field: nil, column: 0, type: .string),
                  ParserPoint(field: nil, column: 3, type: .bool)]

    @Test(.timeLimit(.minutes(1))) func columnsByIndex() {
        let (outcome, values) = run(.csv(separator: [0x2C]), points, "\"pm\", 7, 12.25 ,1\r")
        #expect(outcome == .parsed)
        #expect(values == [.double(12.25), .string("pm"), .bool(true)])
    }

    @Test(.timeLimit(.minutes(1))) func tooFewColumnsOrBadNumberFails() {
        guard case .failed(let reason) = run(.csv(separator: [0x2C]), points, "pm,7").0 else { Issue.record("expected a failure"); return }
        #expect(reason.contains("2 column(s), column 2 wanted"))
        guard case .failed = run(.csv(separator: [0x3B]), points, "pm;7;x;0").0 else { Issue.record("expected a failure"); return }
    }
}

@Suite struct DecimalTextTests {
    @Test(.timeLimit(.minutes(1)), arguments: ["0", "-0.5", "21.5", "48.1173", "1013.25", ".5", "+7", "123456789012.125", "1e3", "99999999999999999999.5"])
    func parsesAsTheLiteralDoes(text: String) {
        #expect(DecimalText.double(Array(text.utf8)[...]) == Double(text))
    }

    @Test(.timeLimit(.minutes(1)), arguments: ["", "-", ".", "1.2.3", "12a", "nan", "inf"])
    func rejectsWhatIsNotANumber(text: String) {
        #expect(DecimalText.double(Array(text.utf8)[...]) == nil)
    }
}
