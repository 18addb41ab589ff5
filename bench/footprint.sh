#!/usr/bin/env bash
# Memory, binary and start-up footprint of the release binary, beside a minimal static Swift binary
# that imports only FoundationEssentials, built and measured in the same run. Prints figures and
# ratios; asserts nothing. See bench/README.md ("Footprint").
#
#   bash bench/footprint.sh
#   FOOTPRINT_BEFORE=/path/to/older/fieldlink bash bench/footprint.sh   # the same figures for another build
#   FIELDLINK_BIN=.build/release/fieldlink bash bench/footprint.sh       # skip the release build
#   FOOTPRINT_DEVICES=20 FOOTPRINT_SECONDS=30 FOOTPRINT_STARTS=7 bash bench/footprint.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVICES="${FOOTPRINT_DEVICES:-20}"
SECONDS_RUN="${FOOTPRINT_SECONDS:-30}"
STARTS="${FOOTPRINT_STARTS:-7}"
BEFORE="${FOOTPRINT_BEFORE:-}"
TARGET_BINARY_MB=25
TARGET_RSS_MB=10
TARGET_START_MS=50

[[ "$DEVICES" =~ ^[0-9]+$ ]] && (( DEVICES >= 1 && DEVICES <= 247 )) || { echo "FOOTPRINT_DEVICES must be 1..247" >&2; exit 2; }
[[ "$SECONDS_RUN" =~ ^[0-9]+$ ]] && (( SECONDS_RUN >= 5 )) || { echo "FOOTPRINT_SECONDS must be a whole number >= 5" >&2; exit 2; }
[[ "$STARTS" =~ ^[0-9]+$ ]] && (( STARTS >= 1 )) || { echo "FOOTPRINT_STARTS must be a whole number >= 1" >&2; exit 2; }
[[ -z "$BEFORE" || -x "$BEFORE" ]] || { echo "FOOTPRINT_BEFORE must name an executable fieldlink binary" >&2; exit 2; }
for tool in swift swiftc cc strip size mosquitto mosquitto_pub mosquitto_sub python3; do
    command -v "$tool" >/dev/null || { echo "bench: missing tool: $tool" >&2; exit 2; }
done

source "$ROOT/bench/lib.sh"

if [[ -n "${FIELDLINK_BIN:-}" ]]; then FIELDLINK="$FIELDLINK_BIN"; else build_release --product fieldlink; fi

# --- the baseline: a static Swift binary using only FoundationEssentials (Date, JSONEncoder) ------
log "compiling the FoundationEssentials baseline (swiftc -O -static-stdlib) ..."
cat >"$WORK/baseline.swift" <<'EOF'
import FoundationEssentials

struct Stamp: Codable { var time: Double; var name: String }
let data = try JSONEncoder().encode(Stamp(time: Date().timeIntervalSince1970, name: CommandLine.arguments[0]))
print(String(decoding: data, as: UTF8.self).count)
EOF
swiftc -O -static-stdlib -o "$WORK/baseline" "$WORK/baseline.swift" 2>"$WORK/baseline-build.log" \
    || { cat "$WORK/baseline-build.log" >&2; die "the baseline did not compile"; }

# Peak RSS (KB) of a command that runs to its end: ru_maxrss of the waited-for child is its VmHWM.
# Forked from a small C program: a child forked from Python would carry Python's RSS into the figure
# (the kernel keeps the pre-exec high-water mark).
cat >"$WORK/peak.c" <<'C'
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    pid_t child = fork();
    if (child == 0) {
        freopen("/dev/null", "w", stdout);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (child < 0 || wait4(child, &status, 0, &usage) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    printf("%ld\n", usage.ru_maxrss);
    return 0;
}
C
cc -O2 -o "$WORK/peak" "$WORK/peak.c" || die "cannot compile the peak-RSS helper"
peak_kb() { "$WORK/peak" "$@" || die "$* failed"; }
rodata_bytes() { size -A "$1" | awk '$1 == ".rodata" { print $2 }'; }
stripped_bytes() { strip -o "$WORK/stripped" "$1" && stat -c %s "$WORK/stripped"; }

# binary_figures NAME BINARY [ARGS...]: size, stripped size, .rodata, peak RSS of one short run.
binary_figures() {
    local name="$1" binary="$2"
    shift 2
    echo "$name size=$(stat -c %s "$binary") stripped=$(stripped_bytes "$binary") rodata=$(rodata_bytes "$binary") peak_kb=$(peak_kb "$binary" "$@")"
}
FIGURES="$WORK/figures.txt"
binary_figures baseline "$WORK/baseline" >"$FIGURES"
binary_figures after "$FIELDLINK" --version >>"$FIGURES"
[[ -z "$BEFORE" ]] || binary_figures before "$BEFORE" --version >>"$FIGURES"

# --- a running gateway: DEVICES Modbus-TCP units polled once a second, a broker, a subscriber -----
PORT="$(free_port)"
start_mosquitto "$PORT"
SIM_PORT="$(free_port)"
python3 - "$DEVICES" >"$WORK/image.json" <<'PY'
import json, sys
units = {str(unit): [
    {"table": "holding", "address": 0, "type": "float32", "value": 230.0 + unit / 10},
    {"table": "holding", "address": 2, "type": "float32", "order": "CDAB", "value": 4.25},
    {"table": "holding", "address": 4, "type": "int32", "value": 9660 + unit},
    {"table": "holding", "address": 6, "type": "uint32", "order": "CDAB", "value": 1234567},
    {"table": "holding", "address": 8, "type": "uint16", "value": 5000},
    {"table": "holding", "address": 9, "type": "uint16", "value": 985},
] for unit in range(1, int(sys.argv[1]) + 1)}
json.dump({"units": units}, sys.stdout)
PY
: >"$WORK/sim.log"
python3 "$ROOT/scripts/modbus_sim.py" --tcp "$SIM_PORT" --image "$WORK/image.json" 2>"$WORK/sim.log" &
PIDS+=($!)
wait_for 30 "modbus_sim.py (is pymodbus installed?)" grep -q "serving units" "$WORK/sim.log"

# config STATE_DIR: the gateway's config on stdout.
config() {
    cat <<EOF
gateway: {id: footprint, state_dir: $1}
mqtt: {url: "mqtt://127.0.0.1:$PORT", keepalive: 30s}
buses:
  - {name: plc, type: modbus-tcp, host: 127.0.0.1, port: $SIM_PORT, timeout: 500ms}
devices:
EOF
    for unit in $(seq 1 "$DEVICES"); do
        cat <<EOF
  - name: meter$unit
    bus: plc
    unit: $unit
    interval: 1s
    points:
EOF
        meter_points
    done
}

# running_figures NAME BINARY: VmHWM at the end and the largest VmRSS sampled once a second.
running_figures() {
    local name="$1" binary="$2" pid rss max_rss=0 hwm messages
    config "$WORK/state-$name" >"$WORK/$name.yaml"
    "$binary" check -c "$WORK/$name.yaml" >"$WORK/$name-check.txt" 2>&1 || { cat "$WORK/$name-check.txt" >&2; die "$name: fieldlink check rejected the config"; }
    : >"$WORK/$name-messages.txt"
    stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$PORT" -t "fieldlink/footprint/#" -F '%t' -i "sub-$name" >"$WORK/$name-messages.txt" 2>/dev/null &
    local sub=$!
    PIDS+=("$sub")
    "$binary" run -c "$WORK/$name.yaml" 2>"$WORK/$name.log" &
    pid=$!
    PIDS+=("$pid")
    log "$name: $DEVICES device(s) every 1s for ${SECONDS_RUN}s ..."
    for _ in $(seq 1 "$SECONDS_RUN"); do
        sleep 1
        kill -0 "$pid" 2>/dev/null || die "$name: fieldlink exited: $(tail -5 "$WORK/$name.log")"
        rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"
        (( rss > max_rss )) && max_rss=$rss
    done
    hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")"
    messages="$(wc -l <"$WORK/$name-messages.txt" | tr -d ' ')"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    kill "$sub" 2>/dev/null || true
    wait "$sub" 2>/dev/null || true
    (( messages > 0 )) || die "$name: no message reached the subscriber; see $WORK/$name.log"
    echo "$name-running hwm_kb=$hwm max_rss_kb=$max_rss messages=$messages"
}
running_figures after "$FIELDLINK" >>"$FIGURES"
[[ -z "$BEFORE" ]] || running_figures before "$BEFORE" >>"$FIGURES"

# --- start to first publish: exec to the first message at a connected subscriber, median ---------
# The same measure for mosquitto_pub (a C client that connects and publishes once) is the baseline.
starts() {  # starts NAME BINARY: one line of per-run milliseconds
    local name="$1" binary="$2"
    config "$WORK/start-state-$name" >"$WORK/start-$name.yaml"
    python3 - "$PORT" "$STARTS" "$WORK" "$name" "$binary" "$WORK/start-$name.yaml" <<'PY'
import os, shutil, subprocess, sys, threading, time
import paho.mqtt.client as mqtt

port, runs, work, name, binary, config = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
arrived = threading.Event()
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"start-{name}")
client.on_message = lambda *_: arrived.set()
client.connect("127.0.0.1", port)
client.subscribe(f"fieldlink/footprint/#" if name != "mosquitto_pub" else "footprint/pub", qos=0)
client.loop_start()
time.sleep(0.5)
results = []
for run in range(runs):
    shutil.rmtree(f"{work}/start-state-{name}", ignore_errors=True)
    arrived.clear()
    if name == "mosquitto_pub":
        command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "footprint/pub", "-m", "x"]
    else:
        command = [binary, "run", "-c", config]
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(f"{work}/start-{name}-{run}.log", "w"))
    if not arrived.wait(10):
        process.kill()
        sys.exit(f"{name}: no message within 10 s (see {work}/start-{name}-{run}.log)")
    results.append((time.monotonic() - start) * 1000)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    time.sleep(0.3)  # the broker forgets the last client; a retained message would fool the next run
print(" ".join(f"{ms:.1f}" for ms in results))
PY
}
log "start to first publish: $STARTS run(s) each ..."
echo "mosquitto_pub-start $(starts mosquitto_pub mosquitto_pub)" >>"$FIGURES"
echo "after-start $(starts after "$FIELDLINK")" >>"$FIGURES"
[[ -z "$BEFORE" ]] || echo "before-start $(starts before "$BEFORE")" >>"$FIGURES"

# --- report ------------------------------------------------------------------------------------
python3 - "$FIGURES" "$DEVICES" "$SECONDS_RUN" "$TARGET_BINARY_MB" "$TARGET_RSS_MB" "$TARGET_START_MS" <<'PY'
import statistics, sys

path, devices, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
target_binary, target_rss, target_start = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
rows = {}
for line in open(path):
    name, *rest = line.split()
    if name.endswith("-start"):
        rows[name] = [float(x) for x in rest]
    else:
        rows[name] = {key: int(value) for key, value in (item.split("=") for item in rest)}
mb = lambda n: n / 1_000_000
builds = [name for name in ("before", "after") if name in rows]
base = rows["baseline"]

print()
print(f"{'':38}{'baseline':>12}" + "".join(f"{name:>12}{'ratio':>8}" for name in builds))
def row(label, key, scale=mb, unit="MB"):
    line = f"{label:38}{scale(base[key]):>10.1f}{unit[:2]:>2}"
    for name in builds:
        value = rows[name][key]
        line += f"{scale(value):>10.1f}{unit[:2]:>2}{value / base[key]:>7.1f}x"
    print(line)
row("binary", "size")
row("stripped binary", "stripped")
row(".rodata", "rodata")
row("peak RSS of one run (--version)", "peak_kb", scale=lambda kb: kb / 1024, unit="MB")
print(f"{'peak RSS, gateway running (VmHWM)':38}{'':12}" + "".join(
    f"{rows[name + '-running']['hwm_kb'] / 1024:>10.1f}MB{rows[name + '-running']['hwm_kb'] / base['peak_kb']:>7.1f}x" for name in builds))
print(f"{'largest VmRSS sampled once a second':38}{'':12}" + "".join(
    f"{rows[name + '-running']['max_rss_kb'] / 1024:>10.1f}MB{'':8}" for name in builds))
pub = statistics.median(rows["mosquitto_pub-start"])
print(f"{'start to first publish, median':38}{pub:>10.1f}ms" + "".join(
    f"{statistics.median(rows[name + '-start']):>10.1f}ms{statistics.median(rows[name + '-start']) / pub:>7.1f}x" for name in builds))
print(f"  (baseline for start-up: mosquitto_pub; runs, ms: " + "; ".join(
    f"{name} {' '.join(f'{x:.0f}' for x in rows[name + '-start'])}" for name in ["mosquitto_pub"] + builds) + ")")
print(f"  (gateway: {devices} Modbus-TCP device(s), 10 registers each, every 1 s, QoS 0, for {seconds} s; "
      + ", ".join(f"{name} {rows[name + '-running']['messages']} messages" for name in builds) + ")")
print()
after = rows["after"]
verdict = lambda ok: "MET" if ok else "MISSED"
print(f"stripped binary {mb(after['stripped']):.1f} MB         (target <= {target_binary:.0f} MB)  {verdict(mb(after['stripped']) <= target_binary)}")
hwm = rows["after-running"]["hwm_kb"] / 1024
print(f"peak RSS running {hwm:.1f} MB          (target <= {target_rss:.0f} MB)  {verdict(hwm <= target_rss)}")
start = statistics.median(rows["after-start"])
print(f"start to first publish {start:.1f} ms  (target <= {target_start:.0f} ms)  {verdict(start <= target_start)}")
PY
