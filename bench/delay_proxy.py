#!/usr/bin/env python3
"""A delaying TCP proxy on loopback, for bench/mqtt.sh: this kernel has no netem.

    python3 bench/delay_proxy.py --listen PORT --target PORT [--delay-ms 25]

Accepts on 127.0.0.1:LISTEN, connects each client to 127.0.0.1:TARGET and forwards both directions.
Every chunk read from one side is written to the other DELAY ms after it was read, in order, so a
request/response pair sees a round trip of 2 x DELAY on top of loopback (25 ms each way: a 50 ms
RTT). Bandwidth is not limited; chunks are not split or merged. TCP_NODELAY on every socket, so the
proxy adds no Nagle delay of its own. Prints "listening PORT" on stdout once it accepts.
"""

import argparse
import asyncio
import socket
import sys


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Reads chunks as they come and writes each one `delay` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def forward() -> None:
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            if writer.transport.get_write_buffer_size() > 1 << 20:
                await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    forwarder = asyncio.create_task(forward())
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            queue.put_nowait((loop.time() + delay, chunk))
    except (ConnectionError, OSError):
        pass
    finally:
        queue.put_nowait((0.0, None))
        try:
            await forwarder
        except (ConnectionError, OSError):
            pass


def nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=25.0)
    args = parser.parse_args()
    delay = args.delay_ms / 1000.0

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", args.target)
        except OSError:
            client_writer.close()
            return
        nodelay(client_writer)
        nodelay(server_writer)
        await asyncio.gather(pump(client_reader, server_writer, delay), pump(server_reader, client_writer, delay),
                             return_exceptions=True)
        for w in (client_writer, server_writer):
            w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    print(f"listening {args.listen}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
