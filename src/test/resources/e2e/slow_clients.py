"""Slow clients for SlowClientsIT (run in the client's namespace).

usage: slow_clients.py TARGETS COUNT INTERVAL LIMIT PATH
  TARGETS   comma-separated node addresses; connections are spread over them in turn
  COUNT     connections, all opened at once
  INTERVAL  seconds between two bytes of a request
  LIMIT     seconds after which a connection that has neither a response nor a close counts as a hang
  PATH      the path each request asks for

Each connection sends "GET PATH HTTP/1.1", a Host header and a padding header one byte at a time
(TCP_NODELAY: one byte per segment) and reads whatever comes back. Its outcome is "response" (a
status line arrived; the status is kept), "closed" (the server ended the connection without a byte),
"reset", "refused" (the connect failed) or "hang" (nothing by LIMIT). Prints one JSON line with the
count of each outcome, the statuses, the times from connect to outcome (min/median/max) and the
most request bytes any connection sent.
"""
import asyncio
import json
import resource
import socket
import sys
import time


async def one(host, interval, limit, path, results):
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nX-Slow: %s\r\nConnection: close\r\n\r\n"
           % (path, host, "s" * 40)).encode()
    start = time.monotonic()
    sent = 0
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, 80), 10)
    except (OSError, asyncio.TimeoutError):
        results.append(("refused", 0, 0, 0))
        return
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def trickle():
        nonlocal sent
        for b in req:
            writer.write(bytes([b]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(interval)

    async def read_all():
        data = b""
        while True:
            d = await reader.read(65536)
            if not d:
                return data
            data += d

    sender = asyncio.ensure_future(trickle())
    try:
        data = await asyncio.wait_for(read_all(), limit)
        if data:
            status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else -1
            outcome = ("response", status)
        else:
            outcome = ("closed", 0)
    except asyncio.TimeoutError:
        outcome = ("hang", 0)
    except (ConnectionResetError, BrokenPipeError):
        outcome = ("reset", 0)
    sender.cancel()
    try:
        await sender
    except (asyncio.CancelledError, OSError):
        pass
    writer.close()
    results.append((outcome[0], outcome[1], time.monotonic() - start, sent))


async def main():
    targets = sys.argv[1].split(",")
    count, interval, limit, path = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    results = []
    await asyncio.gather(*(one(targets[i % len(targets)], interval, limit, path, results) for i in range(count)))
    outcomes, statuses = {}, {}
    for o, status, _, _ in results:
        outcomes[o] = outcomes.get(o, 0) + 1
        if o == "response":
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    times = sorted(r[2] for r in results if r[0] != "refused")
    print(json.dumps({
        "connections": len(results),
        "outcomes": outcomes,
        "statuses": statuses,
        "minSeconds": round(times[0], 2) if times else None,
        "medianSeconds": round(times[len(times) // 2], 2) if times else None,
        "maxSeconds": round(times[-1], 2) if times else None,
        "maxBytesSent": max((r[3] for r in results), default=0),
    }))


asyncio.run(main())
