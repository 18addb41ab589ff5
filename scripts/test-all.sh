#!/usr/bin/env bash
# The whole test suite: what `make test` runs and CI calls (after `scripts/install-deps.sh test`).
#   1. the debug build with the tests, then every Swift test, one at a time;
#   2. the release package under a real systemd 252 in QEMU (scripts/test-systemd.sh);
#   3. every libFuzzer harness for a few seconds from its seeds (scripts/fuzz.sh).
# On a 2-core machine the three compiles (debug, release, fuzz) are most of the time, so the release
# build runs at the lowest priority while the Swift tests run (they mostly wait on real processes),
# and the fuzz build while the QEMU guest runs; each later step finds its build done. The release
# build has its own scratch path, because `swift test` holds .build's lock.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
release_scratch=.build-release

background=""
cleanup() {
    if [[ -n $background ]] && kill -0 "$background" 2>/dev/null; then
        kill "$background" 2>/dev/null || true
        wait "$background" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in_background LOG COMMAND...: COMMAND at nice 19, its output in LOG; `finish_background` waits.
in_background() {
    local log=$1
    shift
    nice -n 19 "$@" >"$log" 2>&1 &
    background=$!
    background_log=$log
}
finish_background() {
    local status=0
    wait "$background" || status=$?
    background=""
    if ((status != 0)); then
        cat "$background_log" >&2
        echo "test: the background build failed (exit $status); its output is above" >&2
        exit 1
    fi
}

"$SWIFT" build --build-tests
in_background "$release_scratch.log" "$SWIFT" build -c release --static-swift-stdlib --scratch-path "$release_scratch" --product fieldlink
# One test at a time: the integration tests wait synchronously on real processes, and in parallel
# they can hold every thread of the cooperative pool while an async test waits for one (~3 min).
FIELDLINK_BIN=$("$SWIFT" build --show-bin-path)/fieldlink "$SWIFT" test --skip-build --no-parallel
finish_background

in_background .build-fuzz-prebuild.log env FUZZ_BUILD_ONLY=1 SWIFT="$SWIFT" scripts/fuzz.sh
FIELDLINK_RELEASE_SCRATCH=$release_scratch SWIFT=$SWIFT scripts/test-systemd.sh
finish_background

# Every libFuzzer harness for a few seconds from its seeds: a crash, leak or hang fails the run.
FUZZ_SECONDS=3 SWIFT=$SWIFT scripts/fuzz.sh
