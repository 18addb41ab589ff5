#!/usr/bin/env bash
# Serial bench: CPU per frame of each serial parser (nmea, regex, keyvalue, csv) at 10,000 frames/s
# fed through a socat pty, against a bare C read loop on the same kind of pty in the same run; then
# the memory bound: fieldlink's RSS while an endless line with no delimiter pours in.
#
#   bash bench/serial.sh                                     # SERIAL_BENCH_SECONDS=10, rate 10000/s
#   SERIAL_BENCH_SECONDS=5 SERIAL_BENCH_PARSERS="nmea" bash bench/serial.sh   # a quick look
#
# Knobs: SERIAL_BENCH_SECONDS (feeding time per run, default 10), SERIAL_BENCH_RATE (frames/s,
# default 10000, in blocks of 100), SERIAL_BENCH_PARSERS ("nmea regex keyvalue csv"),
# SERIAL_BENCH_FLOOD_MB (megabytes of one endless line, default 64), BENCH_KEEP=1 (keep the temp dir).
#
# Needs: swift, cc, socat, mosquitto, python3 with pyserial (`make test-deps`). Everything it starts
# is stopped by PID on exit; everything it writes is in one mktemp directory, plus the release build
# in .build-bench/. Only 127.0.0.1 is used. See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_RUN="${SERIAL_BENCH_SECONDS:-10}"
RATE="${SERIAL_BENCH_RATE:-10000}"
PARSERS="${SERIAL_BENCH_PARSERS:-nmea regex keyvalue csv}"
FLOOD_MB="${SERIAL_BENCH_FLOOD_MB:-64}"
TARGET_NMEA_US=5
for knob in SECONDS_PER_RUN RATE FLOOD_MB; do
    [[ "${!knob}" =~ ^[0-9]+$ ]] && (( ${!knob} >= 1 )) || { echo "serial bench: $knob must be a positive whole number" >&2; exit 2; }
done
(( RATE % 100 == 0 )) || { echo "serial bench: SERIAL_BENCH_RATE must be a multiple of 100" >&2; exit 2; }
source "$ROOT/bench/lib.sh"
need_tools swift cc socat mosquitto python3
python3 -c 'import serial' 2>/dev/null || die "python3 has no pyserial (run make test-deps)"

BLOCKS_PER_SECOND=$((RATE / 100))
BLOCKS=$((BLOCKS_PER_SECOND * SECONDS_PER_RUN))
FRAMES=$((BLOCKS * 100))

build_release
log "compiling bench/serial_baseline.c ..."
cc -O2 -Wall -o "$WORK/serial_baseline" "$ROOT/bench/serial_baseline.c"
PORT="$(free_port)"
start_mosquitto "$PORT"

# block PARSER: 100 lines (one block of the feed) for that parser, in $WORK/PARSER.txt.
make_block() {
    python3 - "$1" "$WORK/$1.txt" <<'PY'
import sys
from functools import reduce
def nmea(body): return "$%s*%02X\r\n" % (body, reduce(lambda a, c: a ^ ord(c), body, 0))
# The sentence mix of a u-blox receiver with a fix, as in Tests/IntegrationTests/SerialTests.swift.
burst = ["GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A,V", "GNVTG,77.52,T,,M,0.004,N,0.008,K,A",
         "GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,", "GNGSA,A,3,10,23,15,20,,,,,,,,,1.94,1.01,1.66,1",
         "GPGSV,3,1,10,10,52,304,44,15,24,077,38,16,16,302,,18,35,146,,1", "GLGSV,1,1,02,65,35,059,33,72,41,313,29,1",
         "GNGLL,4717.11437,N,00833.91522,E,083559.00,A,A"]
lines = {
    "nmea": [nmea(burst[i % len(burst)]) for i in range(100)],
    "regex": ["T: %d.%02d C RH: %d%% OK\r\n" % (20 + i % 5, i, 30 + i % 20) for i in range(100)],
    "keyvalue": ["T=%d.%d H=%d P=1013.%d\r\n" % (20 + i % 5, i % 10, 30 + i % 20, i % 10) for i in range(100)],
    "csv": ["PM,%d,%d.%d,ok\r\n" % (i, 10 + i % 7, i % 10) for i in range(100)],
}[sys.argv[1]]
assert len(lines) == 100
open(sys.argv[2], "w", newline="").write("".join(lines))
PY
}

device_yaml() {
    case "$1" in
    nmea) echo "parser: nmea
    points: [{name: latitude}, {name: longitude}, {name: altitude}, {name: satellites}, {name: speed}]" ;;
    regex) echo "parser: regex
    pattern: 'T:\\s*(?<temperature>-?\\d+\\.\\d+)\\s*C\\s+RH:\\s*(?<rh>\\d+)%'
    points: [{name: temperature}, {name: rh, type: int}]" ;;
    keyvalue) echo "parser: keyvalue
    points: [{name: T}, {name: H, type: int}, {name: P}]" ;;
    csv) echo "parser: csv
    points: [{name: count, column: 1, type: int}, {name: pm25, column: 2}]" ;;
    esac
}

# cpu_seconds PID: time on CPU of every thread of the process, from /proc/PID/task/*/schedstat (ns;
# /proc/PID/stat counts 10 ms ticks, too coarse for a few seconds at a few µs per frame).
cpu_seconds() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ total += $1 } END { printf "%.6f\n", total / 1e9 }'; }

# feed NAME FILE: the block file, BLOCKS_PER_SECOND times a second, BLOCKS times, into the device side.
feed() {
    python3 "$ROOT/scripts/serial_device.py" --port "$WORK/$1-device" --stream "$2" --rate "$BLOCKS_PER_SECOND" \
        --count "$BLOCKS" 2>"$WORK/feed-$1.log"
}

# run_baseline PARSER: the bare loop's CPU seconds for FRAMES frames, in BASE_CPU. (Not called in $(...):
# the processes it starts would hold the substitution's pipe open.)
run_baseline() {
    local name="base-$1"
    start_pty "$name"
    : >"$WORK/$name.err"
    "$WORK/serial_baseline" "$WORK/$name-gateway" "$FRAMES" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    local pid=$!
    PIDS+=("$pid")
    wait_for 5 "serial_baseline" grep -q ready "$WORK/$name.err"
    feed "$name" "$WORK/$1.txt"
    wait_for 10 "the baseline to count $FRAMES frames" test -s "$WORK/$name.out"
    BASE_CPU=$(sed -E 's/.*cpu=([0-9.]+).*/\1/' "$WORK/$name.out")
}

# run_fieldlink PARSER: fieldlink's CPU seconds over the feed, less its idle CPU for as long, in FL_CPU.
run_fieldlink() {
    local name="fl-$1"
    start_pty "$name"
    cat >"$WORK/$name.yaml" <<YAML
gateway: {id: bench, state_dir: $WORK/state-$name}
time: {trust: always}
mqtt: {url: "mqtt://127.0.0.1:$PORT", version: 5}
buses:
  - {name: uart, type: serial, port: $WORK/$name-gateway, baud: 460800, delimiter: "\\r\\n"}
devices:
  - name: sensor
    bus: uart
    interval: 1s
    aggregate: last
    $(device_yaml "$1")
YAML
    : >"$WORK/$name.log"
    "$FIELDLINK" run --config "$WORK/$name.yaml" --log-target stderr 2>"$WORK/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    wait_for 10 "fieldlink to connect" grep -q "connected to" "$WORK/$name.log"
    sleep 1
    # Idle: the same daemon with nothing arriving (timers, MQTT keepalive), over 2 s.
    local idle0 idle1 busy0 busy1 started ended
    idle0=$(cpu_seconds "$pid"); sleep 2; idle1=$(cpu_seconds "$pid")
    started=$(date +%s.%N)
    busy0=$(cpu_seconds "$pid")
    feed "$name" "$WORK/$1.txt"
    sleep 0.5
    busy1=$(cpu_seconds "$pid")
    ended=$(date +%s.%N)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    grep -q "dropping frames" "$WORK/$name.log" && log "warning: fieldlink dropped $1 frames: $(grep -m1 'dropping frames' "$WORK/$name.log")"
    grep -q "reading all" "$WORK/$name.log" || log "warning: fieldlink never read every point of the $1 device (see $name.log with BENCH_KEEP=1)"
    FL_CPU=$(python3 -c "print(max(0.0, ($busy1 - $busy0) - ($idle1 - $idle0) / 2 * ($ended - $started)))")
}

printf '\nCPU per frame at %d frames/s for %d s (%d frames), fieldlink (stream mode, 1 reading/s to MQTT) vs a bare read loop\n' \
    "$RATE" "$SECONDS_PER_RUN" "$FRAMES"
printf '%-10s %14s %14s %8s %16s\n' parser "base µs/frame" "fl µs/frame" ratio "fl - base µs"
for parser in $PARSERS; do
    make_block "$parser"
    run_baseline "$parser"
    run_fieldlink "$parser"
    base=$BASE_CPU fl=$FL_CPU
    python3 -c "
base, fl, frames = $base, $fl, $FRAMES
b, f = base / frames * 1e6, fl / frames * 1e6
print(f'{\"$parser\":<10} {b:14.2f} {f:14.2f} {f / b if b else float(\"inf\"):8.2f} {f - b:16.2f}')"
    if [[ $parser == nmea ]]; then NMEA_US=$(python3 -c "print($fl / $FRAMES * 1e6)"); fi
done
if [[ -n "${NMEA_US:-}" ]]; then
    python3 -c "us = $NMEA_US; print(f'target: under $TARGET_NMEA_US µs per NMEA sentence (whole daemon): {us:.2f} µs -> {\"PASS\" if us < $TARGET_NMEA_US else \"FAIL\"}')"
fi

# --- memory bound: one endless line, no delimiter --------------------------------------------------
log "memory bound: $FLOOD_MB MiB of one line without a delimiter ..."
start_pty flood
cat >"$WORK/flood.yaml" <<YAML
gateway: {id: bench, state_dir: $WORK/state-flood}
time: {trust: always}
mqtt: {url: "mqtt://127.0.0.1:$PORT", version: 5}
buses:
  - {name: uart, type: serial, port: $WORK/flood-gateway, max_frame: 4KiB}
devices:
  - {name: sensor, bus: uart, interval: 1s, parser: keyvalue, points: [{name: T}]}
YAML
: >"$WORK/flood.log"
"$FIELDLINK" run --config "$WORK/flood.yaml" --log-target stderr 2>"$WORK/flood.log" &
FLOOD_PID=$!
PIDS+=("$FLOOD_PID")
wait_for 10 "fieldlink to connect" grep -q "connected to" "$WORK/flood.log"
sleep 1
rss_kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
before=$(rss_kb "$FLOOD_PID" VmRSS)
python3 - "$WORK/flood-device" "$FLOOD_MB" <<'PY'
import sys, serial
port = serial.Serial(sys.argv[1], 9600)
chunk = b"x" * 65536
for _ in range(int(sys.argv[2]) * 16):
    port.write(chunk)
port.flush()
PY
sleep 1
after=$(rss_kb "$FLOOD_PID" VmRSS)
peak=$(rss_kb "$FLOOD_PID" VmHWM)
python3 -c "
before, after, peak, fed = $before, $after, $peak, $FLOOD_MB * 1024
print(f'\nendless line: {fed / 1024:.0f} MiB fed with max_frame 4 KiB: RSS {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after (peak {peak / 1024:.1f} MiB)')
print(f'RSS growth / bytes fed: {(after - before) / fed:.4f} (0 = bounded; 1 = every byte kept)')"
grep -c "dropping frames" "$WORK/flood.log" | xargs -I{} echo "'dropping frames' warnings logged: {} (once per change, not per frame)"
printf '\nnotes:\n- CPU is the whole process (all threads, /proc/PID/task/*/schedstat) for fieldlink, getrusage for the baseline;\n'
printf '  fieldlink'"'"'s idle CPU (timers, MQTT) over the same time is subtracted; the feeder (python) is not counted.\n'
printf -- '- the machine may be shared and noisy: compare the ratio within a run, not absolute figures between runs.\n'
