#!/usr/bin/env python3
"""A Modbus-RTU slave on a serial port (a socat pty in the demo and the tests), built on pymodbus.

It encodes values itself (struct, big-endian, then the requested word/byte order), independently of
fieldlink's decoder, so a test that reads back what it put in checks fieldlink for real.

Image file (JSON):
  {"units": {"1": [{"table": "holding", "address": 0, "type": "float32", "order": "CDAB", "value": 230.1}, ...]}}
Units not in the image get no reply at all: a dead slave on a live line.
A point may give "words": [16-bit register values] instead of type and value (strings, raw images).

An optional "sparse_units": [2, ...] in the image makes those units define only the registers their
points occupy: a read that touches any other register is answered with exception 2 (illegal data
address), as real meters with holes in their register map do.

--demo serves a built-in energy meter (unit 1) and climate sensor (unit 2) whose values drift.
--tcp PORT serves Modbus-TCP on 127.0.0.1:PORT instead of RTU on --port.
--mute-file PATH: while PATH exists the simulator hears (and logs) requests but answers none.
--log-requests FILE appends one line per request: "unit function_code address count monotonic_us".
An RTU slave here ends a frame on silence, as the Modbus serial line spec's t3.5 rule has real
slaves do: bytes that arrive after FRAME_SILENCE_S of quiet start a new frame, and whatever half
frame was pending is dropped. pymodbus alone has no such rule; random noise that happens to look
like the start of a long write request would make it wait for hundreds of bytes, deaf to the
master's real requests for many seconds after the line went clean.
--state-file PATH: after every write request (functions 5, 6, 15, 16) the simulator's own memory is
dumped there as JSON, {"<unit>": {"holding": [first 256 registers], "coil": [first 256 coils]}}, so a
test checks what the device holds, not what the gateway read back.
A point may say "reject_writes": CODE: a write touching it is answered with that Modbus exception.
"""
import argparse
import asyncio
import json
import logging
import math
import struct
import sys
import time

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.simulator.simutils import SimUtils
import os

from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.transport.transport import ModbusProtocol

# Far above t3.5 at any baud rate (2 ms at 19200), far below the gateway's poll spacing: a pty may
# deliver one frame in a few chunks under load, but never with this much quiet between them.
FRAME_SILENCE_S = 0.05


def end_frames_on_silence():
    """Drop a pending partial frame when the line has been quiet for FRAME_SILENCE_S (RTU only)."""
    received = ModbusProtocol.datagram_received

    def datagram_received(self, data, addr):
        now = time.monotonic()
        if self.recv_buffer and now - getattr(self, "_fieldlink_last_rx", now) > FRAME_SILENCE_S:
            self.recv_buffer = b""
        self._fieldlink_last_rx = now
        received(self, data, addr)

    ModbusProtocol.datagram_received = datagram_received

TABLE_SIZE = 2000
FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q", "uint64": ">Q",
           "float32": ">f", "float64": ">d", "bool": ">H"}


def encode(kind, order, value):
    """Registers for one value: big-endian bytes (ABCD), then the order's swaps."""
    raw = struct.pack(FORMATS[kind], int(value) if kind == "bool" else value)
    words = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    order = (order or "ABCD").upper()
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    return [int.from_bytes(w, "big") for w in words]


TABLES = ("coil", "discrete", "holding", "input")  # the order SimDevice expects its four blocks in
FUNCTION_TABLES = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}
# Every function code a device serves, by the table it touches.
ACCESS_TABLES = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 3: "holding", 6: "holding", 16: "holding", 4: "input"}
WRITE_FUNCTIONS = (5, 6, 15, 16)
STATE_SIZE = 256
# unit -> table -> the live register list pymodbus keeps for it (seen through the device's action).
LIVE = {}


def dump_state(path):
    """The simulator's own memory after a write, written atomically."""
    state = {}
    for unit, tables in LIVE.items():
        entry = {}
        if "holding" in tables:
            entry["holding"] = list(tables["holding"][:STATE_SIZE])
        if "coil" in tables:
            entry["coil"] = SimUtils.registersToBits(list(tables["coil"][:STATE_SIZE // 16]))
        state[str(unit)] = entry
    with open(path + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(path + ".tmp", path)


def image_arrays(points):
    """Four plain lists, one per table, holding the encoded points."""
    arrays = {t: [0] * TABLE_SIZE for t in TABLES}
    for point in points:
        table, address = point.get("table", "holding"), point["address"]
        if table in ("coil", "discrete"):
            arrays[table][address] = 1 if point["value"] else 0
        elif "words" in point:
            regs = point["words"]
        else:
            regs = encode(point.get("type", "uint16"), point.get("order"), point["value"])
            arrays[table][address:address + len(regs)] = regs
    return arrays


def runs(addresses):
    """Contiguous runs of addresses as (start, length)."""
    result = []
    for address in sorted(set(addresses)):
        if result and result[-1][0] + result[-1][1] == address:
            result[-1][1] += 1
        else:
            result.append([address, 1])
    return result


def sparse_device(unit_id, points):
    """A SimDevice whose blocks cover only the points' own registers and bits."""
    arrays = image_arrays(points)
    used = {t: [] for t in TABLES}
    for point in points:
        table, address = point.get("table", "holding"), point["address"]
        size = 1 if table in ("coil", "discrete") else len(encode(point.get("type", "uint16"), point.get("order"), point["value"]))
        used[table].extend(range(address, address + size))
    blocks = []
    for t in TABLES:
        bits = t in ("coil", "discrete")
        table_blocks = [SimData(start, values=[bool(v) if bits else v for v in arrays[t][start:start + length]],
                                datatype=DataType.BITS if bits else DataType.REGISTERS)
                        for start, length in runs(used[t])]
        # A table nobody reads still needs a block; put it far away.
        blocks.append(table_blocks or [SimData(TABLE_SIZE, values=[False] if bits else [0],
                                               datatype=DataType.BITS if bits else DataType.REGISTERS)])
    return SimDevice(unit_id, simdata=tuple(blocks))


def sim_device(unit_id, points, refresh=None):
    """A pymodbus SimDevice with four separate blocks (coils and inputs each one bit per address).

    `refresh()` (demo mode) returns new points; they are written into the block being read, just
    before each read is answered.
    """
    arrays = image_arrays(points)
    blocks = tuple(
        [SimData(0, values=[bool(v) for v in arrays[t]], datatype=DataType.BITS)] if t in ("coil", "discrete")
        else [SimData(0, values=arrays[t], datatype=DataType.REGISTERS)]
        for t in TABLES)
    rejecting = [(p.get("table", "holding"), p["address"], p.get("type", "uint16"), p["reject_writes"])
                 for p in points if "reject_writes" in p]

    async def action(function_code, start_address, address, count, current_registers, set_values):
        accessed = ACCESS_TABLES.get(function_code)
        if accessed:
            LIVE.setdefault(unit_id, {})[accessed] = current_registers
        if function_code in WRITE_FUNCTIONS:
            written = count if accessed == "holding" else len(set_values or [1])
            for table, first, kind, code in rejecting:
                size = 1 if table == "coil" else len(encode(kind, None, 0))
                if table == accessed and first < address + written and address < first + size:
                    return ExcCodes(code)
            return None
        table = FUNCTION_TABLES.get(function_code)
        if refresh is None or table is None:
            return None
        fresh = image_arrays(refresh())[table]
        for offset in range(len(current_registers)):
            index = start_address + offset
            if 0 <= index < TABLE_SIZE:
                value = fresh[index]
                current_registers[offset] = bool(value) if isinstance(current_registers[offset], bool) else value
        return None

    return SimDevice(unit_id, simdata=blocks, action=action)


def demo_points(t):
    """A three-phase-ish meter and a climate sensor, drifting slowly so changes are visible."""
    wave = math.sin(t / 10.0)
    return {
        1: [
            {"table": "holding", "address": 0, "type": "float32", "value": 230.0 + 2.0 * wave},
            {"table": "holding", "address": 2, "type": "float32", "order": "CDAB", "value": 4.2 + wave},
            {"table": "holding", "address": 4, "type": "int32", "value": int(966 + 230 * wave)},
            {"table": "holding", "address": 6, "type": "uint32", "order": "CDAB", "value": 1234567 + int(t)},
            {"table": "holding", "address": 8, "type": "uint16", "value": 5000 + int(3 * wave)},
            {"table": "coil", "address": 0, "value": int(t) % 20 < 10},
        ],
        2: [
            {"table": "input", "address": 0, "type": "int16", "value": int(215 + 15 * wave)},
            {"table": "input", "address": 1, "type": "uint16", "value": int(450 - 50 * wave)},
        ],
    }


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    endpoint = parser.add_mutually_exclusive_group(required=True)
    endpoint.add_argument("--port", help="serial device (e.g. the slave end of a socat pty pair)")
    endpoint.add_argument("--tcp", type=int, help="serve Modbus-TCP on 127.0.0.1:TCP instead")
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--parity", default="E", choices=["N", "E", "O"])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="JSON register image")
    source.add_argument("--demo", action="store_true", help="built-in drifting demo devices")
    parser.add_argument("--log-requests", help="append 'unit function_code address count monotonic_us' per request to this file")
    parser.add_argument("--state-file", help="dump the simulator's own holding registers and coils here after every write")
    parser.add_argument("--mute-file", help="while this file exists, answer nothing (a dead slave that still hears)")
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    sparse = set()
    if args.demo:
        image = demo_points(time.time())
    else:
        with open(args.image) as f:
            document = json.load(f)
        image = {int(k): v for k, v in document["units"].items()}
        sparse = {int(u) for u in document.get("sparse_units", [])}
    devices = [sparse_device(unit_id, points) if unit_id in sparse
               else sim_device(unit_id, points, (lambda u=unit_id: demo_points(time.time())[u]) if args.demo else None)
               for unit_id, points in image.items()]

    request_log = open(args.log_requests, "a", buffering=1) if args.log_requests else None

    def trace_pdu(sending, pdu):
        if sending and args.state_file and pdu.function_code in WRITE_FUNCTIONS:
            dump_state(args.state_file)
        if not sending and request_log:
            request_log.write(f"{pdu.dev_id} {pdu.function_code} {getattr(pdu, 'address', -1)} {getattr(pdu, 'count', -1)}"
                              f" {time.monotonic_ns() // 1000}\n")
        return pdu

    served = {unit_id for unit_id in image}

    def trace_packet(sending, packet):
        # pymodbus 3.16 answers a unit it does not serve with exception 4 (its SimDevice lookup falls
        # back to unit 0); a dead slave must stay silent, so such an answer is never sent.
        # The unit id is the first byte of an RTU frame, the seventh of a TCP (MBAP) one.
        unit = packet[6] if args.tcp and len(packet) > 6 else packet[0] if packet else None
        if sending and packet and (unit not in served or (args.mute_file and os.path.exists(args.mute_file))):
            return b""
        return packet

    if args.tcp:
        print(f"modbus_sim: serving units {sorted(image)} on 127.0.0.1:{args.tcp}", file=sys.stderr, flush=True)
        await StartAsyncTcpServer(context=devices, address=("127.0.0.1", args.tcp), trace_pdu=trace_pdu,
                                  trace_packet=trace_packet)
        return
    end_frames_on_silence()
    print(f"modbus_sim: serving units {sorted(image)} on {args.port}", file=sys.stderr, flush=True)
    await StartAsyncSerialServer(context=devices, framer=FramerType.RTU, port=args.port, baudrate=args.baud,
                                 parity=args.parity, trace_pdu=trace_pdu,
                                 trace_packet=trace_packet)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
