#!/usr/bin/env bash
# Broker failover at the default settings: the time from losing the primary to the first message
# the secondary acknowledges, and the longest gap in delivery per device.
#
#   bash bench/failover.sh                 # DEVICES=3 devices polled every 1 s, defaults for everything else
#   FAILOVER_DEVICES=5 bash bench/failover.sh
#
# Defaults matter here: failover_after is 3 keepalives (90 s with keepalive 30 s), so a run takes
# about two minutes. The primary is killed with SIGKILL (a host that vanishes), not stopped cleanly.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DEVICES="${FAILOVER_DEVICES:-3}"
need_tools swift mosquitto mosquitto_sub socat python3

build_release
PRIMARY="$(free_port)"; start_mosquitto "$PRIMARY"; PRIMARY_PID="$MOSQUITTO_PID"
SECONDARY="$(free_port)"; start_mosquitto "$SECONDARY"
start_pty line
python3 - "$DEVICES" >"$WORK/image.json" <<'PY'
import json, sys
print(json.dumps({"units": {str(u): [{"table": "holding", "address": 0, "type": "uint16", "value": u}] for u in range(1, int(sys.argv[1]) + 1)}}))
PY
start_sim "$WORK/line-device" "$WORK/image.json"

# One subscriber per broker, printing the arrival time (%U: Unix seconds.nanoseconds) of each message.
for port in "$PRIMARY" "$SECONDARY"; do
    mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -t 'fieldlink/+/+' -F "%U $port %p" >"$WORK/sub-$port.txt" 2>/dev/null &
    PIDS+=($!)
done

{
    printf 'gateway: {id: gw-bench, state_dir: %s/state}\n' "$WORK"
    printf 'mqtt:\n  urls: [mqtt://127.0.0.1:%s, mqtt://127.0.0.1:%s]\n' "$PRIMARY" "$SECONDARY"
    printf 'buses:\n  - {name: line, type: modbus-rtu, port: %s/line-gateway, parity: none}\ndevices:\n' "$WORK"
    for unit in $(seq 1 "$DEVICES"); do
        printf '  - {name: dev%s, bus: line, unit: %s, interval: 1s, points: [{name: x, address: 0}]}\n' "$unit" "$unit"
    done
} >"$WORK/fieldlink.yaml"
"$FIELDLINK" check --config "$WORK/fieldlink.yaml" >/dev/null
"$FIELDLINK" run --config "$WORK/fieldlink.yaml" 2>"$WORK/fieldlink.log" &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_for 30 "telemetry at the primary" grep -q . "$WORK/sub-$PRIMARY.txt"
sleep 5

LOST="$(date +%s.%N)"
log "killing the primary (SIGKILL) at $LOST; waiting for the gateway to fail over (default failover_after) ..."
kill -9 "$PRIMARY_PID"
wait_for 400 "telemetry at the secondary" grep -q . "$WORK/sub-$SECONDARY.txt"
sleep 10
kill -TERM "$GATEWAY_PID"
wait "$GATEWAY_PID" || true

python3 - "$LOST" "$WORK/sub-$PRIMARY.txt" "$WORK/sub-$SECONDARY.txt" "$WORK/fieldlink.log" <<'PY'
import json, sys
lost = float(sys.argv[1])
arrivals = {}   # device -> [(arrival, seq)]
first_secondary = None
for path, is_secondary in ((sys.argv[2], False), (sys.argv[3], True)):
    for line in open(path):
        stamp, _port, payload = line.split(" ", 2)
        if not payload.startswith("{"):
            continue  # the retained status (online/offline)
        message = json.loads(payload)
        arrivals.setdefault(message["device"], []).append((float(stamp), message["seq"]))
        if is_secondary:
            first_secondary = min(first_secondary or float(stamp), float(stamp))
log = open(sys.argv[4]).read()
print("fieldlink failover bench: %d device(s) polled every 1 s, QoS 1, default settings (keepalive 30s, failover_after 90s)" % len(arrivals))
print("primary killed with SIGKILL; the secondary was up all along\n")
print("loss of the primary -> first message acknowledged by the secondary: %.1f s" % (first_secondary - lost))
print("  (the gateway notices the dead TCP connection at its next keepalive or write, then retries the")
print("   primary for failover_after before it moves on; both are configurable: keepalive, failover_after)\n")
print("%-8s %10s %12s %10s" % ("device", "messages", "longest gap", "missing"))
for device in sorted(arrivals):
    items = sorted(arrivals[device])
    gap = max(b[0] - a[0] for a, b in zip(items, items[1:]))
    seqs = {s for _, s in items}
    missing = [s for s in range(min(seqs), max(seqs) + 1) if s not in seqs]
    print("%-8s %10d %10.1f s %10d" % (device, len(items), gap, len(missing)))
print("\nthe gateway logged:", *[l.split(" ", 2)[2][:140] for l in log.splitlines() if "failing over" in l or "connected to" in l], sep="\n  ")
PY
