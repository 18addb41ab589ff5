import FieldlinkPOSIX
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The errno helper: EINTR is retried, every other failure comes back typed with its words.
@Suite struct ErrnoTests {
    /// A call that fails with each of `failures` in turn, then returns `result`.
    final class Script {
        var failures: [Int32]
        var calls = 0
        init(_ failures: [Int32]) { self.failures = failures }
        func call(_ result: Int32 = 7) -> Int32 {
            calls += 1
            guard !failures.isEmpty else { return result }
            Glibc.errno = failures.removeFirst()
            return -1
        }
    }

    @Test func interruptedCallsAreRetried() throws {
        let script = Script([EINTR, EINTR])
        #expect(try valueOrErrno { script.call() } == 7)
        #expect(script.calls == 3)
    }

    @Test func anotherFailureIsThrownWithItsErrno() {
        let script = Script([EINTR, ENOENT])
        #expect(throws: Errno(ENOENT)) { try valueOrErrno { script.call() } }
        #expect(script.calls == 2)
        #expect(Errno(ENOENT).text == "No such file or directory")
    }

    @Test func withoutRetryAnInterruptIsAFailure() {
        let script = Script([EINTR])
        #expect(throws: Errno.interrupted) { try nothingOrErrno(retryOnInterrupt: false) { script.call() } }
        #expect(script.calls == 1)
    }

    @Test func negatedErrnoIsReadFromTheResult() throws {
        var results: [Int32] = [-EINTR, -EPIPE, 3]
        #expect(throws: Errno(EPIPE)) { try valueOrNegatedErrno { results.removeFirst() } }
        #expect(try valueOrNegatedErrno { results.removeFirst() } == 3)
    }

    @Test func aRealCallNamesItsFailure() {
        #expect(throws: Errno(ENOENT)) { try valueOrErrno { open("/nonexistent/fieldlink", O_RDONLY) } }
    }
}
