#!/usr/bin/env bash
# The bundled demo: a simulated Modbus-RTU energy meter and climate sensor on a socat pty pair,
# a mosquitto on 127.0.0.1:18830, mosquitto_sub printing what arrives, and fieldlink between them.
# Ctrl-C stops everything. DEMO_SECONDS=N stops it after N seconds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.demo"
bin=${FIELDLINK_BIN:-"$root/.build/release/fieldlink"}
port=18830
mkdir -p "$demo"
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: something already listens on 127.0.0.1:$port (an earlier demo?); stop it first" >&2
    exit 1
fi

cat > "$demo/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
user root
CONF
mosquitto -c "$demo/mosquitto.conf" >"$demo/mosquitto.log" 2>&1 &
pids+=($!)

rm -f "$demo/ttyGateway" "$demo/ttyDevice"
socat pty,raw,echo=0,link="$demo/ttyGateway" pty,raw,echo=0,link="$demo/ttyDevice" 2>"$demo/socat.log" &
pids+=($!)
for _ in $(seq 50); do [[ -e $demo/ttyDevice ]] && break; sleep 0.1; done

python3 "$root/scripts/modbus_sim.py" --port "$demo/ttyDevice" --parity N --demo 2>"$demo/modbus_sim.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "serving units" "$demo/modbus_sim.log" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

echo "demo: simulated meter (unit 1) and climate sensor (unit 2) on $demo/ttyGateway; broker on 127.0.0.1:$port" >&2
echo "demo: telemetry as it arrives at the broker (mosquitto_sub -t 'fieldlink/#'):" >&2
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'fieldlink/#' -v &
pids+=($!)

"$bin" check --config "$root/config/demo.yaml"
"$bin" run --config "$root/config/demo.yaml" &
gateway=$!
pids+=("$gateway")
if [[ -n ${DEMO_SECONDS:-} ]]; then
    sleep "$DEMO_SECONDS"
    kill -TERM "$gateway"
fi
wait "$gateway"
