#!/usr/bin/env python3
"""A TCP proxy that adds latency: every chunk waits DELAY_MS/2 in each direction before it
is forwarded, in order, so a round trip costs DELAY_MS more. For bench/latency.sh on machines
whose kernel has no netem. Usage: delay_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
Prints "ready" once listening on 127.0.0.1:LISTEN_PORT."""
import asyncio
import sys
import time

listen_port, host, port, delay_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
HALF = delay_ms / 2000.0


async def pipe(reader, writer):
    queue = asyncio.Queue()

    async def pump_in():
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + HALF, data))
            if not data:
                return

    async def pump_out():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(pump_in(), pump_out())
    except (ConnectionError, asyncio.CancelledError):
        writer.close()


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(
        pipe(client_reader, server_writer),
        pipe(server_reader, client_writer),
        return_exceptions=True,
    )


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
