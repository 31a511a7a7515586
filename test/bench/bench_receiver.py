#!/usr/bin/env python3
"""A minimal asyncio HTTP/1.1 webhook receiver for test/bench/webhook_throughput.sh.

Answers every POST with 200 at once (keep-alive), and appends one line per
webhook request to --log: "<webhook-id> <receipt unix time> <payload time>".
Requests without a webhook-id (the load tool's) are answered, not logged.

--blackhole: accept connections, read what comes, never answer (a host that
takes TCP connections and then hangs); requests are logged all the same.
"""
import argparse
import asyncio
import re
import signal
import time

TIME_RE = re.compile(rb'"time": "([^"]+)"')
LINES = []
BLACKHOLE = False


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            msg_id = None
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"webhook-id":
                    msg_id = value.strip()
            body = await reader.readexactly(length) if length else b""
            if msg_id is not None:
                m = TIME_RE.search(body)
                LINES.append(b"%s %.6f %s\n" % (msg_id, time.time(), m.group(1) if m else b"-"))
            if BLACKHOLE:
                await reader.read()     # until the client gives up
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def flusher(path):
    while True:
        await asyncio.sleep(0.2)
        flush(path)


def flush(path):
    global LINES
    if LINES:
        lines, LINES = LINES, []
        with open(path, "ab") as f:
            f.write(b"".join(lines))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--blackhole", action="store_true")
    a = p.parse_args()
    global BLACKHOLE
    BLACKHOLE = a.blackhole
    server = await asyncio.start_server(handle, "127.0.0.1", a.port, reuse_address=True, backlog=512)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    task = asyncio.create_task(flusher(a.log))
    async with server:
        await stop
    task.cancel()
    flush(a.log)


if __name__ == "__main__":
    asyncio.run(main())
