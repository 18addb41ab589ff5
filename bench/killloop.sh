#!/usr/bin/env bash
# Kill loop (issue 19 §2): the gateway is killed with SIGKILL at random moments, KILLLOOP_RUNS times
# (100 by default), restarted each time, with `durability: always` and a subscriber on a persistent
# session; then one clean run and a clean stop. It reports:
#   lost        readings that entered the ring (the gateway's trace line "queued device=X seq=N")
#               and never reached the subscriber: the promise is 0;
#   false gaps  seq numbers from 1 to each device's last that reached no one and were never queued,
#               i.e. numbers skipped after a crash: the promise is 0;
#   duplicates  deliveries of a seq already received (allowed: receivers drop them by seq).
#
#   bash bench/killloop.sh                                  # release build, 100 kills
#   KILLLOOP_RUNS=20 bash bench/killloop.sh
#   FIELDLINK_BIN=.build/debug/fieldlink bash bench/killloop.sh   # skip the release build
#
# Only 127.0.0.1 is used; everything is stopped by PID.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${KILLLOOP_RUNS:-100}"
need_tools swift mosquitto mosquitto_sub socat python3

if [[ -n "${FIELDLINK_BIN:-}" ]]; then FIELDLINK="$FIELDLINK_BIN"; else build_release; fi
start_pty line
echo '{"units": {"1": [{"table": "holding", "address": 0, "type": "uint16", "value": 1}],
                 "2": [{"table": "holding", "address": 0, "type": "uint16", "value": 2}]}}' >"$WORK/image.json"
start_sim "$WORK/line-device" "$WORK/image.json"
port="$(free_port)"
start_mosquitto "$port"
# The persistent session (-c, a fixed id, QoS 1): the broker queues for it whatever it misses.
mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -c -i killloop-sub -t 'fieldlink/gw-kill/+' -F '%p' >"$WORK/received.txt" 2>/dev/null &
PIDS+=($!)
sleep 0.5
cat >"$WORK/fieldlink.yaml" <<EOF
gateway: {id: gw-kill, state_dir: $WORK/state}
time: {trust: always}
mqtt: {url: mqtt://127.0.0.1:$port, reconnect_delay: 200ms, reconnect_delay_max: 1s}
buffer: {durability: always}
buses:
  - {name: line, type: modbus-rtu, port: $WORK/line-gateway, parity: none, timeout: 300ms}
devices:
  - {name: dev1, bus: line, unit: 1, interval: 50ms, qos: 1, points: [{name: x, address: 0}]}
  - {name: dev2, bus: line, unit: 2, interval: 70ms, qos: 1, points: [{name: x, address: 0}]}
EOF
"$FIELDLINK" check --config "$WORK/fieldlink.yaml" >/dev/null

# run N SECONDS: the gateway at trace level (each reading logged once it is in the ring) for SECONDS.
start_gateway() {
    "$FIELDLINK" run --config "$WORK/fieldlink.yaml" --log-level trace --log-target stderr 2>"$WORK/run-$1.log" &
    GATEWAY_PID=$!
    PIDS+=("$GATEWAY_PID")
}

log "$RUNS kill -9s, each 0.2-2.0 s after the start ..."
started=$SECONDS
for run in $(seq 1 "$RUNS"); do
    start_gateway "$run"
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.2, 2.0), 3))')"
    kill -KILL "$GATEWAY_PID"
    wait "$GATEWAY_PID" 2>/dev/null || true
    (( run % 10 == 0 )) && log "  $run kills ($((SECONDS - started)) s)"
done
log "a clean run, then SIGTERM ..."
start_gateway last
sleep 3
kill -TERM "$GATEWAY_PID"
wait "$GATEWAY_PID" || die "the clean stop failed; see $WORK/run-last.log"

python3 - "$WORK" "$RUNS" <<'PY'
import json, re, sys, time, os
work, runs = sys.argv[1], int(sys.argv[2])
state = json.load(open(f"{work}/state/sequence.json"))
queued = {}
for name in os.listdir(work):
    if name.startswith("run-") and name.endswith(".log"):
        for line in open(f"{work}/{name}", errors="replace"):
            if " TRACE queued" in line:
                fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
                queued.setdefault(fields["device"], set()).add(int(fields["seq"]))
deadline = time.time() + 30
while True:
    received = {}
    count = 0
    for line in open(f"{work}/received.txt", errors="replace"):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and "seq" in message:
            received.setdefault(message["device"], []).append(message["seq"])
            count += 1
    if all(state[d] - 1 in received.get(d, []) for d in state) or time.time() > deadline:
        break
    time.sleep(0.5)
lost = gaps = duplicates = total = 0
for device, next_seq in sorted(state.items()):
    seen = set(received.get(device, []))
    duplicates += len(received.get(device, [])) - len(seen)
    missing = [s for s in range(1, next_seq) if s not in seen]
    device_lost = [s for s in missing if s in queued.get(device, set())]
    device_gaps = [s for s in missing if s not in queued.get(device, set())]
    lost += len(device_lost); gaps += len(device_gaps); total += next_seq - 1
    print(f"{device}: seq 1..{next_seq - 1}, {len(device_lost)} lost {device_lost[:10]}, {len(device_gaps)} false gap(s) {device_gaps[:10]}")
print(f"killloop: {runs} kill -9s, {total} readings numbered, {lost} lost (target 0), {gaps} false seq gap(s) (target 0), "
      f"{duplicates} duplicate deliveries ({duplicates / max(total, 1):.1%}; dropped by seq)")
sys.exit(0 if lost == 0 and gaps == 0 else 1)
PY
