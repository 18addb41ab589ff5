import FieldlinkCore
import Testing

@Suite struct DurationConfigTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("5s", .seconds(5)),
        ("2m", .seconds(120)),
        ("1h", .seconds(3_600)),
        ("1d", .seconds(86_400)),
        ("1m30s", .seconds(90)),
        ("1h1m1s1ms", .milliseconds(3_661_001)),
        ("1.5s", .milliseconds(1_500)),
        ("0.1s", .milliseconds(100)),
        ("0.25ms", .microseconds(250)),
        ("0ms", .zero),
        ("  10s  ", .seconds(10)),
    ])
    func parses(text: String, expected: Duration) {
        #expect(Duration(configText: text) == expected)
    }

    @Test(arguments: ["", "   ", "5", "s", "ms", "5x", "5S", "5 s", "-5s", "+5s", "1.2.3s", ".s", "5s 3m", "1e3s", "five seconds",
                      "5sec", "1w",
                      // A unit twice or out of order is a typo, not a sum (issue 19: "1d1d" was read as 48 h).
                      "1d1d", "30s1m", "1s500ms1s", "1m1m", "10s5s",
                      // Far beyond what a Duration holds: must be rejected, not trap.
                      "9999999999999h", "3000000000h", String(repeating: "9", count: 400) + "s"])
    func rejects(text: String) {
        #expect(Duration(configText: text) == nil)
    }

    @Test(arguments: [
        (Duration.milliseconds(1_500), "1500ms"),
        (.milliseconds(250), "250ms"),
        (.seconds(30), "30s"),
        (.seconds(90), "90s"),
        (.seconds(120), "2m"),
        (.seconds(3_600), "1h"),
        (.seconds(5_400), "90m"),
        (.seconds(86_400), "24h"),
        (.zero, "0ms"),
        (.milliseconds(1), "1ms"),
    ])
    func printsTheShortestSpelling(duration: Duration, text: String) {
        #expect(duration.configText == text)
    }

    @Test(arguments: [Duration.milliseconds(1), .milliseconds(999), .seconds(1), .milliseconds(61_001), .seconds(7_200), .seconds(86_401)])
    func configTextReadsBackToTheSameDuration(duration: Duration) {
        #expect(Duration(configText: duration.configText) == duration)
    }

    @Test func wholeMillisecondsRoundDown() {
        #expect(Duration.microseconds(1_999).milliseconds == 1)
        #expect(Duration.microseconds(1_999).configText == "1ms")
        #expect(Duration.seconds(3).milliseconds == 3_000)
    }

    @Test func secondsAreFractional() {
        #expect(Duration.milliseconds(1_500).seconds == 1.5)
        #expect(Duration.milliseconds(250).seconds == 0.25)
        #expect(Duration.seconds(42).seconds == 42)
    }
}
