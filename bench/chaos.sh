#!/usr/bin/env bash
# Chaos: CHAOS_SECONDS (default 60) of everything failing at once around one running gateway
# (release build, durability: always), then a check that nothing was lost that was not counted.
#
#   sudo bash bench/chaos.sh              # root: it mounts a small tmpfs as the state directory
#   CHAOS_SECONDS=30 bash bench/chaos.sh
#   FIELDLINK_BIN=path/to/fieldlink bash bench/chaos.sh   # skip the release build
#
# At the same time, on a fixed schedule:
#   - the broker flaps: SIGTERM every 2 s, restarted 2 s later on the same port (persistence on, so
#     what it acknowledged survives, as a real broker's would);
#   - one Modbus-TCP slave flaps: down 2 s in every 5 (its device publishes nothing meanwhile);
#   - a serial pty is unplugged and replugged: down 3 s in every 15 (the socat pair and the sensor
#     on its far end are killed and started again, so the gateway's port vanishes and comes back);
#   - the state disk (a TMPFS_MB MiB tmpfs mounted at gateway.state_dir) fills up for 6 s in every
#     20 (a dummy file written until ENOSPC, then removed).
# A subscriber with a persistent session (MQTT 3.1.1, clean session off, QoS 1; paho) records
# every message. The gateway runs with NOTIFY_SOCKET bound by this script and WATCHDOG_USEC set,
# as systemd would run it; every datagram is logged with its time.
#
# Afterwards, with everything back up, it waits for the ring to drain, reads `fieldlink buffer
# inspect` and the metrics textfile, stops the gateway (SIGTERM) and checks:
#   - per device: seq 1..last (last from sequence.json after the clean stop) all arrived, in order,
#     except readings the ring counted dropped: missing <= dropped, the same figure in inspect and
#     in the metrics (a record in flight when its segment is dropped may still arrive: counted, not missing);
#   - one process the whole run (no restart), READY=1 once, WATCHDOG=1 never more than
#     WATCHDOG_USEC apart, no "withholding the watchdog ping" in the log.
# Needs: root (mount), swift, cc, pkg-config + libmodbus-dev, mosquitto, socat, python3 + paho-mqtt
# and pyserial. Everything it starts is stopped by PID, the tmpfs unmounted; only 127.0.0.1 is used.
set -euo pipefail

RUN_SECONDS="${CHAOS_SECONDS:-60}"
TMPFS_MB="${CHAOS_TMPFS_MB:-8}"
WATCHDOG_USEC=10000000
MODBUS_DEVICES=8
INTERVAL_MS=20

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tools swift cc pkg-config mosquitto socat python3 mount umount
[[ $(id -u) == 0 ]] || die "chaos.sh mounts a tmpfs as the gateway's state directory: run it as root"
python3 -c 'import paho.mqtt.client, serial' 2>/dev/null || die "needs python3 paho-mqtt and pyserial (make test-deps)"

STATE="$WORK/state"
mkdir -p "$STATE"
chaos_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; kill -CONT "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if mountpoint -q "$STATE"; then
        [[ -n "${BENCH_KEEP:-}" ]] && cp -a "$STATE" "$WORK/state-at-exit" 2>/dev/null
        umount "$STATE" || log "could not unmount $STATE"
    fi
    cleanup
}
trap chaos_cleanup EXIT

if [[ -n "${FIELDLINK_BIN:-}" ]]; then FIELDLINK="$FIELDLINK_BIN"; else build_release --product fieldlink; fi
log "compiling bench/modbus_tcp_slave.c ..."
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
cc -O2 -Wall -o "$WORK/modbus_tcp_slave" "$ROOT/bench/modbus_tcp_slave.c" $(pkg-config --cflags --libs libmodbus)
mount -t tmpfs -o "size=${TMPFS_MB}m,mode=0700" fieldlink-chaos "$STATE" || die "cannot mount a tmpfs at $STATE"

# --- the peers, each with a start and a stop that the schedule calls -----------------------------
BROKER_PORT="$(free_port)"
mkdir -p "$WORK/mosquitto-db"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\npersistence_location %s/\nmax_queued_messages 0\n' \
    "$BROKER_PORT" "$WORK/mosquitto-db" >"$WORK/mosquitto.conf"
BROKER_PID=""
broker_up() {
    mosquitto -c "$WORK/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_for 10 "mosquitto on 127.0.0.1:$BROKER_PORT" listening "$BROKER_PORT"
}
broker_down() { kill -TERM "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""; }

STEADY_PORT="$(free_port)"
FLAPPING_PORT="$(free_port)"
FLAPPING_PID=""
slave_up() {  # slave_up PORT: prints nothing; the PID of the flapping one in FLAPPING_PID
    "$WORK/modbus_tcp_slave" "$1" 2>>"$WORK/slave-$1.log" &
    PIDS+=($!)
    [[ $1 == "$FLAPPING_PORT" ]] && FLAPPING_PID=$!
    wait_for 10 "the Modbus-TCP slave on $1" listening "$1"
}
slave_down() { kill -TERM "$FLAPPING_PID"; wait "$FLAPPING_PID" 2>/dev/null || true; FLAPPING_PID=""; }

printf 'T={n} H=40\r\n' >"$WORK/serial-line.txt"
SOCAT_PID="" SENSOR_PID=""
pty_up() {
    start_pty tty
    SOCAT_PID="${PIDS[-1]}"
    python3 "$ROOT/scripts/serial_device.py" --port "$WORK/tty-device" --baud 115200 --stream "$WORK/serial-line.txt" \
        --rate 20 2>>"$WORK/sensor.log" &
    SENSOR_PID=$!
    PIDS+=("$SENSOR_PID")
}
pty_down() {
    kill -TERM "$SOCAT_PID" "$SENSOR_PID" 2>/dev/null || true
    wait "$SOCAT_PID" "$SENSOR_PID" 2>/dev/null || true
    SOCAT_PID="" SENSOR_PID=""
}

disk_full() { dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null || true; }  # stops at ENOSPC
disk_free() { rm -f "$STATE/filler"; }

# --- the subscriber and the notify socket --------------------------------------------------------
cat >"$WORK/subscriber.py" <<'PY'
import sys, time
import paho.mqtt.client as mqtt
port, out_path = int(sys.argv[1]), sys.argv[2]
out = open(out_path, "a", buffering=1)
events = open(out_path + ".events", "a", buffering=1)
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="chaos-sub", clean_session=False, protocol=mqtt.MQTTv311)
client.reconnect_delay_set(min_delay=0.2, max_delay=0.5)
def on_connect(client, userdata, flags, reason, properties):
    events.write(f"{time.monotonic():.3f} connected session_present={flags.session_present} {reason}\n")
    if not flags.session_present:
        client.subscribe("fieldlink/chaos/+", qos=1)
def on_message(client, userdata, message):
    out.write(message.payload.decode("utf-8", "replace") + "\n")  # written before paho's PUBACK goes out
client.on_connect, client.on_message = on_connect, on_message
client.connect("127.0.0.1", port, keepalive=5)
print("connected", file=sys.stderr, flush=True)
client.loop_forever(retry_first_connection=True)
PY
cat >"$WORK/notify.py" <<'PY'
import socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
print("bound", file=sys.stderr, flush=True)
while True:
    data = sock.recv(65536).decode("utf-8", "replace")
    for field in data.split("\n"):
        if field:
            out.write(f"{time.monotonic():.3f} {field[:200]!r}\n")
PY

broker_up
: >"$WORK/messages.txt"
python3 "$WORK/subscriber.py" "$BROKER_PORT" "$WORK/messages.txt" 2>"$WORK/subscriber.log" &
PIDS+=($!)
wait_for 10 "the subscriber" grep -qs connected "$WORK/subscriber.log"
wait_for 10 "the subscriber's session" grep -qs "connected" "$WORK/messages.txt.events"
sleep 0.5
python3 "$WORK/notify.py" "$WORK/notify.sock" "$WORK/notify.log" 2>"$WORK/notify.err" &
PIDS+=($!)
wait_for 10 "the notify socket" grep -qs bound "$WORK/notify.err"
slave_up "$STEADY_PORT"
slave_up "$FLAPPING_PORT"
pty_up

CONFIG="$WORK/fieldlink.yaml"
{
    printf 'gateway: {id: chaos, state_dir: %s}\ntime: {trust: always}\n' "$STATE"
    printf 'mqtt: {url: "mqtt://127.0.0.1:%s", reconnect_delay: 100ms, reconnect_delay_max: 1s}\n' "$BROKER_PORT"
    printf 'buffer: {durability: always, max_bytes: 2MiB}\n'
    printf 'metrics: {textfile: %s/fieldlink.prom, interval: 1s}\nbuses:\n' "$WORK"
    printf '  - {name: plc, type: modbus-tcp, host: 127.0.0.1, port: %s, timeout: 200ms}\n' "$STEADY_PORT"
    printf '  - {name: flaky, type: modbus-tcp, host: 127.0.0.1, port: %s, timeout: 200ms, backoff_max: 1s}\n' "$FLAPPING_PORT"
    printf '  - {name: tty, type: serial, port: %s/tty-gateway, baud: 115200, delimiter: "\\r\\n"}\n' "$WORK"
    printf 'devices:\n'
    for n in $(seq 1 "$MODBUS_DEVICES"); do
        printf '  - {name: meter%s, bus: plc, unit: %s, interval: %sms, qos: 1, points: [{name: v, address: 0, type: float32}, {name: n, address: 9, type: uint16}]}\n' \
            "$n" "$n" "$INTERVAL_MS"
    done
    printf '  - {name: flapper, bus: flaky, unit: 1, interval: %sms, qos: 1, points: [{name: v, address: 0, type: float32}, {name: n, address: 9, type: uint16}]}\n' "$INTERVAL_MS"
    printf '  - {name: thermo, bus: tty, interval: 100ms, parser: keyvalue, qos: 1, points: [{name: T, type: int}, {name: H, type: int}]}\n'
} >"$CONFIG"
check_config "$CONFIG"

NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC="$WATCHDOG_USEC" start_fieldlink "$CONFIG"
wait_for 30 "READY=1 from fieldlink" grep -q "READY=1" "$WORK/notify.log"
sleep 2

# --- the schedule: every 0.25 s each fault is brought to the state its clock says ----------------
log "chaos for ${RUN_SECONDS}s: broker 2 s up / 2 s down, slave down 2 s in 5, pty down 3 s in 15, disk full 6 s in 20 ..."
broker=up flapper=up pty=up disk=free
broker_flaps=0 slave_flaps=0 unplugs=0 fills=0
START_NS=$(date +%s%N)
while :; do
    ms=$(( ($(date +%s%N) - START_NS) / 1000000 ))
    (( ms < RUN_SECONDS * 1000 )) || break
    kill -0 "$FL_PID" 2>/dev/null || die "fieldlink exited during the chaos: $(tail -5 "$WORK/fieldlink.log")"
    want=$(( (ms / 2000) % 2 == 0 ? 1 : 0 ))
    if [[ $broker == up && $want == 0 ]]; then broker_down; broker=down; broker_flaps=$((broker_flaps + 1)); fi
    if [[ $broker == down && $want == 1 ]]; then broker_up; broker=up; fi
    want=$(( ms % 5000 < 3000 ? 1 : 0 ))
    if [[ $flapper == up && $want == 0 ]]; then slave_down; flapper=down; slave_flaps=$((slave_flaps + 1)); fi
    if [[ $flapper == down && $want == 1 ]]; then slave_up "$FLAPPING_PORT"; flapper=up; fi
    want=$(( (ms % 15000 < 5000 || ms % 15000 >= 8000) ? 1 : 0 ))
    if [[ $pty == up && $want == 0 ]]; then pty_down; pty=down; unplugs=$((unplugs + 1)); fi
    if [[ $pty == down && $want == 1 ]]; then pty_up; pty=up; fi
    want=$(( (ms % 20000 >= 8000 && ms % 20000 < 14000) ? 1 : 0 ))
    if [[ $disk == free && $want == 1 ]]; then disk_full; disk=full; fills=$((fills + 1)); fi
    if [[ $disk == full && $want == 0 ]]; then disk_free; disk=free; fi
    sleep 0.25
done
[[ $broker == up ]] || broker_up
[[ $flapper == up ]] || slave_up "$FLAPPING_PORT"
[[ $pty == up ]] || pty_up
disk_free
log "chaos over (broker stopped $broker_flaps times, slave $slave_flaps, pty unplugged $unplugs, disk filled $fills); waiting for the ring to drain ..."

metric() { awk -v name="$1" '$1 == name { print $2 }' "$WORK/fieldlink.prom" 2>/dev/null; }
# Readings keep coming, so the ring is never quite empty: drained is the backlog gone (the oldest
# message under a second old); what is left goes out at the clean stop below.
drained() { awk -v age="$(metric fieldlink_ring_oldest_message_age_seconds)" 'BEGIN { exit !(age != "" && age < 1) }'; }
wait_for 120 "the ring to drain (oldest message under 1 s old)" drained
sleep 2  # the metrics file and the state file follow within a second
INSPECT="$("$FIELDLINK" buffer inspect -c "$CONFIG" 2>&1)" || die "buffer inspect failed: $INSPECT"
METRIC_DROPPED="$(metric fieldlink_ring_dropped_messages_total)"
INSPECT_DROPPED="$(sed -n 's/^dropped: \([0-9]*\).*/\1/p' <<<"$INSPECT")"
kill -0 "$FL_PID" 2>/dev/null || die "fieldlink exited: $(tail -5 "$WORK/fieldlink.log")"
kill -TERM "$FL_PID"
FL_STATUS=0
wait "$FL_PID" 2>/dev/null || FL_STATUS=$?
settled() { local a b; a=$(wc -l <"$WORK/messages.txt"); sleep 2; b=$(wc -l <"$WORK/messages.txt"); [[ $a == "$b" ]]; }
wait_for 60 "the subscriber to settle" settled
AFTER_STOP="$("$FIELDLINK" buffer inspect -c "$CONFIG" 2>&1)" || die "buffer inspect failed: $AFTER_STOP"
cp "$STATE/sequence.json" "$WORK/sequence-final.json"

python3 - "$WORK" "$WATCHDOG_USEC" "$INSPECT_DROPPED" "$METRIC_DROPPED" "$FL_STATUS" <<'PY'
import ast, json, sys
work, watchdog_usec, inspect_dropped, metric_dropped, status = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
last = {device: nxt - 1 for device, nxt in json.load(open(f"{work}/sequence-final.json")).items()}
got = {}
for line in open(f"{work}/messages.txt"):
    if line.startswith("{"):
        m = json.loads(line)
        got.setdefault(m["device"], []).append(m["seq"])
missing = disorder = duplicates = received = 0
print("per device: last seq (sequence.json) / distinct received / missing / duplicates / out of order")
for device in sorted(last):
    seqs = got.get(device, [])
    seen, highest, dev_disorder = set(), 0, 0
    for s in seqs:
        if s in seen:
            continue
        if s < highest:
            dev_disorder += 1
        seen.add(s)
        highest = max(highest, s)
    dev_missing = len(set(range(1, last[device] + 1)) - seen)
    extra = len(seen - set(range(1, last[device] + 1)))
    print(f"  {device:10} {last[device]:7} {len(seen):8} {dev_missing:6} {len(seqs) - len(seen):6} {dev_disorder:6}" + (f"  ({extra} beyond the last seq!)" if extra else ""))
    missing += dev_missing + extra
    disorder += dev_disorder
    duplicates += len(seqs) - len(seen)
    received += len(seen)
notes = [line.split(" ", 1) for line in open(f"{work}/notify.log")]
times = [float(t) for t, field in notes if ast.literal_eval(field.strip()) == "WATCHDOG=1"]
readies = sum(1 for _, field in notes if ast.literal_eval(field.strip()) == "READY=1")
gap = max((b - a for a, b in zip(times, times[1:])), default=float("inf"))
withheld = sum("withholding the watchdog ping" in line for line in open(f"{work}/fieldlink.log"))
print(f"readings that entered the ring {sum(last.values())}, distinct received {received}, duplicates {duplicates}")
print(f"missing seq {missing}; dropped: buffer inspect {inspect_dropped}, metrics {metric_dropped}")
# A record already sent when its segment is dropped may still reach the broker: counted dropped,
# yet received. So every missing seq must be counted (missing <= dropped), never the other way.
ok_drops = inspect_dropped == metric_dropped and inspect_dropped.isdigit() and missing <= int(inspect_dropped)
if ok_drops:
    print(f"  counted dropped but received anyway (in flight when their segment went): {int(inspect_dropped) - missing}")
print(f"  target: every missing seq counted as dropped, in both         {'met' if ok_drops else 'MISSED'}")
print(f"  target: in order per device (out of order: {disorder})             {'met' if disorder == 0 else 'MISSED'}")
print(f"WATCHDOG=1 pings {len(times)}, largest gap {gap:.2f} s (WATCHDOG_USEC {watchdog_usec / 1e6:.0f} s), READY=1 {readies}x, pings withheld {withheld}x, exit status {status}")
ok_dog = gap < watchdog_usec / 1e6 and readies == 1 and withheld == 0 and status == 0
print(f"  target: no restart, the watchdog never fires                   {'met' if ok_dog else 'MISSED'}")
PY
{
    echo "--- buffer inspect (drained, before the stop)"; echo "$INSPECT"
    echo "--- buffer inspect (after the stop)"; echo "$AFTER_STOP"
    echo "--- subscriber sessions"; cat "$WORK/messages.txt.events"
    echo "--- fieldlink warnings and errors (first 40)"; grep -E ' (WARNING|ERROR|CRITICAL) ' "$WORK/fieldlink.log" | head -40 || true
} >&2
