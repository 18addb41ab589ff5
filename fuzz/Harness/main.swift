// fieldlink-fuzz: libFuzzer harnesses for every parser of outside input (`make fuzz`).
//
//   FUZZ_TARGET=<harness> fieldlink-fuzz [libFuzzer flags] [corpus dirs]
//
// Built by `make fuzz` with `-sanitize=fuzzer,address -DFUZZING`; an ordinary build gets a stub that
// says how to build it. Each harness feeds the bytes to one parser and checks what must hold (no
// trap, round trips), so a crash, a leak or a timeout is a finding.

#if FUZZING
import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// libFuzzer's own entry point, which its driver links against; the driver is started below with
/// the same function.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    Harnesses.selected?(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

let harnessName = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
guard let selected = Harnesses.all[harnessName] else {
    FileHandle.standardError.write(Data("FUZZ_TARGET must be one of: \(Harnesses.all.keys.sorted().joined(separator: ", "))\n".utf8))
    exit(2)
}
Harnesses.selected = selected
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
#else
print("fieldlink-fuzz: build it with `make fuzz` (libFuzzer and AddressSanitizer); this build has no fuzzer")
#endif
