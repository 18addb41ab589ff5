#!/usr/bin/env bash
# MQTT publish benchmark: fieldlink's publisher (DiskRing + MQTTPublisher draining a backlog) against a
# bare libmosquitto loop, at QoS 0, 1 and 2, over plain TCP and TLS, to a local mosquitto; then QoS 1
# over a simulated 50 ms round trip (a delaying TCP proxy) at several in-flight windows.
#
#   bash bench/mqtt.sh                                   # MQTT_BENCH_COUNT=200000, MQTT_BENCH_REPEAT=3
#   MQTT_BENCH_COUNT=50000 MQTT_BENCH_REPEAT=1 bash bench/mqtt.sh   # a quick look
#
# Knobs: MQTT_BENCH_COUNT (messages per QoS 0 / QoS 1 run, default 200000), MQTT_BENCH_COUNT_QOS2
# (default 100000), MQTT_BENCH_REPEAT (interleaved baseline/fieldlink pairs per row, median reported;
# default 3), MQTT_BENCH_INFLIGHT (window for the local runs, default 100), MQTT_BENCH_QOS ("0 1 2"),
# MQTT_BENCH_TRANSPORTS ("tcp tls"), MQTT_BENCH_DELAY_COUNT (messages per delayed-link run, default
# 5000), MQTT_BENCH_DELAY_MS (one-way delay, default 25), MQTT_BENCH_DELAY_WINDOWS ("20 100 400"),
# MQTT_BENCH_KEEP=1 (keep the temp dir).
#
# Needs: swift, cc, pkg-config + libmosquitto-dev, mosquitto, openssl, python3 (stdlib only).
# Everything it starts is stopped by PID on exit; everything it writes is in one mktemp directory,
# plus the release build in .build-bench/ (shared with run.sh and ring.sh). Only 127.0.0.1 is used.
# See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${MQTT_BENCH_COUNT:-200000}"
COUNT_QOS2="${MQTT_BENCH_COUNT_QOS2:-100000}"
REPEAT="${MQTT_BENCH_REPEAT:-3}"
INFLIGHT="${MQTT_BENCH_INFLIGHT:-100}"
QOS_LIST="${MQTT_BENCH_QOS:-0 1 2}"
TRANSPORTS="${MQTT_BENCH_TRANSPORTS:-tcp tls}"
DELAY_COUNT="${MQTT_BENCH_DELAY_COUNT:-5000}"
DELAY_MS="${MQTT_BENCH_DELAY_MS:-25}"
DELAY_WINDOWS="${MQTT_BENCH_DELAY_WINDOWS:-20 100 400}"
DEFAULT_INFLIGHT=100   # fieldlink's mqtt.max_inflight default
LIBMOSQ_INFLIGHT=20    # libmosquitto's (and mosquitto's) default
FAST_REPLAY=10000000   # "high enough not to limit"
TARGET_RATIO=0.9

for knob in COUNT COUNT_QOS2 REPEAT INFLIGHT DELAY_COUNT DELAY_MS; do
    [[ "${!knob}" =~ ^[0-9]+$ ]] && (( ${!knob} >= 1 )) || { echo "mqtt bench: $knob must be a positive whole number" >&2; exit 2; }
done
for q in $QOS_LIST; do [[ "$q" =~ ^[012]$ ]] || { echo "mqtt bench: MQTT_BENCH_QOS holds 0, 1 or 2" >&2; exit 2; }; done
for t in $TRANSPORTS; do [[ "$t" == tcp || "$t" == tls ]] || { echo "mqtt bench: MQTT_BENCH_TRANSPORTS holds tcp or tls" >&2; exit 2; }; done
for w in $DELAY_WINDOWS; do [[ "$w" =~ ^[0-9]+$ ]] && (( w >= 1 )) || { echo "mqtt bench: MQTT_BENCH_DELAY_WINDOWS holds positive numbers" >&2; exit 2; }; done
for tool in swift cc pkg-config mosquitto openssl python3; do
    command -v "$tool" >/dev/null || { echo "mqtt bench: missing tool: $tool" >&2; exit 2; }
done

BENCH_KEEP="${MQTT_BENCH_KEEP:-${BENCH_KEEP:-}}"
source "$ROOT/bench/lib.sh"

# --- build -------------------------------------------------------------------------------------
build_ring_bench

# --- certificates (as Tests/IntegrationTests/MQTTSecurityTests.swift makes them) ---------------
log "making a test CA and a server certificate for localhost with openssl ..."
PKI="$WORK/pki"
mkdir -p "$PKI"
{
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
        -days 2 -subj "/CN=fieldlink bench CA"
    printf 'subjectAltName=DNS:localhost\n' >"$PKI/server.ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/server.key" -out "$PKI/server.csr" \
        -subj "/CN=localhost"
    openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -out "$PKI/server.crt" \
        -days 2 -extfile "$PKI/server.ext"
} >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; die "openssl failed"; }

# --- brokers and the delaying proxy ------------------------------------------------------------

# The bench broker: a plain and a TLS listener. `max_inflight_messages 0` (no limit) because mosquitto
# advertises that setting to MQTT 5 clients as Receive Maximum, and libmosquitto then caps the client's
# window at it (default 20): with it, every window above 20 would silently be 20. `set_tcp_nodelay
# true` so the broker's PUBACKs are not held back by Nagle behind the delaying proxy.
PORT="$(free_port)"
TLS_PORT="$(free_port)"
cat >"$WORK/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous true
persistence false
max_inflight_messages 0
set_tcp_nodelay true
user root
listener $PORT 127.0.0.1
listener $TLS_PORT 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
EOF
mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_for 10 "mosquitto on 127.0.0.1:$PORT" listening "$PORT"
wait_for 10 "mosquitto (TLS) on 127.0.0.1:$TLS_PORT" listening "$TLS_PORT"

field() { sed -n "s/^$1=//p" "$2" | tail -1; }        # field KEY FILE (ring-bench: key=value lines)

SAMPLE="$WORK/sample.txt"
"$BENCH" sample >"$SAMPLE"
TOPIC_PREFIX="$(field topic "$SAMPLE")"; TOPIC_PREFIX="${TOPIC_PREFIX%[0-9]}"
PAYLOAD="$(field payload "$SAMPLE")"

# run_pair NAME TRANSPORT QOS COUNT WINDOW HOST PORT: the baseline (libmosquitto's loop thread), the same C
# with an external loop on one thread, then fill + drain.
run_pair() {
    local name="$1" transport="$2" qos="$3" count="$4" window="$5" host="$6" port="$7"
    local ca="" tls_args=()
    if [[ "$transport" == tls ]]; then
        ca="$PKI/ca.crt"
        tls_args=(--ca-file "$ca")
    fi
    "$WORK/mosquitto_baseline" "$host" "$port" "$count" "$window" "$TOPIC_PREFIX" "$PAYLOAD" "$qos" "$ca" >"$WORK/$name-baseline.txt" \
        || die "the baseline failed ($name): $(cat "$WORK/$name-baseline.txt")"
    "$WORK/mosquitto_baseline" "$host" "$port" "$count" "$window" "$TOPIC_PREFIX" "$PAYLOAD" "$qos" "$ca" external >"$WORK/$name-external.txt" \
        || die "the external-loop baseline failed ($name): $(cat "$WORK/$name-external.txt")"
    rm -rf "$WORK/backlog"
    "$BENCH" fill --count "$count" --qos "$qos" --dir "$WORK/backlog" >"$WORK/$name-fill.txt" 2>>"$WORK/ring-bench.log"
    "$BENCH" drain --dir "$WORK/backlog" --host "$host" --broker-port "$port" "${tls_args[@]}" --replay-rate "$FAST_REPLAY" \
        --max-inflight "$window" --timeout 300 >"$WORK/$name-drain.txt" 2>>"$WORK/ring-bench.log"
    (( $(field timed_out "$WORK/$name-drain.txt") == 0 )) || die "the drain timed out ($name); see $WORK/ring-bench.log"
    rm -rf "$WORK/backlog"
}

# --- 1. throughput to a local broker -----------------------------------------------------------
ROWS=()
for transport in $TRANSPORTS; do
    for qos in $QOS_LIST; do
        n=$COUNT
        (( qos == 2 )) && n=$COUNT_QOS2
        host=127.0.0.1 port=$PORT
        [[ "$transport" == tls ]] && { host=localhost; port=$TLS_PORT; }
        ROWS+=("$transport-q$qos")
        for run in $(seq 1 "$REPEAT"); do
            log "$transport QoS $qos, run $run/$REPEAT: bare libmosquitto, then fieldlink; $n messages, window $INFLIGHT ..."
            run_pair "$transport-q$qos-$run" "$transport" "$qos" "$n" "$INFLIGHT" "$host" "$port"
        done
    done
done

# --- 2. QoS 1 over a simulated round trip ------------------------------------------------------
proxy_ready() { grep -q '^listening' "$1" 2>/dev/null; }
PROXY_PORT="$(free_port)"
python3 -B "$ROOT/bench/delay_proxy.py" --listen "$PROXY_PORT" --target "$PORT" --delay-ms "$DELAY_MS" >"$WORK/proxy.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the delaying proxy on 127.0.0.1:$PROXY_PORT" proxy_ready "$WORK/proxy.log"

# A second broker with mosquitto's defaults (Receive Maximum 20, Nagle on), behind its own proxy: what
# fieldlink's default window meets at a stock broker.
STOCK_PORT="$(free_port)"
STOCK_PROXY_PORT="$(free_port)"
cat >"$WORK/mosquitto-stock.conf" <<EOF
allow_anonymous true
persistence false
user root
listener $STOCK_PORT 127.0.0.1
EOF
mosquitto -c "$WORK/mosquitto-stock.conf" >"$WORK/mosquitto-stock.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the stock mosquitto on 127.0.0.1:$STOCK_PORT" listening "$STOCK_PORT"
python3 -B "$ROOT/bench/delay_proxy.py" --listen "$STOCK_PROXY_PORT" --target "$STOCK_PORT" --delay-ms "$DELAY_MS" \
    >"$WORK/proxy-stock.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the second delaying proxy on 127.0.0.1:$STOCK_PROXY_PORT" proxy_ready "$WORK/proxy-stock.log"

DELAY_ROWS=()
for window in $DELAY_WINDOWS; do
    log "delayed link (${DELAY_MS} ms each way), QoS 1, window $window: $DELAY_COUNT messages, bare libmosquitto then fieldlink ..."
    run_pair "delay-w$window" tcp 1 "$DELAY_COUNT" "$window" 127.0.0.1 "$PROXY_PORT"
    DELAY_ROWS+=("$window")
done
log "delayed link, stock mosquitto (Receive Maximum 20), QoS 1, window $DEFAULT_INFLIGHT ..."
run_pair "stock-w$DEFAULT_INFLIGHT" tcp 1 "$DELAY_COUNT" "$DEFAULT_INFLIGHT" 127.0.0.1 "$STOCK_PROXY_PORT"

# --- 3. report ---------------------------------------------------------------------------------
python3 - "$WORK" "$REPEAT" "${ROWS[*]}" "${DELAY_ROWS[*]}" <<EOF
import statistics, sys
work, repeat, rows, delay_rows = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), [int(w) for w in sys.argv[4].split()]
target, inflight, delay_ms = $TARGET_RATIO, $INFLIGHT, $DELAY_MS
rtt = 2 * delay_ms / 1000

def kv(name):
    out = {}
    for line in open(f"{work}/{name}"):
        for token in line.split():
            if "=" in token:
                key, value = token.split("=", 1)
                out[key] = value
    return out

def pair(name):
    b, r, x = kv(f"{name}-baseline.txt"), kv(f"{name}-drain.txt"), kv(f"{name}-external.txt")
    b_rate = float(b["msgs"]) / float(b["seconds"])
    r_rate = float(r["msgs_per_s_from_connack"])
    b_cpu = float(b["cpu"]) / float(b["msgs"]) * 1e6
    r_cpu = float(r["cpu_seconds_from_connack"]) / float(r["records"]) * 1e6
    x_rate = float(x["msgs"]) / float(x["seconds"])
    x_cpu = float(x["cpu"]) / float(x["msgs"]) * 1e6
    return b_rate, r_rate, b_cpu, r_cpu, int(r["records"]), x_rate, x_cpu

sample = kv("sample.txt")
print()
print(f"fieldlink MQTT bench: {sample['payload_bytes']} B JSON payload, topic \"{sample['topic']}\", MQTT 5 with content type,"
      f" mosquitto 2.0 on 127.0.0.1")
print()
print(f"1. publish throughput to a local broker, window (max in flight) {inflight}, median of {repeat} interleaved pair(s)")
print(f"   base: bench/mosquitto_baseline.c (bare libmosquitto, its loop thread); fl: fieldlink, ring-bench drain (DiskRing + MQTTPublisher);")
print(f"   ext: the same C with an external loop on one thread, as fieldlink drives libmosquitto (informative, no target)")
head = (f"{'':11}{'messages':>9}{'base msg/s':>12}{'fl msg/s':>11}{'fl/base':>8}{'base µs/msg':>12}{'fl µs/msg':>10}"
        f"{'ext msg/s':>11}{'fl/ext':>7}{'ext µs/msg':>11}   target (fl/base, msg/s)")
print(head)
failures = 0
for row in rows:
    transport, qos = row.split("-q")
    pairs = [pair(f"{row}-{run}") for run in range(1, repeat + 1)]
    ratio = statistics.median(p[1] / p[0] for p in pairs)
    cpu_ratio = statistics.median(p[3] / p[2] for p in pairs)
    ok = ratio >= target
    failures += not ok
    label = f"{'TLS' if transport == 'tls' else 'TCP'} QoS {qos}"
    ext_ratio = statistics.median(p[1] / p[5] for p in pairs)
    print(f"{label:11}{pairs[0][4]:9d}{statistics.median(p[0] for p in pairs):12.0f}{statistics.median(p[1] for p in pairs):11.0f}"
          f"{ratio:8.3f}{statistics.median(p[2] for p in pairs):12.2f}{statistics.median(p[3] for p in pairs):10.2f}"
          f"{statistics.median(p[5] for p in pairs):11.0f}{ext_ratio:7.3f}{statistics.median(p[6] for p in pairs):11.2f}"
          f"   >= {target}  {'PASS' if ok else 'FAIL'}")
    if repeat > 1:
        print(f"{'':11}{'':9}   (fl/base per pair: {', '.join(f'{p[1] / p[0]:.3f}' for p in pairs)};"
              f" CPU fl/base {cpu_ratio:.3f}; fl/ext per pair: {', '.join(f'{p[1] / p[5]:.3f}' for p in pairs)})")

print()
print(f"2. QoS 1 over a simulated {rtt * 1000:.0f} ms round trip (bench/delay_proxy.py: every chunk delayed {delay_ms} ms each way),")
print(f"   bench broker with no Receive Maximum limit; one run each")
print(f"{'window':>8}{'messages':>9}{'base msg/s':>12}{'fl msg/s':>11}{'ratio':>7}{'window/RTT':>12}{'fl of ceiling':>15}")
rates = {}
for w in delay_rows:
    b, r, _, _, n, *_ = pair(f"delay-w{w}")
    rates[w] = r
    ceiling = w / rtt
    note = "  (libmosquitto default)" if w == $LIBMOSQ_INFLIGHT else ("  (fieldlink default)" if w == $DEFAULT_INFLIGHT else "")
    print(f"{w:8d}{n:9d}{b:12.0f}{r:11.0f}{r / b:7.3f}{ceiling:12.0f}{r / ceiling:14.0%}{note}")
b, r, _, _, n, *_ = pair(f"stock-w$DEFAULT_INFLIGHT")
print(f"{'$DEFAULT_INFLIGHT':>8}{n:9d}{b:12.0f}{r:11.0f}{r / b:7.3f}{$DEFAULT_INFLIGHT / rtt:12.0f}{r / ($DEFAULT_INFLIGHT / rtt):14.0%}"
      f"  stock mosquitto: Receive Maximum 20 caps the window")
if $DEFAULT_INFLIGHT in rates and $LIBMOSQ_INFLIGHT in rates:
    print(f"   fieldlink at max_inflight $DEFAULT_INFLIGHT vs $LIBMOSQ_INFLIGHT: {rates[$DEFAULT_INFLIGHT] / rates[$LIBMOSQ_INFLIGHT]:.1f}x")
print(f"   bandwidth-delay product: a window of W messages sustains at most W / RTT msg/s. To keep up with the default")
print(f"   buffer.replay_rate of 2000 msg/s takes 2000 x RTT: {2000 * rtt:.0f} at {rtt * 1000:.0f} ms, 400 at 200 ms (cellular),"
      f" 1200 at 600 ms (satellite).")

print()
print(f"targets: {len(rows) - failures}/{len(rows)} throughput rows at ratio >= {target}: {'PASS' if failures == 0 else 'FAIL'}")
print()
print("notes:")
print("- msg/s and CPU: both clocks start at CONNACK (after the TCP connect and the TLS handshake) and stop at the last")
print("  completion (baseline) or ring depth 0 (fieldlink, polled every 5 ms). A completion is the PUBACK (QoS 1), the PUBCOMP")
print("  (QoS 2), or the PUBLISH written to the socket (QoS 0): libmosquitto's publish callback in both programs.")
print("- CPU is the whole client process (all threads), from getrusage; the broker's is excluded. Broker and client share the")
print("  machine's cores, so a client that uses less CPU leaves more to the broker.")
print("- the machine may be shared and noisy: compare ratios within a run, not absolute figures between runs.")
EOF
