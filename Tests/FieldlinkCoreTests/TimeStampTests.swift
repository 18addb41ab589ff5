import FieldlinkCore
import Testing

/// "How old is this": monotonic within a boot, trusted wall time across boots, else unknown.
@Suite struct TimeStampTests {
    let now = TimeStamp(wall: 2_000_000_000_000, monotonic: 50_000, boot: 7, trusted: true)

    @Test func ageWithinABootIsMonotonic() {
        let stamp = TimeStamp(wall: 1_000, monotonic: 20_000, boot: 7, trusted: false)
        #expect(stamp.age(at: now) == .seconds(30))
    }

    @Test func ageAcrossBootsNeedsTwoTrustedWallTimes() {
        #expect(TimeStamp(wall: now.wall - 5_000, monotonic: 1, boot: 6, trusted: true).age(at: now) == .seconds(5))
        #expect(TimeStamp(wall: now.wall - 5_000, monotonic: 1, boot: 6, trusted: false).age(at: now) == nil)
        var unsynced = now
        unsynced.trusted = false
        #expect(TimeStamp.legacy(wall: 0).age(at: unsynced) == nil)
        #expect(TimeStamp.legacy(wall: now.wall + 9_000).age(at: now) == .zero, "never negative")
    }
}
