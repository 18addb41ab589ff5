#!/usr/bin/env bash
# Store-and-forward ring benchmark: append throughput, backlog drain rate against a bare libmosquitto
# loop, and write amplification against SQLite (WAL), all measured in the same run.
#
#   bash bench/ring.sh                                      # RING_BENCH_BACKLOG=1000000, RING_BENCH_SECONDS=10
#   RING_BENCH_BACKLOG=200000 RING_BENCH_SECONDS=5 bash bench/ring.sh
#
# Knobs: RING_BENCH_BACKLOG (messages drained, default 1000000), RING_BENCH_SECONDS (paced-append
# window for write amplification, default 10), RING_BENCH_APPENDS (records per append-throughput run,
# default 500000), RING_BENCH_REPEAT (drain/baseline pairs, interleaved, median reported; default 3),
# RING_BENCH_INFLIGHT (default 100), RING_BENCH_KEEP=1 (keep the temp dir).
#
# Needs: swift, cc, pkg-config + libmosquitto-dev, mosquitto, python3 (stdlib sqlite3).
# Everything it starts is stopped by PID on exit; everything it writes is in one mktemp directory on
# a real disk (never tmpfs, which has no write_bytes), plus the release build in .build-bench/.
# Only 127.0.0.1 is used. See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKLOG="${RING_BENCH_BACKLOG:-1000000}"
SECONDS_RUN="${RING_BENCH_SECONDS:-10}"
APPENDS="${RING_BENCH_APPENDS:-500000}"
REPEAT="${RING_BENCH_REPEAT:-3}"
INFLIGHT="${RING_BENCH_INFLIGHT:-100}"
FAST_REPLAY=10000000   # "high enough not to limit"
SLOW_REPLAY=2000       # the default buffer.replay_rate
SLOW_BACKLOG=10000     # ~4 s at 2000/s (the token bucket starts full: one second's worth at once)
PACED_RATE=2000        # records/s for the write-amplification runs
ONLINE_RECORDS=100000  # appended + acknowledged with the uplink up: should write nothing
TARGET_DRAIN_RATIO=0.8
TARGET_WRITE_PER_PAYLOAD=1.3
TARGET_SQLITE_FACTOR=3

for knob in BACKLOG SECONDS_RUN APPENDS REPEAT INFLIGHT; do
    [[ "${!knob}" =~ ^[0-9]+$ ]] && (( ${!knob} >= 1 )) || { echo "ring bench: $knob must be a positive whole number" >&2; exit 2; }
done
for tool in swift cc pkg-config mosquitto python3; do
    command -v "$tool" >/dev/null || { echo "ring bench: missing tool: $tool" >&2; exit 2; }
done

# /proc/self/io write_bytes is only counted for a block-device filesystem: not on tmpfs.
fstype() { stat -f -c %T "$1" 2>/dev/null || echo unknown; }
TMPBASE="${TMPDIR:-/tmp}"
for candidate in "$TMPBASE" /var/tmp "$ROOT/.build-bench"; do
    mkdir -p "$candidate" 2>/dev/null || continue
    case "$(fstype "$candidate")" in tmpfs|ramfs|unknown) continue ;; esac
    TMPBASE="$candidate"
    break
done
BENCH_WORK_BASE="$TMPBASE"
BENCH_KEEP="${RING_BENCH_KEEP:-${BENCH_KEEP:-}}"
source "$ROOT/bench/lib.sh"
FSTYPE="$(fstype "$WORK")"
case "$FSTYPE" in tmpfs|ramfs) die "$WORK is on $FSTYPE; write_bytes would read 0" ;; esac

# --- build -------------------------------------------------------------------------------------
build_ring_bench

# --- broker ------------------------------------------------------------------------------------

PORT="$(free_port)"
start_mosquitto "$PORT"

field() { sed -n "s/^$1=//p" "$2" | tail -1; }        # field KEY FILE (ring-bench / sqlite: key=value lines)
cfield() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2"; }  # cfield KEY FILE (the C baseline: one line)

SAMPLE="$WORK/sample.txt"
"$BENCH" sample >"$SAMPLE"
TOPIC_PREFIX="$(field topic "$SAMPLE")"; TOPIC_PREFIX="${TOPIC_PREFIX%[0-9]}"
PAYLOAD="$(field payload "$SAMPLE")"

# --- 1. append throughput ----------------------------------------------------------------------
for mode in raw always spill-down spill-up; do
    log "append: $APPENDS records, mode $mode ..."
    "$BENCH" append --mode "$mode" --count "$APPENDS" --dir "$WORK/append-$mode" >"$WORK/append-$mode.txt" 2>>"$WORK/ring-bench.log"
    rm -rf "$WORK/append-$mode"
done
log "online spill: $ONLINE_RECORDS records appended and acknowledged with the uplink up ..."
"$BENCH" append --mode spill-up --count "$ONLINE_RECORDS" --dir "$WORK/online" >"$WORK/online.txt" 2>>"$WORK/ring-bench.log"

# --- 2. write amplification, offline, paced ----------------------------------------------------
log "write amplification: ring, $PACED_RATE records/s for ${SECONDS_RUN}s, uplink down, default settings ..."
"$BENCH" paced --rate "$PACED_RATE" --seconds "$SECONDS_RUN" --dir "$WORK/paced-ring" >"$WORK/paced-ring.txt" 2>>"$WORK/ring-bench.log"
log "write amplification: SQLite WAL, $PACED_RATE records/s for ${SECONDS_RUN}s, one commit per second ..."
python3 -B "$ROOT/bench/sqlite_baseline.py" --dir "$WORK/paced-sqlite" --rate "$PACED_RATE" --seconds "$SECONDS_RUN" >"$WORK/paced-sqlite.txt"
rm -rf "$WORK/paced-ring" "$WORK/paced-sqlite"

# --- 3. drain a backlog to the broker ----------------------------------------------------------
# Interleaved pairs (baseline, ring, baseline, ring, ...) so that a noisy neighbour hits both alike.
for run in $(seq 1 "$REPEAT"); do
    log "drain $run/$REPEAT: bare libmosquitto loop, $BACKLOG messages, QoS 1, max inflight $INFLIGHT ..."
    "$WORK/mosquitto_baseline" 127.0.0.1 "$PORT" "$BACKLOG" "$INFLIGHT" "$TOPIC_PREFIX" "$PAYLOAD" >"$WORK/baseline-$run.txt" \
        || die "the baseline failed: $(cat "$WORK/baseline-$run.txt")"
    log "drain $run/$REPEAT: filling the ring with $BACKLOG messages (uplink down) ..."
    rm -rf "$WORK/backlog"
    "$BENCH" fill --count "$BACKLOG" --dir "$WORK/backlog" >"$WORK/fill-$run.txt" 2>>"$WORK/ring-bench.log"
    log "drain $run/$REPEAT: DiskRing + MQTTPublisher, replay_rate $FAST_REPLAY, max_inflight $INFLIGHT ..."
    "$BENCH" drain --dir "$WORK/backlog" --broker-port "$PORT" --replay-rate "$FAST_REPLAY" --max-inflight "$INFLIGHT" \
        >"$WORK/drain-$run.txt" 2>>"$WORK/ring-bench.log"
    (( $(field timed_out "$WORK/drain-$run.txt") == 0 )) || die "the drain timed out; see $WORK/ring-bench.log"
done
rm -rf "$WORK/backlog"
log "drain at the default replay_rate $SLOW_REPLAY: $SLOW_BACKLOG messages ..."
"$BENCH" fill --count "$SLOW_BACKLOG" --dir "$WORK/slow" >"$WORK/fill-slow.txt" 2>>"$WORK/ring-bench.log"
"$BENCH" drain --dir "$WORK/slow" --broker-port "$PORT" --replay-rate "$SLOW_REPLAY" --max-inflight "$INFLIGHT" \
    >"$WORK/drain-slow.txt" 2>>"$WORK/ring-bench.log"

# --- 4. report ---------------------------------------------------------------------------------
python3 - "$WORK" "$REPEAT" <<EOF
import statistics, sys
work, repeat = sys.argv[1], int(sys.argv[2])

def kv(name):
    out = {}
    for line in open(f"{work}/{name}"):
        for token in line.split():
            if "=" in token:
                key, value = token.split("=", 1)
                out[key] = value
    return out

def num(d, key): return float(d[key])
def mark(ok): return "PASS" if ok else "FAIL"

sample = kv("sample.txt")
payload_size = int(sample["payload_bytes"])
appends = {m: kv(f"append-{m}.txt") for m in ("raw", "always", "spill-down", "spill-up")}
online = kv("online.txt")
ring_paced, sqlite_paced = kv("paced-ring.txt"), kv("paced-sqlite.txt")
pairs = [(kv(f"baseline-{r}.txt"), kv(f"drain-{r}.txt")) for r in range(1, repeat + 1)]
slow = kv("drain-slow.txt")
record_size = num(appends["always"], "segment_bytes") / num(appends["always"], "records")

print()
print(f"fieldlink ring bench: records of {payload_size} B JSON payload, topic \"{sample['topic']}\", content type {sample['content_type']}")
print(f"({record_size:.0f} B per record on disk: 16 B header + 51 B of topic/flags/time/content type + payload); temp dir on $FSTYPE")
print()
print("1. append throughput, one thread, $APPENDS records (defaults: sync_interval 1s, memory_messages defaults to the 100-message window)")
print(f"{'':42}{'records/s':>12}{'payload MB/s':>14}{'disk MB/s':>11}{'vs raw':>9}")
raw_rate = num(appends["raw"], "records_per_s")
labels = {"raw": "baseline: write(2) per pre-framed record",
          "always": "DiskRing durability: always",
          "spill-down": "DiskRing spill, uplink down (to disk)",
          "spill-up": "DiskRing spill, uplink up (memory) +ack"}
for mode, d in appends.items():
    rate = num(d, "records_per_s")
    print(f"{labels[mode]:42}{rate:12.0f}{num(d, 'payload_mb_per_s'):14.2f}{num(d, 'disk_mb_per_s'):11.2f}{rate / raw_rate:9.3f}")

print()
print(f"2. drain of a {int(num(pairs[0][1], 'backlog')):,}-message backlog to mosquitto on 127.0.0.1, QoS 1, MQTT 5, max inflight $INFLIGHT")
print(f"   (ring: filled offline, then DiskRing + MQTTPublisher with replay_rate $FAST_REPLAY; clock from publisher start to depth 0;")
print(f"    baseline: bench/mosquitto_baseline.c, clock from CONNACK to the last PUBACK)")
print(f"{'run':>6}{'baseline msg/s':>16}{'ring msg/s':>12}{'ratio':>8}{'baseline CPU µs/msg':>21}{'ring CPU µs/msg':>17}{'ratio':>8}")
ratios, cpu_ratios = [], []
for i, (b, r) in enumerate(pairs, 1):
    b_rate = num(b, "msgs") / num(b, "seconds")
    r_rate = num(r, "msgs_per_s")
    b_cpu = num(b, "cpu") / num(b, "msgs") * 1e6
    r_cpu = num(r, "cpu_seconds") / num(r, "records") * 1e6
    ratios.append(r_rate / b_rate)
    cpu_ratios.append(r_cpu / b_cpu)
    print(f"{i:6d}{b_rate:16.0f}{r_rate:12.0f}{r_rate / b_rate:8.3f}{b_cpu:21.1f}{r_cpu:17.1f}{r_cpu / b_cpu:8.3f}")
ratio = statistics.median(ratios)
b_med = statistics.median(num(b, "msgs") / num(b, "seconds") for b, _ in pairs)
r_med = statistics.median(num(r, "msgs_per_s") for _, r in pairs)
print(f"{'median':>6}{b_med:16.0f}{r_med:12.0f}{ratio:8.3f}{'':38}{statistics.median(cpu_ratios):8.3f}")
slow_rate = num(slow, "msgs_per_s")
print(f"   at the default replay_rate {int(num(slow, 'replay_rate'))}: {int(num(slow, 'records')):,} messages in {num(slow, 'seconds'):.2f} s = {slow_rate:.0f} msg/s"
      f" (bucket starts full: expect ~{(int(num(slow, 'records')) ) / ((int(num(slow, 'records')) - int(num(slow, 'replay_rate'))) / int(num(slow, 'replay_rate'))):.0f}/s)")

print()
print(f"3. bytes written to storage (/proc/self/io write_bytes), offline, {int(num(ring_paced, 'records')):,} records paced at $PACED_RATE/s for ${SECONDS_RUN} s")
print(f"{'':44}{'write_bytes':>12}{'per payload B':>15}{'per record B':>14}")
ring_wb, sqlite_wb = num(ring_paced, "write_bytes"), num(sqlite_paced, "write_bytes")
ring_per = ring_wb / num(ring_paced, "payload_bytes")
sqlite_per = sqlite_wb / num(sqlite_paced, "payload_bytes")
print(f"{'DiskRing spill, uplink down, sync_interval 1s':44}{ring_wb:12.0f}{ring_per:15.3f}{ring_wb / num(ring_paced, 'segment_bytes'):14.3f}")
print(f"{'baseline: SQLite WAL, synchronous=NORMAL, 1 tx/s':44}{sqlite_wb:12.0f}{sqlite_per:15.3f}")
print(f"{'   (of which the close-time checkpoint)':44}{sqlite_wb - num(sqlite_paced, 'write_bytes_before_close'):12.0f}")
factor = sqlite_wb / ring_wb
online_bytes = int(online["write_bytes_appending"])
print(f"{'online spill: $ONLINE_RECORDS appended + acknowledged':44}{online_bytes:12d}{online_bytes / num(online, 'payload_bytes'):15.3f}"
      f"   (+{online['write_bytes_open']} B creating the folder, +{online['write_bytes_close']} B state file at close)")

print()
print("targets:")
print(f"  drain rate / bare libmosquitto loop (median of {repeat}): {ratio:.3f}   (>= $TARGET_DRAIN_RATIO)  {mark(ratio >= $TARGET_DRAIN_RATIO)}")
print(f"  ring bytes written per payload byte:        {ring_per:.3f}   (<= $TARGET_WRITE_PER_PAYLOAD)  {mark(ring_per <= $TARGET_WRITE_PER_PAYLOAD)}")
print(f"     floor set by the record format: {record_size:.0f} B on disk per {payload_size} B payload = {record_size / payload_size:.3f}")
print(f"  SQLite bytes / ring bytes:                  {factor:.2f}x   (>= ${TARGET_SQLITE_FACTOR}x)  {mark(factor >= $TARGET_SQLITE_FACTOR)}")
print(f"  online spill, bytes written per reading:    {online_bytes / int(online['records']):.3f}   (== 0)  {mark(online_bytes == 0)}")
print()
print("notes:")
print("- write_bytes counts a page each time a clean page-cache page is dirtied (4 KiB), so appending into a")
print("  page that was synced counts it again; tmpfs counts nothing (this run: $FSTYPE).")
print("- SQLite figures include closing the database, which checkpoints the WAL into the main file")
print("  (a long-running writer checkpoints every 1000 WAL pages anyway); the table has no content-type column.")
print("- drain CPU is the whole process (all threads: publisher, ring thread, libmosquitto's loop); the broker's is")
print("  excluded. The ring's clock includes the CONNECT round trip (first PUBACK after ~5 ms), the baseline's does not.")
print("- the machine may be shared and noisy: compare the ratios, not the absolute figures, between runs; a single")
print("  drain pair can swing by +-25%, hence the interleaved pairs and the median.")
EOF
