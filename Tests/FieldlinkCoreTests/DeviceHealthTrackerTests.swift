import FieldlinkCore
import Foundation
import BusTestSupport
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

    /// A stream device dropping frames and a Modbus device whose exception code rotates: one log
    /// line and one health when the failure starts, none while only its count or code changes, one
    /// when it stops; the latest detail is in what is published.
    @Test func aChangingCountOrCodeIsNotANewState() {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in lines }
        var tracker = DeviceHealthTracker(device: "d", pointCount: 1, retry: .seconds(1))
        #expect(tracker.record(reading(1, values: ["a"]), logger: logger)?.ok == true)
        let started = tracker.record(reading(2, errors: [("a", "3 frame(s) dropped, e.g. \"x,1\"")]), logger: logger)
        #expect(started?.error == "all 1 point(s) failed: 3 frame(s) dropped, e.g. \"x,1\"")
        for count in 4...40 {
            #expect(tracker.record(reading(Int64(count), errors: [("a", "\(count) frame(s) dropped, e.g. \"y\(count)\"")]), logger: logger) == nil)
        }
        // Another kind of failure is a new state.
        let exception = tracker.record(reading(50, errors: [("a", "Modbus exception 2 (illegal data address)")]), logger: logger)
        #expect(exception?.error == "all 1 point(s) failed: Modbus exception 2 (illegal data address)")
        for code in [3, 4, 6, 2, 3] {
            #expect(tracker.record(reading(60 + Int64(code), errors: [("a", "Modbus exception \(code) (some name)")]), logger: logger) == nil)
        }
        #expect(tracker.record(reading(70, values: ["a"]), logger: logger)?.ok == true)
        #expect(lines.count == 4, "\(lines.all)")
    }
}
