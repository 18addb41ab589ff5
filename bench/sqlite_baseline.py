#!/usr/bin/env python3
"""SQLite side of bench/ring.sh: the same records, the same pacing, the same group-commit interval.

    python3 -B bench/sqlite_baseline.py --dir D [--rate 2000] [--seconds 10]

A WAL-mode database (PRAGMA journal_mode=WAL, synchronous=NORMAL) with one table
(id, topic, payload blob, appended_at); records arrive in 10 ms ticks at RATE per second, and one
transaction is committed per second (the ring's default sync_interval). Counts the bytes this
process caused to be written to storage (/proc/self/io write_bytes, counted when page-cache pages
are dirtied) from before the database is opened until after it is closed (closing checkpoints the
WAL into the database, which a long-running writer does every 1000 WAL pages anyway).

Prints key=value lines like ring-bench.
"""
import argparse
import os
import sqlite3
import time

TOPIC_PREFIX = "fieldlink/gw-01/meter"


def payload(n):
    # Byte for byte what ring-bench's RingBench.payload(n) builds.
    return (
        '{"device":"meter%d","seq":%d,"ts":1764083823123,"values":{"voltage":230.%d,'
        '"current":4.2,"power":966,"energy":1234.5}}' % (n % 8, 10_000_000 + n % 90_000_000, n % 10)
    ).encode()


def write_bytes():
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return -1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    ticks_per_second = 100
    if args.rate % ticks_per_second:
        parser.error("--rate must be a multiple of 100")
    per_tick = args.rate // ticks_per_second
    pool = [(TOPIC_PREFIX + str(n % 8), payload(n)) for n in range(4096)]
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, "ring.db")

    w0 = write_bytes()
    con = sqlite3.connect(path, isolation_level=None)  # autocommit: BEGIN/COMMIT are ours
    mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE ring (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, appended_at INTEGER NOT NULL)"
    )
    insert = "INSERT INTO ring (id, topic, payload, appended_at) VALUES (?, ?, ?, ?)"
    start = time.monotonic()
    n = 0
    payload_bytes = 0
    commits = 0
    con.execute("BEGIN")
    for tick in range(args.seconds * ticks_per_second):
        wait = start + tick / ticks_per_second - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        now_ms = int(time.time() * 1000)
        for _ in range(per_tick):
            n += 1
            topic, body = pool[n & 4095]
            con.execute(insert, (n, topic, body, now_ms))
            payload_bytes += len(body)
        if tick % ticks_per_second == ticks_per_second - 1:
            con.execute("COMMIT")
            commits += 1
            con.execute("BEGIN")
    con.execute("COMMIT")
    commits += 1
    elapsed = time.monotonic() - start
    w_before_close = write_bytes()
    con.close()
    w1 = write_bytes()
    db_bytes = sum(os.path.getsize(os.path.join(args.dir, f)) for f in os.listdir(args.dir))
    print(f"journal_mode={mode}")
    print(f"records={n}")
    print(f"commits={commits}")
    print(f"seconds={elapsed:.3f}")
    print(f"payload_bytes={payload_bytes}")
    print(f"file_bytes={db_bytes}")
    print(f"write_bytes_before_close={w_before_close - w0}")
    print(f"write_bytes={w1 - w0}")
    print(f"write_per_payload_byte={(w1 - w0) / payload_bytes:.4f}")


if __name__ == "__main__":
    main()
