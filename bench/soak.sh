#!/usr/bin/env bash
# Soak: SOAK_READINGS readings (default 1,000,000) from SOAK_DEVICES Modbus-TCP devices (default 20)
# polled at the 10 ms minimum interval, each on its own bus (own owner thread and connection), into a
# local mosquitto with a QoS 1 subscriber counting what arrives. The release build as shipped.
# Every SOAK_SAMPLE seconds (default 5) it samples the gateway's RSS, open file descriptors
# (/proc/PID/fd) and threads; at the end it compares the last sample with the one taken once
# SOAK_WARMUP readings (default 100,000) had arrived.
#
#   bash bench/soak.sh                    # about 9 minutes at 20 x 100 readings/s
#   SOAK_READINGS=100000 bash bench/soak.sh
#   FIELDLINK_BIN=path/to/fieldlink bash bench/soak.sh   # skip the release build
#
# Targets: RSS at the end within 1 MB of RSS after warm-up; no fd or thread growth. Also checks that
# every device's seq arrived without a gap. Needs: swift, cc, pkg-config + libmodbus-dev, mosquitto,
# mosquitto_sub, python3. Everything it starts is stopped by PID; it writes only to one mktemp
# directory and .build-bench/. Only 127.0.0.1 is used.
set -euo pipefail

READINGS="${SOAK_READINGS:-1000000}"
DEVICES="${SOAK_DEVICES:-20}"
SAMPLE="${SOAK_SAMPLE:-5}"
WARMUP="${SOAK_WARMUP:-100000}"
INTERVAL_MS=10   # the smallest interval the config accepts

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tools swift cc pkg-config mosquitto mosquitto_sub python3 stdbuf

if [[ -n "${FIELDLINK_BIN:-}" ]]; then FIELDLINK="$FIELDLINK_BIN"; else build_release --product fieldlink; fi
log "compiling bench/modbus_tcp_slave.c ..."
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
cc -O2 -Wall -o "$WORK/modbus_tcp_slave" "$ROOT/bench/modbus_tcp_slave.c" $(pkg-config --cflags --libs libmodbus)

SLAVE_PORT="$(free_port)"
"$WORK/modbus_tcp_slave" "$SLAVE_PORT" 2>"$WORK/slave.log" &
SLAVE_PID=$!
PIDS+=("$SLAVE_PID")
wait_for 10 "the Modbus-TCP slave" listening "$SLAVE_PORT"

BROKER_PORT="$(free_port)"
# No broker-side queue limit: a subscriber that falls behind must not turn into a count the gateway lost.
start_mosquitto "$BROKER_PORT" "max_queued_messages 0"

CONFIG="$WORK/fieldlink.yaml"
{
    printf 'gateway: {id: soak, state_dir: %s/state}\ntime: {trust: always}\nmqtt: {url: "mqtt://127.0.0.1:%s"}\n' "$WORK" "$BROKER_PORT"
    printf 'metrics: {textfile: %s/fieldlink.prom, interval: 1s}\nbuses:\n' "$WORK"
    for n in $(seq 1 "$DEVICES"); do
        printf '  - {name: plc%s, type: modbus-tcp, host: 127.0.0.1, port: %s}\n' "$n" "$SLAVE_PORT"
    done
    printf 'devices:\n'
    for n in $(seq 1 "$DEVICES"); do
        printf '  - name: meter%s\n    bus: plc%s\n    unit: %s\n    interval: %sms\n    qos: 1\n    points:\n' "$n" "$n" "$n" "$INTERVAL_MS"
        printf '      - {name: voltage, address: 0, type: float32, unit: V}\n'
        printf '      - {name: current, address: 2, type: float32, order: CDAB, unit: A}\n'
        printf '      - {name: power, address: 4, type: int32, scale: 0.1, unit: W}\n'
        printf '      - {name: energy, address: 6, type: uint32, order: CDAB, scale: 0.01, unit: kWh}\n'
        printf '      - {name: frequency, address: 8, type: uint16, scale: 0.01, unit: Hz}\n'
        printf '      - {name: counter, address: 9, type: uint16}\n'
    done
} >"$CONFIG"
check_config "$CONFIG"

start_line_subscriber "$BROKER_PORT" "fieldlink/soak/+" soak-sub

log "fieldlink: $DEVICES devices on $DEVICES Modbus-TCP buses every ${INTERVAL_MS}ms until $READINGS readings arrive; sampling every ${SAMPLE}s ..."
start_fieldlink "$CONFIG"
lines() { wc -l <"$SUB_OUT" | tr -d ' '; }
sample() {  # seconds readings rss_kb fds threads
    local rss threads fds
    rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$FL_PID/status")"
    threads="$(awk '/^Threads:/ { print $2 }' "/proc/$FL_PID/status")"
    fds="$(find "/proc/$FL_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)"
    echo "$SECONDS $(lines) $rss $fds $threads"
}
SAMPLES="$WORK/samples.txt"
: >"$SAMPLES"
START=$SECONDS
while :; do
    kill -0 "$FL_PID" 2>/dev/null || die "fieldlink exited during the soak: $(tail -5 "$WORK/fieldlink.log")"
    line="$(sample)"
    echo "$((${line%% *} - START)) ${line#* }" >>"$SAMPLES"
    read -r _ got _ <<<"$line"
    (( got >= READINGS )) && break
    sleep "$SAMPLE"
done
HWM_KB="$(awk '/^VmHWM:/ { print $2 }' "/proc/$FL_PID/status")"
cp "$WORK/fieldlink.prom" "$WORK/final.prom" 2>/dev/null || true
kill -TERM "$FL_PID"
FL_STATUS=0
wait "$FL_PID" 2>/dev/null || FL_STATUS=$?
sleep 1
LOG_PROBLEMS="$(grep -cE ' (WARNING|ERROR|CRITICAL) ' "$WORK/fieldlink.log" || true)"

python3 - "$SAMPLES" "$SUB_OUT" "$WORK/final.prom" <<EOF
import json, sys
samples = [tuple(int(x) for x in line.split()) for line in open(sys.argv[1]) if line.strip()]
warm = next(s for s in samples if s[1] >= $WARMUP)
end = samples[-1]
seqs, errors = {}, 0
for line in open(sys.argv[2]):
    if not line.startswith("{"):
        continue  # the retained status ("online")
    m = json.loads(line)
    seqs.setdefault(m["device"], []).append(m["seq"])
    errors += "errors" in m
gaps = dups = disorder = 0
for device, got in seqs.items():
    seen = set()
    for a, b in zip(got, got[1:]):
        if b <= a:
            disorder += b not in seen
    distinct = sorted(set(got))
    dups += len(got) - len(distinct)
    gaps += (distinct[-1] - distinct[0] + 1) - len(distinct)
published = "?"
try:  # one line per QoS
    published = sum(float(line.split()[-1]) for line in open(sys.argv[3]) if line.startswith("fieldlink_mqtt_acknowledged_messages_total{"))
    published = f"{published:.0f}"
except OSError:
    pass
seconds = end[0] - warm[0]
rate = (end[1] - warm[1]) / seconds if seconds else 0
print(f"Soak: $DEVICES Modbus-TCP devices (own bus each) every ${INTERVAL_MS} ms, QoS 1, release build, {end[1]} readings in {end[0]} s")
print(f"  readings/s after warm-up          {rate:10.0f}   (schedule ceiling $DEVICES x {1000 // $INTERVAL_MS} = {$DEVICES * 1000 // $INTERVAL_MS})")
print(f"  devices seen / seq gaps / duplicates / out of order   {len(seqs)} / {gaps} / {dups} / {disorder}")
print(f"  messages with point errors        {errors}")
print(f"  {'':26} {'t (s)':>7} {'readings':>9} {'RSS kB':>8} {'fds':>5} {'threads':>8}")
print(f"  {'first sample':26} {samples[0][0]:7} {samples[0][1]:9} {samples[0][2]:8} {samples[0][3]:5} {samples[0][4]:8}")
print(f"  {'after warm-up ($WARMUP)':26} {warm[0]:7} {warm[1]:9} {warm[2]:8} {warm[3]:5} {warm[4]:8}")
print(f"  {'end':26} {end[0]:7} {end[1]:9} {end[2]:8} {end[3]:5} {end[4]:8}")
after = [s for s in samples if s[0] >= warm[0]]
print(f"  after warm-up: RSS min {min(s[2] for s in after)} kB, max {max(s[2] for s in after)} kB; fds {min(s[3] for s in after)}-{max(s[3] for s in after)}; threads {min(s[4] for s in after)}-{max(s[4] for s in after)}; peak RSS (VmHWM) $HWM_KB kB")
drift = end[2] - warm[2]
print(f"  RSS end - after warm-up           {drift:+d} kB   (target within 1024 kB)  {'met' if abs(drift) <= 1024 else 'MISSED'}")
# Growth: the fewest fds/threads over the last 6 samples against the fewest over the first 6 after
# warm-up; the minimum skips what is open for a moment (the metrics file's temporary copy, each second).
first, last = after[:6], after[-6:]
fd_growth = min(s[3] for s in last) - min(s[3] for s in first)
thread_growth = min(s[4] for s in last) - min(s[4] for s in first)
print(f"  fd growth {fd_growth:+d}, thread growth {thread_growth:+d} (fewest in the last 6 samples vs the first 6 after warm-up; target no growth)  {'met' if fd_growth <= 0 and thread_growth <= 0 else 'MISSED'}")
print(f"  acknowledged by the broker (metrics) {published}; fieldlink exit status $FL_STATUS; warning/error log lines $LOG_PROBLEMS")
EOF
cp "$SAMPLES" "${SOAK_SAMPLES_OUT:-/dev/null}" 2>/dev/null || true
