#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 timestamps with milliseconds and the zone's offset (`2026-12-02T14:05:09.125+01:00`),
/// written by hand: Foundation's date formatters link ICU's 30 MB of locale data into the binary.
public enum RFC3339 {
    /// `unixMilliseconds` shown `offsetSeconds` east of UTC; the offset is rounded to minutes.
    public static func format(unixMilliseconds: Int64, offsetSeconds: Int) -> String {
        let offsetMinutes = offsetSeconds / 60
        let local = unixMilliseconds + Int64(offsetMinutes) * 60_000
        let millis = Int(((local % 1_000) + 1_000) % 1_000)
        let seconds = (local - Int64(millis)) / 1_000
        let secondOfDay = Int(((seconds % 86_400) + 86_400) % 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: (seconds - Int64(secondOfDay)) / 86_400)
        let sign = offsetMinutes < 0 ? "-" : "+"
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
            + "T\(padded(secondOfDay / 3_600, 2)):\(padded(secondOfDay / 60 % 60, 2)):\(padded(secondOfDay % 60, 2)).\(padded(millis, 3))"
            + "\(sign)\(padded(abs(offsetMinutes) / 60, 2)):\(padded(abs(offsetMinutes) % 60, 2))"
    }

    /// The local zone's offset from UTC at that instant, in seconds (`TZ`, else /etc/localtime).
    /// Wraps `localtime_r` (its `tm_gmtoff`).
    public static func localOffset(unixSeconds: Int64) -> Int {
        var time = time_t(unixSeconds)
        var parts = tm()
        guard localtime_r(&time, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }

    /// Year, month and day of the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0)), Int(month), Int(day))
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
