#!/usr/bin/env bash
# `fieldlink check` on large and hostile configs: time and peak RSS of each.
#
#   bash bench/config.sh                                   # release build (.build-bench/), then measure
#   FIELDLINK_BIN=.build/debug/fieldlink bash bench/config.sh   # skip the release build (debug is slower)
#   CONFIG_REPEAT=5 bash bench/config.sh                   # best of N runs per config (default 3)
#
# 1. Points: configs of 5,000, 10,000 and 20,000 Modbus points (50 points a device, 20 devices a
#    TCP bus), each checked CONFIG_REPEAT times; the best time is printed with its ratio to the
#    5,000-point config in the same run. Linear work gives 2.0 and 4.0. Target (issue 19): 20,000
#    points under 2 s.
# 2. Hostile inputs, each refused: a 20 MB scalar, a file just under the size cap of one huge
#    scalar, a billion-laughs alias bomb, 100,000 nested lists, 1.5 million values, deep indentation.
#    Targets: each under 2 s and 200 MB peak RSS, exit 78.
# Uses /usr/bin/time for the peak RSS; only files in a temp dir, no network.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPEAT="${CONFIG_REPEAT:-3}"
need_tools python3 /usr/bin/time
if [[ -n "${FIELDLINK_BIN:-}" ]]; then FIELDLINK="$FIELDLINK_BIN"; else need_tools swift; build_release --product fieldlink; fi

python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
head = "gateway: {id: bench, state_dir: %s/state}\nmqtt: {url: mqtt://127.0.0.1:1883}\n" % work
def points_config(total):
    per_device, per_bus = 50, 20
    devices = total // per_device
    buses = (devices + per_bus - 1) // per_bus
    out = [head, "buses:\n"]
    for b in range(buses):
        out.append("  - {name: tcp%d, type: modbus-tcp, host: 127.0.0.%d, port: 1502}\n" % (b, b % 250 + 1))
    out.append("devices:\n")
    for d in range(devices):
        out.append("  - name: meter%d\n    bus: tcp%d\n    unit: %d\n    interval: 1s\n    points:\n" % (d, d // per_bus, d % per_bus + 1))
        for p in range(per_device):
            out.append("      - {name: p%d, address: %d, type: uint16, scale: 0.1, unit: V}\n" % (p, p))
    return "".join(out)
for total in (5000, 10000, 20000):
    open("%s/points-%d.yaml" % (work, total), "w").write(points_config(total))
valid = points_config(50)
open("%s/scalar-20MB.yaml" % work, "w").write(head + "x-blob: " + "a" * 20_000_000 + "\n" + valid[len(head):])
open("%s/scalar-under-cap.yaml" % work, "w").write(head + "x-blob: " + "a" * (8 * 1024 * 1024 - 2048) + "\n")
laughs = "".join("x-a%d: &a%d [%s]\n" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10) if i else ", ".join(["lol"] * 10)) for i in range(10))
open("%s/alias-bomb.yaml" % work, "w").write(valid + laughs)
open("%s/nested-lists.yaml" % work, "w").write(valid + "x-deep: " + "[" * 100_000 + "]" * 100_000 + "\n")
open("%s/values-1.5M.yaml" % work, "w").write(valid + "x-wide: [" + ",".join(["1"] * 1_500_000) + "]\n")
open("%s/indented.yaml" % work, "w").write(valid + "x-deep:\n" + "\n".join(" " * i + "k%d:" % i for i in range(2000)) + " 1\n")
PY

# measure FILE: best wall time (s) and its peak RSS (kB) over REPEAT runs, and the exit status.
measure() {
    local file="$1" best="" rss="" status=0 run out
    for ((run = 0; run < REPEAT; run++)); do
        set +e
        /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$FIELDLINK" check --quiet --config "$file" >/dev/null 2>"$WORK/stderr.txt"
        status=$?
        set -e
        out=$(tail -1 "$WORK/time.txt")
        if [[ -z "$best" ]] || awk -v a="${out% *}" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="${out% *}"; rss="${out#* }"; fi
    done
    echo "$best $rss $status"
}

printf '%-22s %8s %8s %10s %6s\n' config seconds ratio peak_MB exit
read -r base_time base_rss base_status < <(measure "$WORK/points-5000.yaml")
for total in 5000 10000 20000; do
    read -r time rss status < <(measure "$WORK/points-$total.yaml")
    ratio=$(awk -v t="$time" -v b="$base_time" 'BEGIN { printf "%.2f", (b > 0 ? t / b : 0) }')
    printf '%-22s %8s %8s %10s %6s\n' "points-$total" "$time" "$ratio" "$((rss / 1024))" "$status"
done
for name in scalar-20MB scalar-under-cap alias-bomb nested-lists values-1.5M indented; do
    read -r time rss status < <(measure "$WORK/$name.yaml")
    printf '%-22s %8s %8s %10s %6s  %s\n' "$name" "$time" "-" "$((rss / 1024))" "$status" "$(head -c 160 "$WORK/stderr.txt" | tr '\n' ' ')"
done
