#!/usr/bin/env bash
# fieldlink side by side with a peer gateway, spicier modbus2mqtt 0.73 (Python), on the same pymodbus
# RTU slave and the same mosquitto, one after the other in one run. Prints CPU per point-reading,
# point-readings/s and peak RSS for both with the ratios, then (fieldlink, the peer and the bare
# libmodbus loop) idle wake-ups and syscalls per poll.
#
#   bash bench/peers.sh                        # PEERS_SECONDS=20, PEERS_WARMUP=5
#   PEERS_SECONDS=10 bash bench/peers.sh
#   FIELDLINK_BIN=.build-bench/release/fieldlink bash bench/peers.sh   # an existing binary, no build
#
# Needs: swift, cc, pkg-config + libmodbus-dev, mosquitto, mosquitto_sub, socat, strace, python3 with
# venv + pymodbus (for the slave). The peer goes into its own virtualenv in the cache directory
# (PEERS_VENV, default ~/.cache/fieldlink/bench-peers/modbus2mqtt-0.73), installed once from the
# package index. Everything it starts is stopped by PID; only 127.0.0.1 is used. See bench/README.md.
set -euo pipefail

SECONDS_RUN="${PEERS_SECONDS:-20}"
WARMUP="${PEERS_WARMUP:-5}"
IDLE_SECONDS=10     # idle wake-ups: counted over this long with no poll due
STRACE_SECONDS=10   # syscalls per poll: strace -c -f attached this long
INTERVAL_MS=50      # both gateways poll the one device every 50 ms
REGISTERS=10        # holding registers 0..9 of unit 1, one uint16 point each
TARGET_RATIO=10     # fieldlink must spend at most 1/10 of the peer's CPU per point-reading
SILENCE_US=2005     # RTU inter-frame silence at 19200 baud, kept by fieldlink and the bare loop
VENV="${PEERS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldlink/bench-peers/modbus2mqtt-0.73}"

[[ "$SECONDS_RUN" =~ ^[0-9]+$ ]] && (( SECONDS_RUN >= 5 )) || { echo "PEERS_SECONDS must be a whole number >= 5" >&2; exit 2; }
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "PEERS_WARMUP must be a whole number" >&2; exit 2; }

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
need_tools swift cc pkg-config mosquitto mosquitto_sub socat strace python3 stdbuf

# --- the peer's virtualenv ---------------------------------------------------------------------
# modbus2mqtt 0.73 calls pymodbus with `slave=`, which newer pymodbus releases reject: 3.8.6 is the
# last that takes it. Its dependencies pull in `serial` (an unrelated package) whose `serial`
# module shadows pyserial's, so it is removed and pyserial reinstalled over it.
if [[ ! -f "$VENV/.complete" ]]; then
    log "installing modbus2mqtt 0.73 into $VENV ..."
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install -q 'modbus2mqtt==0.73' 'pymodbus==3.8.6' pyserial >"$WORK/pip.log" 2>&1 \
        || { tail -20 "$WORK/pip.log" >&2; die "pip install failed"; }
    "$VENV/bin/pip" uninstall -q -y serial >>"$WORK/pip.log" 2>&1 || true
    "$VENV/bin/pip" install -q --force-reinstall --no-deps pyserial >>"$WORK/pip.log" 2>&1 || die "reinstalling pyserial failed"
    touch "$VENV/.complete"
fi
"$VENV/bin/python" -c 'import serial, pymodbus; serial.Serial; assert pymodbus.__version__ == "3.8.6"' \
    || die "the peer's venv is broken ($VENV): remove it and run again"

# --- builds ------------------------------------------------------------------------------------
if [[ -n "${FIELDLINK_BIN:-}" ]]; then
    FIELDLINK="$FIELDLINK_BIN"   # an existing binary, e.g. a release build made earlier
    [[ -x "$FIELDLINK" ]] || die "FIELDLINK_BIN=$FIELDLINK is not executable"
else
    build_release --product fieldlink
fi
log "compiling bench/baseline.c ..."
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
cc -O2 -Wall -o "$WORK/baseline" "$ROOT/bench/baseline.c" $(pkg-config --cflags --libs libmodbus)

# --- slave and broker --------------------------------------------------------------------------
PORT="$(free_port)"
start_mosquitto "$PORT"
start_pty bus
python3 - "$REGISTERS" >"$WORK/image.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"units": {"1": [{"table": "holding", "address": a, "type": "uint16", "value": 1000 + a} for a in range(n)]}}))
PY
start_sim "$WORK/bus-device" "$WORK/image.json"
TTY="$WORK/bus-gateway"

# --- helpers -----------------------------------------------------------------------------------
TICKS="$(getconf CLK_TCK)"
cpu_ticks() {  # utime + stime of the whole process (all threads): fields 14 and 15 of /proc/PID/stat
    local stat
    stat="$(cat "/proc/$1/stat")"
    stat="${stat##*) }"
    awk '{ print $12 + $13 }' <<<"$stat"
}
thread_switches() {  # "TID NAME SWITCHES" per thread: voluntary + nonvoluntary context switches
    local task
    for task in /proc/"$1"/task/*; do
        awk -v tid="${task##*/}" '/^Name:/ { name = $2 } /^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 }
            END { print tid, name, n + 0 }' "$task/status" 2>/dev/null || true
    done
}
now() { date +%s.%N; }
lines() { wc -l <"$1" | tr -d ' '; }
stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 10 s
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
# point_readings FILE FROM TO: point values in subscriber lines FROM+1..TO ("topic payload" each);
# a fieldlink message carries every point of a poll, a peer message one.
point_readings() {
    python3 - "$@" <<'PY'
import json, sys
path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = 0
with open(path) as f:
    for number, line in enumerate(f, 1):
        if number <= first: continue
        if number > last: break
        topic, _, payload = line.rstrip("\n").partition(" ")
        if payload.startswith("{"):
            count += len(json.loads(payload).get("values", {}))
        else:
            count += 1
print(count)
PY
}

# measure NAME PID SUB_FILE: after the first message and the warm-up, CPU ticks and point-readings
# over SECONDS_RUN; sets NAME_TICKS, NAME_POINTS, NAME_MSGS, NAME_SECONDS, NAME_HWM_KB.
measure() {
    local name="$1" pid="$2" file="$3" t0 t1 c0 c1 p0 p1
    wait_for 90 "the first message from $name (see $WORK/$name.log)" test -s "$file"
    sleep "$WARMUP"
    kill -0 "$pid" 2>/dev/null || die "$name exited early: $(tail -5 "$WORK/$name.log")"
    t0="$(now)"; c0="$(lines "$file")"; p0="$(cpu_ticks "$pid")"
    sleep "$SECONDS_RUN"
    t1="$(now)"; c1="$(lines "$file")"; p1="$(cpu_ticks "$pid")"
    kill -0 "$pid" 2>/dev/null || die "$name exited during the run: $(tail -5 "$WORK/$name.log")"
    printf -v "${name}_TICKS" '%s' "$((p1 - p0))"
    printf -v "${name}_MSGS" '%s' "$((c1 - c0))"
    printf -v "${name}_POINTS" '%s' "$(point_readings "$file" "$c0" "$c1")"
    printf -v "${name}_SECONDS" '%s' "$(python3 -c "print($t1 - $t0)")"
    printf -v "${name}_HWM_KB" '%s' "$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")"
}

subscribe() {  # subscribe FILE TOPIC: one "topic payload" line per message, written as it arrives
    : >"$1"
    stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 0 -t "$2" -F '%t %p' >"$1" 2>"$1.err" &
    SUB_PID=$!
    PIDS+=("$SUB_PID")
    sleep 0.3
}

# fieldlink_config FILE INTERVAL: the one device, ten uint16 points, QoS 0.
fieldlink_config() {
    {
        cat <<EOF
gateway:
  id: peers
  state_dir: $WORK/state-$(basename "$1" .yaml)
mqtt:
  url: mqtt://127.0.0.1:$PORT
  keepalive: 60s
buses:
  - name: rs485
    type: modbus-rtu
    port: $TTY
    baud: 19200
    parity: none
    timeout: 1s
devices:
  - name: meter
    bus: rs485
    unit: 1
    interval: $2
    qos: 0
    topic: fieldlink/peers/meter
    points:
EOF
        for a in $(seq 0 $((REGISTERS - 1))); do echo "      - {name: r$a, address: $a, type: uint16}"; done
    } >"$1"
    "$FIELDLINK" check -q -c "$1" >"$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; die "fieldlink check rejected $1"; }
}

# peer_config FILE INTERVAL_S: modbus2mqtt's CSV map, one poller and one `ref` row per register.
peer_config() {
    {
        echo "type,topic,col2,col3,col4,col5,col6"
        echo "poll,meter,1,0,$REGISTERS,holding_register,$2"
        for a in $(seq 0 $((REGISTERS - 1))); do echo "ref,r$a,$a,r,uint16,,"; done
    } >"$1"
}
start_peer() {  # start_peer CSV: PEER_PID
    PYTHONUNBUFFERED=1 "$VENV/bin/modbus2mqtt" --rtu "$TTY" --rtu-parity none --always-publish --mqtt-host 127.0.0.1 --mqtt-port "$PORT" \
        --mqtt-topic modbus/ --config "$1" --verbosity 1 >"$WORK/peer.log" 2>&1 &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
}

# --- 1. the peer at 50 ms ----------------------------------------------------------------------
log "peer: modbus2mqtt every ${INTERVAL_MS}ms; warming up ${WARMUP}s, measuring ${SECONDS_RUN}s ..."
peer_config "$WORK/peer.csv" "$(python3 -c "print($INTERVAL_MS / 1000)")"
subscribe "$WORK/peer-messages.txt" "modbus/meter/state/#"
start_peer "$WORK/peer.csv"
measure peer "$PEER_PID" "$WORK/peer-messages.txt"
stop_pid "$PEER_PID"; stop_pid "$SUB_PID"

# --- 2. fieldlink at 50 ms, then strace on it --------------------------------------------------
log "fieldlink: every ${INTERVAL_MS}ms; warming up ${WARMUP}s, measuring ${SECONDS_RUN}s ..."
fieldlink_config "$WORK/busy.yaml" "${INTERVAL_MS}ms"
subscribe "$WORK/fieldlink-messages.txt" "fieldlink/peers/meter"
"$FIELDLINK" run -c "$WORK/busy.yaml" --log-target stderr 2>"$WORK/fieldlink.log" &
FL_PID=$!
PIDS+=("$FL_PID")
measure fieldlink "$FL_PID" "$WORK/fieldlink-messages.txt"
FL_THREADS="$(awk '/^Threads:/ { print $2 }' "/proc/$FL_PID/status")"

log "fieldlink: strace -c -f for ${STRACE_SECONDS}s ..."
S0="$(lines "$WORK/fieldlink-messages.txt")"
strace -c -f -p "$FL_PID" -o "$WORK/strace-fieldlink.txt" 2>"$WORK/strace-fieldlink.err" &
STRACE_PID=$!
PIDS+=("$STRACE_PID")
sleep "$STRACE_SECONDS"
kill -INT "$STRACE_PID"; wait "$STRACE_PID" 2>/dev/null || true
S1="$(lines "$WORK/fieldlink-messages.txt")"
FL_STRACE_POLLS=$((S1 - S0))
stop_pid "$FL_PID"; stop_pid "$SUB_PID"
syscalls_total() { awk '$NF == "total" { print $4 }' "$1"; }  # % time, seconds, usecs/call, calls, [errors], total
FL_SYSCALLS="$(syscalls_total "$WORK/strace-fieldlink.txt")"

# --- 3. the bare libmodbus loop under strace ---------------------------------------------------
log "bare libmodbus loop: strace -c -f for ${STRACE_SECONDS}s ..."
strace -c -f -o "$WORK/strace-baseline.txt" "$WORK/baseline" "$TTY" 1 0 "$REGISTERS" "$STRACE_SECONDS" "$SILENCE_US" >"$WORK/baseline.out"
B_POLLS="$(sed -n 's/.*reads=\([0-9]*\).*/\1/p' "$WORK/baseline.out")"
B_SYSCALLS="$(syscalls_total "$WORK/strace-baseline.txt")"

# --- 4. idle wake-ups: a 60 s interval, measured between two polls -----------------------------
idle_switches() {  # idle_switches PID NAME: context switches over IDLE_SECONDS, from 3 s after the start;
    # sets NAME_IDLE (all threads) and NAME_BUSIEST ("THREAD:N" for the thread that switched most)
    sleep 3
    thread_switches "$1" >"$WORK/idle-$2-before.txt"
    sleep "$IDLE_SECONDS"
    thread_switches "$1" >"$WORK/idle-$2-after.txt"
    read -r total busiest < <(awk 'NR == FNR { before[$1] = $3; next }
        { d = $3 - before[$1]; t += d; if (d > m) { m = d; who = $2 } } END { printf "%d %s:%d\n", t, who, m }' \
        "$WORK/idle-$2-before.txt" "$WORK/idle-$2-after.txt")
    printf -v "${2}_IDLE" '%s' "$total"
    printf -v "${2}_BUSIEST" '%s' "$busiest"
}
log "idle: fieldlink and the peer with a 60 s interval, ${IDLE_SECONDS}s each ..."
fieldlink_config "$WORK/idle.yaml" 60s
subscribe "$WORK/fieldlink-idle.txt" "fieldlink/peers/meter"
"$FIELDLINK" run -c "$WORK/idle.yaml" --log-target stderr 2>"$WORK/fieldlink-idle.log" &
FL_PID=$!
PIDS+=("$FL_PID")
wait_for 30 "fieldlink's first message (idle run)" test -s "$WORK/fieldlink-idle.txt"
idle_switches "$FL_PID" fieldlink
FL_IDLE_THREADS="$(awk '/^Threads:/ { print $2 }' "/proc/$FL_PID/status")"
grep -h '' /proc/"$FL_PID"/task/*/comm | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }' >"$WORK/threads.txt"
stop_pid "$FL_PID"; stop_pid "$SUB_PID"

peer_config "$WORK/peer-idle.csv" 60
subscribe "$WORK/peer-idle.txt" "modbus/meter/state/#"
start_peer "$WORK/peer-idle.csv"
# Its first poll comes at a random point of the first interval: wait for its MQTT loop instead.
wait_for 90 "the peer's MQTT connection (idle run)" grep -q "MQTT Loop started" "$WORK/peer.log"
idle_switches "$PEER_PID" peer
stop_pid "$PEER_PID"; stop_pid "$SUB_PID"

# --- 5. report ---------------------------------------------------------------------------------
python3 - <<EOF
ticks = $TICKS
p_cpu, p_points, p_msgs, p_s, p_hwm = $peer_TICKS / ticks, $peer_POINTS, $peer_MSGS, $peer_SECONDS, $peer_HWM_KB / 1024
f_cpu, f_points, f_msgs, f_s, f_hwm = $fieldlink_TICKS / ticks, $fieldlink_POINTS, $fieldlink_MSGS, $fieldlink_SECONDS, $fieldlink_HWM_KB / 1024
f_sys, f_polls, b_sys, b_polls = $FL_SYSCALLS, $FL_STRACE_POLLS, $B_SYSCALLS, ${B_POLLS:-0}
f_idle, p_idle, idle_s = $fieldlink_IDLE, $peer_IDLE, $IDLE_SECONDS
f_busiest_name, f_busiest = "${fieldlink_BUSIEST%%:*}", ${fieldlink_BUSIEST##*:}
target = $TARGET_RATIO

def per(a, b): return a / b if b else float("inf")
p_us, f_us = per(p_cpu, p_points) * 1e6, per(f_cpu, f_points) * 1e6
ratio = per(p_us, f_us)
print()
print(f"fieldlink vs spicier modbus2mqtt 0.73: 1 device, $REGISTERS holding registers (uint16 points) every ${INTERVAL_MS} ms,")
print(f"pymodbus RTU slave on a socat pty, QoS 0 to mosquitto on 127.0.0.1; ${WARMUP} s warm-up, then measured")
print()
print(f"{'':36}{'modbus2mqtt':>14}{'fieldlink':>14}{'peer/fieldlink':>16}")
print(f"{'CPU per point-reading, us':36}{p_us:14.1f}{f_us:14.1f}{ratio:16.1f}")
print(f"{'point-readings/s at the subscriber':36}{p_points / p_s:14.1f}{f_points / f_s:14.1f}{per(p_points / p_s, f_points / f_s):16.2f}")
print(f"{'messages/s':36}{p_msgs / p_s:14.1f}{f_msgs / f_s:14.1f}")
print(f"{'CPU % of one core':36}{100 * p_cpu / p_s:14.2f}{100 * f_cpu / f_s:14.2f}")
print(f"{'peak RSS (VmHWM), MB':36}{p_hwm:14.1f}{f_hwm:14.1f}{per(p_hwm, f_hwm):16.2f}")
print(f"{'idle: wake-ups/s (60 s interval)':36}{p_idle / idle_s:14.1f}{f_idle / idle_s:14.1f}")
print()
mark = "PASS" if ratio >= target else "FAIL"
print(f"CPU per point-reading: fieldlink {f_us:.1f} us, modbus2mqtt {p_us:.1f} us: {ratio:.1f}x less   (target >= {target}x)  {mark}")
mark = "PASS" if f_busiest / idle_s <= 1.0 else "FAIL"
print(f"fieldlink idle: {f_idle} context switches in {idle_s} s over $FL_IDLE_THREADS threads ($(cat "$WORK/threads.txt")); the busiest,")
print(f"  {f_busiest_name}, {f_busiest / idle_s:.1f}/s   (target: no thread wakes more often than once a second)  {mark}")
print(f"syscalls per poll (strace -c -f): fieldlink {per(f_sys, f_polls):.1f} ({f_sys} over {f_polls} polls at ${INTERVAL_MS} ms),")
print(f"  bare libmodbus loop {per(b_sys, b_polls):.1f} ({b_sys} over {b_polls} polls, back to back)")
print()
print("notes:")
print("- one point-reading = one register value that reached the subscriber: modbus2mqtt publishes one message per")
print("  register, fieldlink one JSON message per poll carrying every point.")
print("- CPU: utime+stime of the whole process (all threads) from /proc/PID/stat, 10 ms ticks; the slave's, the")
print("  broker's and the subscriber's CPU are excluded. Wake-ups: voluntary+nonvoluntary context switches summed")
print("  over /proc/PID/task/*; a thread blocked for the whole window adds none.")
print("- the machine may be shared and noisy: compare the ratios between runs, not the absolute figures.")
EOF
echo
echo "fieldlink syscalls (strace -c -f, ${STRACE_SECONDS} s at ${INTERVAL_MS} ms):"
head -n 12 "$WORK/strace-fieldlink.txt" | sed 's/^/  /'
echo "bare libmodbus loop syscalls:"
head -n 10 "$WORK/strace-baseline.txt" | sed 's/^/  /'
