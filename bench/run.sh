#!/usr/bin/env bash
# fieldlink throughput / CPU / RSS benchmark against a bare libmodbus loop measured in the same run.
#
#   bash bench/run.sh                         # defaults: BENCH_DEVICES=auto, BENCH_SECONDS=20
#   BENCH_DEVICES=4 BENCH_SECONDS=15 bash bench/run.sh
#
# Needs: swift, cc, pkg-config + libmodbus-dev, mosquitto, mosquitto_sub, socat, python3 + pymodbus.
# Everything it starts is stopped by PID on exit; everything it writes is in one mktemp directory
# (plus the release build in .build-bench/). Only 127.0.0.1 is used. See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVICES="${BENCH_DEVICES:-auto}"
SECONDS_RUN="${BENCH_SECONDS:-20}"
WARMUP=3          # seconds of polling before each measured window (sim and caches warm, broker session up)
INTERVAL_MS=10    # the smallest poll interval the config accepts
TARGET_RSS_MB=12
TARGET_OVERHEAD_PCT=25
# fieldlink keeps the RTU inter-frame silence (3.5 characters of 11 bits: 2005 us at 19200 baud)
# between transactions; the baseline keeps it too, or it would not be the same protocol.
SILENCE_US=2005

[[ "$DEVICES" == auto ]] || { [[ "$DEVICES" =~ ^[0-9]+$ ]] && (( DEVICES >= 1 && DEVICES <= 247 )); } || { echo "BENCH_DEVICES must be auto or 1..247" >&2; exit 2; }
[[ "$SECONDS_RUN" =~ ^[0-9]+$ ]] && (( SECONDS_RUN >= 2 )) || { echo "BENCH_SECONDS must be a whole number >= 2" >&2; exit 2; }
for tool in swift cc pkg-config mosquitto mosquitto_sub socat python3; do
    command -v "$tool" >/dev/null || { echo "bench: missing tool: $tool" >&2; exit 2; }
done

source "$ROOT/bench/lib.sh"

# --- build -------------------------------------------------------------------------------------
if [[ -n "${FIELDLINK_BIN:-}" ]]; then FIELDLINK="$FIELDLINK_BIN"; else build_release; fi  # FIELDLINK_BIN: skip the build

log "compiling bench/baseline.c ..."
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
cc -O2 -Wall -o "$WORK/baseline" "$ROOT/bench/baseline.c" $(pkg-config --cflags --libs libmodbus)

# --- peers -------------------------------------------------------------------------------------

PORT="$(free_port)"
start_mosquitto "$PORT"

socat -d "pty,raw,echo=0,link=$WORK/tty-gateway" "pty,raw,echo=0,link=$WORK/tty-device" 2>"$WORK/socat.log" &
PIDS+=($!)
wait_for 5 "the socat pty pair" test -e "$WORK/tty-gateway" -a -e "$WORK/tty-device"

# A meter-like register image per unit: 10 contiguous holding registers, which fieldlink's read
# plan merges into ONE read request (function 3, address 0, count 10) per device, the same request
# the baseline sends.
REG_ADDRESS=0
REG_COUNT=10
SIM_PID=""
start_sim() {  # start_sim UNITS: (re)start modbus_sim.py serving units 1..UNITS on the device side
    if [[ -n "$SIM_PID" ]]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    python3 - "$1" >"$WORK/image.json" <<'PY'
import json, sys
n = int(sys.argv[1])
units = {}
for unit in range(1, n + 1):
    units[str(unit)] = [
        {"table": "holding", "address": 0, "type": "float32", "value": 230.0 + unit / 10},          # voltage V
        {"table": "holding", "address": 2, "type": "float32", "order": "CDAB", "value": 4.25},     # current A
        {"table": "holding", "address": 4, "type": "int32", "value": 9660 + unit},                 # power 0.1 W
        {"table": "holding", "address": 6, "type": "uint32", "order": "CDAB", "value": 1234567},   # energy 0.01 kWh
        {"table": "holding", "address": 8, "type": "uint16", "value": 5000},                       # frequency 0.01 Hz
        {"table": "holding", "address": 9, "type": "uint16", "value": 985},                        # power factor 0.001
    ]
json.dump({"units": units}, sys.stdout)
PY
    : >"$WORK/sim.log"
    python3 "$ROOT/scripts/modbus_sim.py" --port "$WORK/tty-device" --parity N --image "$WORK/image.json" 2>"$WORK/sim.log" &
    SIM_PID=$!
    PIDS+=("$SIM_PID")
    wait_for 30 "modbus_sim.py (is pymodbus installed?)" grep -q "serving units" "$WORK/sim.log"
    kill -0 "$SIM_PID" 2>/dev/null || die "modbus_sim.py exited: $(cat "$WORK/sim.log")"
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# "As fast as the pty allows" needs more devices than the bus can serve at the 10 ms minimum
# interval, or fieldlink would be paced by its own schedule. BENCH_DEVICES=auto (the default)
# probes the bus with the baseline and sizes N to 1.5x what the bus can carry.
if [[ "$DEVICES" == auto ]]; then
    start_sim 4
    "$WORK/baseline" "$WORK/tty-gateway" 1,2,3,4 "$REG_ADDRESS" "$REG_COUNT" 2 "$SILENCE_US" >/dev/null
    PROBE="$("$WORK/baseline" "$WORK/tty-gateway" 1,2,3,4 "$REG_ADDRESS" "$REG_COUNT" 3 "$SILENCE_US")"
    DEVICES="$(python3 -c "import math; r = $(field reads "$PROBE") / $(field seconds "$PROBE"); print(min(247, max(4, math.ceil(1.5 * r * $INTERVAL_MS / 1000))))")"
    log "probe: the bus carries ~$(( $(field reads "$PROBE") / 3 )) reads/s; using $DEVICES device(s) (BENCH_DEVICES=auto)"
fi
start_sim "$DEVICES"

UNITS="$(seq -s, 1 "$DEVICES")"

# --- 1. baseline -------------------------------------------------------------------------------
log "baseline: warming up ${WARMUP}s, then $DEVICES unit(s) as fast as possible for ${SECONDS_RUN}s ..."
"$WORK/baseline" "$WORK/tty-gateway" "$UNITS" "$REG_ADDRESS" "$REG_COUNT" "$WARMUP" "$SILENCE_US" >/dev/null
BASELINE_LINE="$("$WORK/baseline" "$WORK/tty-gateway" "$UNITS" "$REG_ADDRESS" "$REG_COUNT" "$SECONDS_RUN" "$SILENCE_US")"
B_READS="$(field reads "$BASELINE_LINE")"
B_ERRORS="$(field errors "$BASELINE_LINE")"
B_SECONDS="$(field seconds "$BASELINE_LINE")"
B_CPU="$(field cpu "$BASELINE_LINE")"
B_RSS_KB="$(field maxrss_kb "$BASELINE_LINE")"
(( B_READS > 0 )) || die "the baseline read nothing ($BASELINE_LINE); see $WORK/sim.log"

# --- 2. fieldlink ------------------------------------------------------------------------------
CONFIG="$WORK/fieldlink.yaml"
{
    cat <<EOF
gateway:
  id: bench
  state_dir: $WORK/state
time: {trust: always}
mqtt:
  url: mqtt://127.0.0.1:$PORT
  version: 5
  keepalive: 30s
buses:
  - name: rs485
    type: modbus-rtu
    port: $WORK/tty-gateway
    baud: 19200
    parity: none
    timeout: 500ms
devices:
EOF
    for unit in $(seq 1 "$DEVICES"); do
        cat <<EOF
  - name: meter$unit
    bus: rs485
    unit: $unit
    interval: ${INTERVAL_MS}ms
    qos: 1
    points:
EOF
        meter_points
    done
} >"$CONFIG"
check_config "$CONFIG"

# Counting lines at two instants counts the messages the broker delivered in between.
start_line_subscriber "$PORT" "fieldlink/bench/#" bench-sub

log "fieldlink: $DEVICES device(s) every ${INTERVAL_MS}ms, QoS 1; warming up ${WARMUP}s, measuring ${SECONDS_RUN}s ..."
start_fieldlink "$CONFIG"
lines() { wc -l <"$SUB_OUT" | tr -d ' '; }
has_messages() { (( $(lines) > 0 )); }
wait_for 30 "the first message from fieldlink (see fieldlink.log)" has_messages
sleep "$WARMUP"

TICKS="$(getconf CLK_TCK)"
cpu_ticks() {  # utime + stime of the whole process (all threads), fields 14 and 15 of /proc/PID/stat
    local stat
    stat="$(cat "/proc/$1/stat")"
    stat="${stat##*) }"                          # drop "pid (comm) ", the comm may contain spaces
    awk '{ print $12 + $13 }' <<<"$stat"         # fields 14/15 overall are 12/13 after the cut
}
now() { date +%s.%N; }

kill -0 "$FL_PID" 2>/dev/null || die "fieldlink exited early: $(tail -5 "$WORK/fieldlink.log")"
T0="$(now)"; C0="$(lines)"; P0="$(cpu_ticks "$FL_PID")"
sleep "$SECONDS_RUN"
T1="$(now)"; C1="$(lines)"; P1="$(cpu_ticks "$FL_PID")"
kill -0 "$FL_PID" 2>/dev/null || die "fieldlink exited during the run: $(tail -5 "$WORK/fieldlink.log")"
HWM_KB="$(awk '/^VmHWM:/ { print $2 }' "/proc/$FL_PID/status")"
RSS_KB="$(awk '/^VmRSS:/ { print $2 }' "/proc/$FL_PID/status")"
THREADS="$(awk '/^Threads:/ { print $2 }' "/proc/$FL_PID/status")"
TOTAL_TICKS="$P1"

kill -TERM "$FL_PID"
for _ in $(seq 1 100); do kill -0 "$FL_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$FL_PID" 2>/dev/null; then
    log "fieldlink did not stop within 10 s of SIGTERM; killing it"
    kill -KILL "$FL_PID" 2>/dev/null || true
fi
FL_STATUS=0
wait "$FL_PID" 2>/dev/null || FL_STATUS=$?

ERROR_MESSAGES="$(grep -c '"errors"' "$SUB_OUT" || true)"
LOG_PROBLEMS="$(grep -cE ' (WARNING|ERROR|CRITICAL) ' "$WORK/fieldlink.log" || true)"
SAMPLE="$(tail -1 "$SUB_OUT")"

# --- 3. report ---------------------------------------------------------------------------------
python3 - <<EOF
devices, interval_ms = $DEVICES, $INTERVAL_MS
b_reads, b_errors, b_seconds, b_cpu, b_rss_kb = $B_READS, $B_ERRORS, $B_SECONDS, $B_CPU, $B_RSS_KB
f_msgs = $C1 - $C0
f_seconds = $T1 - $T0
f_cpu = ($P1 - $P0) / $TICKS
f_total_cpu = $TOTAL_TICKS / $TICKS
hwm_mb, rss_mb, threads = $HWM_KB / 1024, $RSS_KB / 1024, $THREADS
error_messages, total_messages, log_problems = $ERROR_MESSAGES, $C1, $LOG_PROBLEMS
target_rss, target_overhead = $TARGET_RSS_MB, $TARGET_OVERHEAD_PCT
fl_status = $FL_STATUS

b_rate = b_reads / b_seconds
f_rate = f_msgs / f_seconds if f_seconds > 0 else 0
b_cpu_k = b_cpu / b_reads * 1000
f_cpu_k = f_cpu / f_msgs * 1000 if f_msgs else float("inf")
overhead = (f_cpu_k - b_cpu_k) / b_cpu_k * 100 if b_cpu_k > 0 else float("inf")
ceiling = devices * 1000 / interval_ms

def mark(ok): return "PASS" if ok else "FAIL"

print()
print(f"fieldlink bench: {devices} device(s) x 1 read of 10 holding registers, RTU 19200 8N1 on a socat pty,")
print(f"pymodbus simulator (scripts/modbus_sim.py), mosquitto on 127.0.0.1, QoS 1, measured {f_seconds:.1f}s each")
print()
print(f"{'':34}{'baseline (C)':>16}{'fieldlink':>14}{'ratio':>10}")
print(f"{'readings/s, end to end':34}{b_rate:16.1f}{f_rate:14.1f}{f_rate / b_rate:10.3f}")
print(f"{'readings in the window':34}{b_reads:16d}{f_msgs:14d}")
print(f"{'CPU s per 1000 readings':34}{b_cpu_k:16.4f}{f_cpu_k:14.4f}{f_cpu_k / b_cpu_k:10.3f}")
print(f"{'CPU s in the window':34}{b_cpu:16.3f}{f_cpu:14.3f}")
print(f"{'CPU % of one core':34}{100 * b_cpu / b_seconds:16.1f}{100 * f_cpu / f_seconds:14.1f}")
print(f"{'peak RSS, MB':34}{b_rss_kb / 1024:16.1f}{hwm_mb:14.1f}")
print()
print(f"gateway CPU overhead per reading over the bare loop: {overhead:+.1f}%   (target < {target_overhead}%)  {mark(overhead < target_overhead)}")
print(f"fieldlink peak RSS (VmHWM): {hwm_mb:.1f} MB, {rss_mb:.1f} MB at the end, {threads} threads   (target < {target_rss} MB)  {mark(hwm_mb < target_rss)}")
print()
print("notes:")
print(f"- one reading = one device poll (one Modbus request); for fieldlink, one MQTT message counted at the broker by mosquitto_sub.")
print(f"- both runs go through the same pty and the same simulator, so the bus (in practice the Python simulator's reply")
print(f"  time) limits both alike; the simulator's CPU is excluded, only the client process counts (baseline: getrusage")
print(f"  of the loop; fieldlink: utime+stime of all its threads from /proc/PID/stat, {1000 // $TICKS} ms ticks, steady state only).")
if f_rate > 0.9 * ceiling:
    print(f"- WARNING: fieldlink ran at {f_rate:.0f}/s, near its schedule ceiling of {ceiling:.0f}/s ({devices} x 1/{interval_ms}ms): it was")
    print(f"  paced by its poll intervals, not by the bus, so the readings/s ratio understates it. Raise BENCH_DEVICES.")
elif b_rate > ceiling:
    print(f"- WARNING: the bus allowed {b_rate:.0f}/s but fieldlink's schedule ceiling is {ceiling:.0f}/s; raise BENCH_DEVICES.")
else:
    print(f"- fieldlink's schedule ceiling is {ceiling:.0f}/s ({devices} x 1/{interval_ms}ms), above the bus rate: both runs are bus-bound.")
if b_errors:
    print(f"- the baseline had {b_errors} failed read(s).")
if log_problems:
    print(f"- fieldlink logged {log_problems} warning/error line(s); rerun with BENCH_KEEP=1 and read fieldlink.log in the kept directory.")
if error_messages:
    print(f"- {error_messages} of {total_messages} fieldlink message(s) carried point errors.")
print(f"- fieldlink total CPU since start, including config load and warm-up: {f_total_cpu:.2f}s; exit status after SIGTERM: {fl_status}.")
print("- the machine may be shared and noisy: compare the ratios, not the absolute figures, between runs.")
EOF
echo
echo "sample message: $SAMPLE"
