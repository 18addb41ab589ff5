@testable import FieldlinkCore
import Foundation
import Testing

/// The hand-written RFC 3339 formatter, checked against known instants and against Foundation's
/// calendar (which the test binary may link; the daemon does not).
@Suite struct RFC3339Tests {
    @Test(arguments: [
        (Int64(1_796_220_309_125), 0, "2026-12-02T14:05:09.125+00:00"),
        (1_796_220_309_125, 19_800, "2026-12-02T19:35:09.125+05:30"),
        (1_796_220_309_125, -12_600, "2026-12-02T10:35:09.125-03:30"),
        (1_796_220_309_001, 3_600, "2026-12-02T15:05:09.001+01:00"),
        (0, 0, "1970-01-01T00:00:00.000+00:00"),
        (0, -3_600, "1969-12-31T23:00:00.000-01:00"),
        (-1, 0, "1969-12-31T23:59:59.999+00:00"),
        (951_782_400_000, 0, "2000-02-29T00:00:00.000+00:00"),
        (4_107_542_399_999, 50_400, "2100-03-01T13:59:59.999+14:00"),
        (1_709_251_199_500, 0, "2024-02-29T23:59:59.500+00:00"),
        (253_402_300_799_999, 0, "9999-12-31T23:59:59.999+00:00"),
        (1_796_220_309_125, 45 * 60 + 20, "2026-12-02T14:50:09.125+00:45"),
    ])
    func formatsTheInstantAtTheOffset(milliseconds: Int64, offset: Int, expected: String) {
        #expect(RFC3339.format(unixMilliseconds: milliseconds, offsetSeconds: offset) == expected)
    }

    /// Every day from 1900 to 2100 agrees with the Gregorian calendar.
    @Test func civilDatesAgreeWithTheGregorianCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(secondsFromGMT: 0))
        for day in Int64(-25_567)...Int64(47_482) {
            let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(day) * 86_400))
            let civil = RFC3339.civilDate(daysSinceEpoch: day)
            guard civil.year == parts.year, civil.month == parts.month, civil.day == parts.day else {
                Issue.record("day \(day): \(civil) vs \(parts)")
                return
            }
        }
    }

    /// The local offset comes from the C library's zone data (TZ, /etc/localtime), as Foundation's
    /// does; the environment is not changed here, since the tests run in parallel threads.
    @Test func theLocalOffsetIsTheSystemZones() {
        for seconds in [Int64(1_796_220_309), 1_783_000_000, 0] {
            #expect(RFC3339.localOffset(unixSeconds: seconds) == TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
        }
    }
}
