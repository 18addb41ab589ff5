#!/usr/bin/env python3
"""The host's clock for the systemd VM guest (scripts/test-systemd.sh), on the guest's ttyS2.

The guest has no network and boots with its clock weeks behind; this is the time server its
scenario asks for the true time. Usage: host_clock.py PTY. Every line `time?` read from PTY is
answered with the host's Unix time in milliseconds and a newline; anything else is ignored (so an
echo from the guest's side cannot start a loop). Ends when QEMU closes the pty.
"""
import os
import sys
import termios
import time
import tty

fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: a question already waiting is kept
pending = b""
while True:
    try:
        data = os.read(fd, 256)
    except OSError:  # EIO: QEMU closed its end
        break
    if not data:
        break
    pending += data
    while b"\n" in pending:
        line, pending = pending.split(b"\n", 1)
        if line.strip() == b"time?":
            os.write(fd, f"{time.time_ns() // 1_000_000}\n".encode())
