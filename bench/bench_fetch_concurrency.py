"""Feeds per second on loopback: jirga's Fetcher (threads + one shared httpx transport) against
plain threads + httpx.Client and against httpx.AsyncClient, with an optional server latency.

    uv run python bench/bench_fetch_concurrency.py --feeds 500 --concurrency 32 --latency-ms 0
    uv run python bench/bench_fetch_concurrency.py --feeds 500 --concurrency 32 --latency-ms 200

The server runs in its own process (asyncio, keep-alive, a small RSS body after ``latency``), so
it does not compete with the clients for the GIL. Every feed has its own URL on one host, so the
Fetcher's per-host limit is raised to the concurrency here (in production it is 2 per host).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from jirga.fetch import Fetcher, FetchLimits
from jirga.types import FeedState, FetchOutcome

BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title></channel></rss>'


def serve(port_out: multiprocessing.connection.Connection, latency: float) -> None:
    """Run a minimal HTTP/1.1 server on 127.0.0.1 until killed; report its port through the pipe."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n"
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                if latency:
                    await asyncio.sleep(latency)
                writer.write(head % len(BODY) + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def bench_fetcher(urls: list[str], concurrency: int) -> int:
    limits = FetchLimits(allow_private_networks=True)
    now = dt.datetime.now(dt.UTC)
    states = [FeedState(f"f{i}", url) for i, url in enumerate(urls)]
    with Fetcher(limits, concurrency=concurrency, per_host=concurrency) as fetcher:
        return sum(r.outcome is FetchOutcome.OK for _, r in fetcher.fetch_many(states, now))


def bench_threads(urls: list[str], concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with (
        httpx.Client(limits=limits, trust_env=False) as client,
        ThreadPoolExecutor(concurrency) as pool,
    ):
        return sum(r.status_code == 200 for r in pool.map(client.get, urls))


def bench_async(urls: list[str], concurrency: int) -> int:
    async def run() -> int:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

            async def one(url: str) -> bool:
                async with gate:
                    return (await client.get(url)).status_code == 200

            return sum(await asyncio.gather(*(one(u) for u in urls)))

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()

    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=serve, args=(there, args.latency_ms / 1000), daemon=True
    )
    server.start()
    try:
        port = here.recv()
        urls = [f"http://127.0.0.1:{port}/feed/{i}.xml" for i in range(args.feeds)]
        print(
            f"{args.feeds} feeds, concurrency {args.concurrency}, "
            f"server latency {args.latency_ms:g} ms (best of {args.rounds})"
        )
        for name, run in (
            ("jirga Fetcher (threads + transport)", bench_fetcher),
            ("threads + httpx.Client", bench_threads),
            ("httpx.AsyncClient", bench_async),
        ):
            best = float("inf")
            for _ in range(args.rounds):
                started = time.perf_counter()
                ok = run(urls, args.concurrency)
                best = min(best, time.perf_counter() - started)
                assert ok == args.feeds, f"{name}: only {ok} of {args.feeds} feeds fetched"
            print(f"  {name:40} {args.feeds / best:8.0f} feeds/s")
    finally:
        server.terminate()
        server.join(timeout=5)


if __name__ == "__main__":
    main()
