#!/usr/bin/env bash
# Modbus bus benchmark: transactions per second over a pty for a 40-point meter, fieldlink against a
# bare libmodbus loop doing the same merged reads (bench/modbus_baseline.c), measured in the same run;
# and requests per poll, merged against one read per point.
#
#   bash bench/modbus.sh                      # BENCH_SECONDS=10 BENCH_DEVICES=4
#
# Needs: swift, cc, pkg-config + libmodbus-dev, mosquitto, socat, python3 + pymodbus.
# Everything it starts is stopped by PID on exit; it writes only to one mktemp directory (and the
# release build in .build-bench/). Only 127.0.0.1 is used.
set -euo pipefail

SECONDS_RUN="${BENCH_SECONDS:-10}"
DEVICES="${BENCH_DEVICES:-4}"
WARMUP=3
INTERVAL_MS=10   # the smallest interval: the devices ask for more than the pty carries
SILENCE_US=1750  # the RTU inter-frame silence above 19200 baud (the bench runs at 115200)

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tools swift cc pkg-config mosquitto socat python3

build_release
log "compiling bench/modbus_baseline.c ..."
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
cc -O2 -Wall -o "$WORK/modbus_baseline" "$ROOT/bench/modbus_baseline.c" $(pkg-config --cflags --libs libmodbus)

# A three-phase meter's register map in the shape of the common ones: 30 float32 measurements at
# input 0-59, 6 more at 64-75 (a 4-register hole, bridged by the default max_gap of 8), and 4 energy
# counters at 342-349. fieldlink's plan: 2 reads (0:76, 342:8); one read per point would be 40.
POINTS=()
for i in $(seq 0 29); do POINTS+=("$((2 * i))"); done
for i in $(seq 0 5); do POINTS+=("$((64 + 2 * i))"); done
for i in $(seq 0 3); do POINTS+=("$((342 + 2 * i))"); done
READS="0:76,342:8"

python3 - "$DEVICES" "${POINTS[@]}" >"$WORK/image.json" <<'PY'
import json, sys
devices, addresses = int(sys.argv[1]), [int(a) for a in sys.argv[2:]]
points = [{"table": "input", "address": a, "type": "float32", "value": 200.0 + i / 4} for i, a in enumerate(addresses)]
json.dump({"units": {str(u): points for u in range(1, devices + 1)}}, sys.stdout)
PY

start_pty tty
: >"$WORK/requests.log"
: >"$WORK/sim.log"
python3 "$ROOT/scripts/modbus_sim.py" --port "$WORK/tty-device" --parity N --image "$WORK/image.json" \
    --log-requests "$WORK/requests.log" 2>"$WORK/sim.log" &
PIDS+=($!)
wait_for 30 "modbus_sim.py (is pymodbus installed?)" grep -q "serving units" "$WORK/sim.log"
requests() { wc -l <"$WORK/requests.log" | tr -d ' '; }
now() { date +%s.%N; }
UNITS="$(seq -s, 1 "$DEVICES")"

# --- baseline: with the RTU silence (what a correct master must do), and back to back -------------
"$WORK/modbus_baseline" "$WORK/tty-gateway" "$UNITS" "$READS" "$SILENCE_US" "$WARMUP" >/dev/null
baseline() {  # baseline SILENCE_US: transactions per second, counted at the slave
    local r0 r1 t0 t1
    r0="$(requests)"; t0="$(now)"
    "$WORK/modbus_baseline" "$WORK/tty-gateway" "$UNITS" "$READS" "$1" "$SECONDS_RUN" >"$WORK/baseline-$1.txt"
    r1="$(requests)"; t1="$(now)"
    python3 -c "print(($r1 - $r0) / ($t1 - $t0))"
}
log "baseline: $DEVICES unit(s), reads $READS, ${SECONDS_RUN}s with the ${SILENCE_US}us silence, ${SECONDS_RUN}s without ..."
B_SILENT="$(baseline "$SILENCE_US")"
B_RAW="$(baseline 0)"

# --- fieldlink -----------------------------------------------------------------------------------
PORT="$(free_port)"
start_mosquitto "$PORT"
CONFIG="$WORK/fieldlink.yaml"
{
    printf 'gateway: {id: bench, state_dir: %s/state}\ntime: {trust: always}\nmqtt: {url: "mqtt://127.0.0.1:%s"}\n' "$WORK" "$PORT"
    printf 'buses:\n  - {name: rs485, type: modbus-rtu, port: %s/tty-gateway, baud: 115200, parity: none}\ndevices:\n' "$WORK"
    for unit in $(seq 1 "$DEVICES"); do
        printf '  - name: meter%s\n    bus: rs485\n    unit: %s\n    interval: %sms\n    points:\n' "$unit" "$unit" "$INTERVAL_MS"
        for address in "${POINTS[@]}"; do printf '      - {name: r%s, table: input, address: %s, type: float32}\n' "$address" "$address"; done
    done
} >"$CONFIG"
"$FIELDLINK" plan --config "$CONFIG" >"$WORK/plan.txt" || die "fieldlink plan failed"
PLANNED="$(sed -n 's/.*device meter1 .*: \([0-9]*\) request(s) per poll (\([0-9]*\) one per point).*/\1 \2/p' "$WORK/plan.txt")"
read -r MERGED NAIVE <<<"$PLANNED"
[[ "$MERGED" == 2 ]] || die "expected 2 merged reads per poll, plan says: $(cat "$WORK/plan.txt")"

log "fieldlink: $DEVICES device(s) every ${INTERVAL_MS}ms; warming up ${WARMUP}s, measuring ${SECONDS_RUN}s ..."
"$FIELDLINK" run --config "$CONFIG" 2>"$WORK/fieldlink.log" &
FL_PID=$!
PIDS+=("$FL_PID")
sleep "$WARMUP"
kill -0 "$FL_PID" 2>/dev/null || die "fieldlink exited early: $(tail -5 "$WORK/fieldlink.log")"
R0="$(requests)"; T0="$(now)"
sleep "$SECONDS_RUN"
R1="$(requests)"; T1="$(now)"
kill -TERM "$FL_PID"
wait "$FL_PID" 2>/dev/null || true
F_RATE="$(python3 -c "print(($R1 - $R0) / ($T1 - $T0))")"
# Requests the slave saw per published poll, from the requests' addresses: each poll starts at 0.
SEEN_PER_POLL="$(awk -v from="$R0" 'NR > from && NR <= from + 2000 { n++; if ($3 == 0) polls++ } END { printf "%.2f", n / polls }' "$WORK/requests.log")"

python3 - <<PY
b_silent, b_raw, f = $B_SILENT, $B_RAW, $F_RATE
print("Modbus bus benchmark: $DEVICES x 40-point meter over a pty (pymodbus slave), 115200 baud")
print(f"  transactions/s  bare libmodbus, RTU silence kept  {b_silent:8.1f}")
print(f"  transactions/s  bare libmodbus, back to back      {b_raw:8.1f}")
print(f"  transactions/s  fieldlink (silence kept)          {f:8.1f}")
print(f"  ratio fieldlink / baseline with silence           {f / b_silent:8.2f}   (target >= 0.9)")
print(f"  ratio fieldlink / baseline back to back           {f / b_raw:8.2f}   (the silence's price on a pty, where no line time passes)")
print(f"  requests per poll  fieldlink {$MERGED} (seen at the slave: $SEEN_PER_POLL), one read per point {$NAIVE}: ratio {$MERGED / $NAIVE:.3f}")
PY
