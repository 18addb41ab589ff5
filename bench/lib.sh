# Shared by the bench scripts: a temp dir cleaned on exit, processes stopped by PID, free loopback
# ports, a mosquitto, a socat pty pair and the pymodbus simulator, and the release build.
# Source it after `set -euo pipefail`; it defines ROOT, WORK, PIDS and the functions below.
# BENCH_KEEP=1 keeps the temp dir.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# BENCH_WORK_BASE: where the temp dir goes (the ring bench needs a real disk, not tmpfs).
WORK="$(mktemp -d -p "${BENCH_WORK_BASE:-${TMPDIR:-/tmp}}" fieldlink-bench.XXXXXX)"
PIDS=()
cleanup() {
    local pid
    # SIGCONT too: a process the bench stopped (SIGSTOP) would never act on the SIGTERM.
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; kill -CONT "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "${BENCH_KEEP:-}" ]]; then echo "bench: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }
need_tools() { local tool; for tool in "$@"; do command -v "$tool" >/dev/null || die "missing tool: $tool"; done; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what="$2"
    shift 2
    until "$@"; do
        (( SECONDS < deadline )) || die "timed out waiting for $what"
        sleep 0.1
    done
}

# start_mosquitto PORT [EXTRA_CONF]: a broker on 127.0.0.1:PORT; its PID in MOSQUITTO_PID.
start_mosquitto() {
    local port="$1" extra="${2:-}"
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n%s\n' "$port" "$extra" >"$WORK/mosquitto-$port.conf"
    mosquitto -c "$WORK/mosquitto-$port.conf" >"$WORK/mosquitto-$port.log" 2>&1 &
    MOSQUITTO_PID=$!
    PIDS+=("$MOSQUITTO_PID")
    wait_for 10 "mosquitto on 127.0.0.1:$port" listening "$port"
}

# start_pty NAME: a socat pty pair $WORK/NAME-gateway <-> $WORK/NAME-device.
start_pty() {
    socat -d "pty,raw,echo=0,link=$WORK/$1-gateway" "pty,raw,echo=0,link=$WORK/$1-device" 2>"$WORK/socat-$1.log" &
    PIDS+=($!)
    wait_for 5 "the socat pty pair $1" test -e "$WORK/$1-gateway" -a -e "$WORK/$1-device"
}

# start_sim DEVICE_SIDE IMAGE_JSON: scripts/modbus_sim.py serving the image; its PID in SIM_PID.
start_sim() {
    : >"$WORK/sim.log"
    python3 "$ROOT/scripts/modbus_sim.py" --port "$1" --parity N --image "$2" 2>"$WORK/sim.log" &
    SIM_PID=$!
    PIDS+=("$SIM_PID")
    wait_for 30 "modbus_sim.py (is pymodbus installed?)" grep -q "serving units" "$WORK/sim.log"
}

# build_release: fieldlink in release mode with the static Swift stdlib; the binary in FIELDLINK.
build_release() {
    log "building fieldlink (release, --static-swift-stdlib, .build-bench/) ..."
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path .build-bench "$@" >"$WORK/build.log" 2>&1) \
        || { tail -40 "$WORK/build.log" >&2; die "swift build failed"; }
    FIELDLINK="$(cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path .build-bench --show-bin-path)/fieldlink"
    [[ -x "$FIELDLINK" ]] || die "no binary at $FIELDLINK"
}

# build_ring_bench: the ring-bench tool (release) in BENCH and bench/mosquitto_baseline.c in $WORK.
build_ring_bench() {
    log "building ring-bench (release, --static-swift-stdlib, .build-bench/) ..."
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path .build-bench --product ring-bench >"$WORK/build.log" 2>&1) \
        || { tail -40 "$WORK/build.log" >&2; die "swift build failed"; }
    BENCH="$(cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path .build-bench --show-bin-path)/ring-bench"
    [[ -x "$BENCH" ]] || die "no binary at $BENCH"
    log "compiling bench/mosquitto_baseline.c ..."
    # shellcheck disable=SC2046  # pkg-config output is meant to be word-split
    cc -O2 -Wall -o "$WORK/mosquitto_baseline" "$ROOT/bench/mosquitto_baseline.c" $(pkg-config --cflags --libs libmosquitto) -lpthread
}

# check_config CONFIG: `fieldlink check` on a generated config, its output shown on refusal.
check_config() {
    "$FIELDLINK" check -c "$1" >"$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; die "fieldlink check rejected the generated config"; }
}

# start_line_subscriber PORT TOPIC CLIENT_ID: mosquitto_sub at QoS 1 writing one payload per line to
# SUB_OUT ($WORK/messages.txt); stdbuf makes it write each line as it arrives, so the line count at
# any instant is what the broker delivered so far.
start_line_subscriber() {
    SUB_OUT="$WORK/messages.txt"
    : >"$SUB_OUT"
    stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$1" -q 1 -t "$2" -F '%p' -i "$3" >"$SUB_OUT" 2>"$WORK/sub.log" &
    PIDS+=($!)
    sleep 0.5
}

# start_fieldlink CONFIG: `fieldlink run` in the background, its log in $WORK/fieldlink.log; PID in FL_PID.
start_fieldlink() {
    "$FIELDLINK" run -c "$1" 2>"$WORK/fieldlink.log" &
    FL_PID=$!
    PIDS+=("$FL_PID")
}

# meter_points: the six points of one simulated energy meter (scripts/modbus_sim.py's image), as the
# `points:` list items of a device in a bench config.
meter_points() {
    cat <<'EOF'
      - {name: voltage, address: 0, type: float32, unit: V}
      - {name: current, address: 2, type: float32, order: CDAB, unit: A}
      - {name: power, address: 4, type: int32, scale: 0.1, unit: W}
      - {name: energy, address: 6, type: uint32, order: CDAB, scale: 0.01, unit: kWh}
      - {name: frequency, address: 8, type: uint16, scale: 0.01, unit: Hz}
      - {name: power_factor, address: 9, type: uint16, scale: 0.001}
EOF
}
