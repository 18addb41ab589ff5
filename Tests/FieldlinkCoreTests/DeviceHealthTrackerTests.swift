import FieldlinkCore
import Logging
import Testing

@Suite struct DeviceHealthTrackerTests {
    let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    private func reading(_ at: Int64, values: [String] = [], errors: [(String, String)] = []) -> Reading {
        Reading(device: "d", timestamp: at, values: values.map { ($0, Value.int(1)) }, errors: errors.map { (name: $0.0, reason: $0.1) })
    }

    @Test(.timeLimit(.minutes(1))) func publishesOnlyChanges() {
        var tracker = DeviceHealthTracker(device: "d", pointCount: 2, retry: .seconds(1))
        let first = tracker.record(reading(1, values: ["a", "b"]), logger: quiet)
        #expect(first == DeviceHealth(device: "d", ok: true, since: 1, lastSuccess: 1, failedPolls: 0, error: nil))
        #expect(tracker.record(reading(2, values: ["a", "b"]), logger: quiet) == nil)
        let failing = tracker.record(reading(3, errors: [("a", "port unavailable"), ("b", "port unavailable")]), logger: quiet)
        #expect(failing == DeviceHealth(device: "d", ok: false, since: 3, lastSuccess: 2, failedPolls: 1,
                                        error: "all 2 point(s) failed: port unavailable"))
        #expect(tracker.record(reading(4, errors: [("a", "port unavailable"), ("b", "port unavailable")]), logger: quiet) == nil)
        let partial = tracker.record(reading(5, values: ["a"], errors: [("b", "no fix")]), logger: quiet)
        #expect(partial?.error == "b failed: no fix" && partial?.lastSuccess == 5 && partial?.failedPolls == 3)
        #expect(tracker.record(reading(6, values: ["a", "b"]), logger: quiet)?.ok == true)
    }
}
