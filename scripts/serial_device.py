#!/usr/bin/env python3
"""A text sensor on the far end of a serial port (a socat pty in the tests and the benchmark), built on pyserial.

--stream FILE   writes FILE's bytes again and again, one copy every --period seconds (a GPS, a
                particle counter in continuous mode); {n} in FILE becomes a counter that grows by one per copy.
--respond FILE  answers requests: FILE is JSON {"request": "reply", ...}; each request (exact bytes,
                after latin-1 decoding) gets its reply, {n} again a counter; anything else gets no answer.
--rate N        with --stream: N copies a second as fast as the line allows, for the benchmark.
--count N       stop after N copies (stream) or N answers (respond); 0 = forever.

Prints "ready" on stderr once the port is open.
"""
import argparse
import json
import sys
import time

import serial


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", required=True)
    parser.add_argument("--baud", type=int, default=9600)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stream")
    group.add_argument("--respond")
    parser.add_argument("--period", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()

    port = serial.Serial(args.port, args.baud, timeout=0.05)
    print("ready", file=sys.stderr, flush=True)
    sent = 0
    if args.stream:
        template = open(args.stream, "rb").read()
        counted = b"{n}" in template
        interval = 1.0 / args.rate if args.rate else args.period
        next_at = time.monotonic()
        while args.count == 0 or sent < args.count:
            block = template.replace(b"{n}", str(sent).encode()) if counted else template
            port.write(block)
            sent += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        port.flush()
        return
    replies = {k.encode("latin-1"): v.encode("latin-1") for k, v in json.load(open(args.respond)).items()}
    longest = max(len(k) for k in replies)
    pending = b""
    while args.count == 0 or sent < args.count:
        pending += port.read(64)
        for request, reply in replies.items():
            at = pending.find(request)
            if at >= 0:
                pending = pending[at + len(request):]
                port.write(reply.replace(b"{n}", str(sent).encode()))
                sent += 1
                print("answered", request, file=sys.stderr, flush=True)
                break
        else:
            pending = pending[-longest:]


if __name__ == "__main__":
    main()
