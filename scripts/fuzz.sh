#!/usr/bin/env bash
# make fuzz [FUZZ_SECONDS=N] [FUZZ_RUNS=M] [FUZZ_TARGETS="config nmea ..."]: builds the libFuzzer
# harnesses (fuzz/Harness, -sanitize=fuzzer,address) and runs each for N seconds from its seed corpus
# (fuzz/corpus/<harness>, copied to a scratch folder so the repository's seeds stay as they are).
# With FUZZ_RUNS each harness stops after M executions, or after N seconds if that comes first (a long
# run: FUZZ_RUNS=10000000 FUZZ_SECONDS=<cap>; the result column says which limit ended it).
# Prints each harness's executions, coverage (cov: edges, ft: features) and corpus; fails on any crash,
# leak or timeout, leaving the input that found it in fuzz/findings/ (turn it into a regression test,
# then delete it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-10}
runs_limit=${FUZZ_RUNS:-}
[[ -z $runs_limit || $runs_limit =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_RUNS must be a number of executions, not '$runs_limit'" >&2; exit 2; }
targets=${FUZZ_TARGETS:-"config nmea regex keyvalue csv framing ring modbus i2c payload sparkplug command"}
build=.build-fuzz
SWIFT=${SWIFT:-swift}

# libFuzzer's and ASan's runtimes ship with the toolchain; ld.gold cannot link them with Swift's
# debug info (an internal error), so lld (also shipped with it) links.
$SWIFT build --product fieldlink-fuzz --build-path "$build" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
    -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld >"$build.log" 2>&1 || { cat "$build.log" >&2; echo "fuzz: build failed" >&2; exit 1; }
# FUZZ_BUILD_ONLY=1: only the build (scripts/test-all.sh builds while the QEMU guest runs).
[[ -z ${FUZZ_BUILD_ONLY:-} ]] || exit 0
binary="$build/debug/fieldlink-fuzz"
# The toolchain Regex's one-time compile cycle is not a finding (fuzz/lsan.supp says why).
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p fuzz/findings
failed=0
printf '%-10s %12s %10s %8s %8s %8s  %s\n' harness executions exec/s cov ft corpus result
for target in $targets; do
    [[ -d fuzz/corpus/$target ]] || { echo "fuzz: no seed corpus fuzz/corpus/$target" >&2; exit 1; }
    mkdir -p "$scratch/$target"
    cp fuzz/corpus/"$target"/* "$scratch/$target/"
    log="$scratch/$target.log"
    set +e
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds a runaway allocation.
    FUZZ_TARGET=$target timeout $((seconds + 120)) "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        ${runs_limit:+-runs="$runs_limit"} -print_final_stats=1 -artifact_prefix="fuzz/findings/$target-" "$scratch/$target" >"$log" 2>&1
    status=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    features=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(ls "$scratch/$target" | wc -l)
    result=ok
    if [[ -n $runs_limit ]]; then
        if [[ ${runs:-0} -ge $runs_limit ]]; then result="ok (reached $runs_limit runs)"; else result="ok (time cap ${seconds}s)"; fi
    fi
    if [[ $status -ne 0 ]]; then
        result="FAILED (exit $status): $(grep -m1 -E 'ERROR|Fatal error|==[0-9]+==' "$log" || tail -1 "$log")"
        failed=1
        tail -40 "$log" >&2
    fi
    printf '%-10s %12s %10s %8s %8s %8s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "${coverage:-?}" "${features:-?}" "$corpus" "$result"
done
rmdir fuzz/findings 2>/dev/null || true
if [[ $failed -ne 0 ]]; then
    echo "fuzz: a harness failed; its input is in fuzz/findings/" >&2
    exit 1
fi
if [[ -n $runs_limit ]]; then
    echo "fuzz: every harness ran up to $runs_limit executions (cap ${seconds}s) without a crash, leak or timeout"
else
    echo "fuzz: every harness ran ${seconds}s without a crash, leak or timeout"
fi
