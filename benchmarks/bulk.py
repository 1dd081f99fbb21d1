"""Bulk: 10,000 personalised messages through the emulator with 50 ms latency, against a naive loop.

The baseline is what a first implementation does: one ``send_sms2`` per message, in sequence; it is timed
over 200 calls and extrapolated to 10,000. ``send_bulk`` packs the messages into ``list`` requests and
keeps ``concurrency`` of them in flight (journal in a temporary file, as by default); the floor is
requests needed x latency / concurrency. The async figure runs ``send_bulk_async`` (same batching and
journal) with :class:`AsyncSoapSmsc` from one event loop. Each bulk figure is the median of three runs,
sync and async interleaved. The emulator runs in its own process, as the real service is remote: it
does not compete with the client for the GIL.
"""

from __future__ import annotations

import asyncio
import math
import time

from _common import Figure, at_least, at_most, info, median
from emulator_throughput import EmulatorProcess

LATENCY_MS = 50
CONCURRENCY = 14
BATCH = 100


def _messages(count: int, offset: int = 0) -> list[tuple[str, str]]:
    return [
        (
            f"7999{(offset + i) % 10_000_000:07d}",
            f"Hello, customer {offset + i}! Your code is {i % 9973}.",
        )
        for i in range(count)
    ]


def _naive(url: str, calls: int) -> float:
    from smsc_soap import SoapSmsc

    with SoapSmsc("test", "test-password", endpoint=url) as client:
        client.get_balance()  # connection made, WSDL loaded: time the steady state
        started = time.perf_counter()
        for phone, mes in _messages(calls, offset=5_000_000):
            client.send_sms2(phone, mes)
        return time.perf_counter() - started


def _bulk_sync(url: str, count: int, offset: int = 0) -> tuple[float, int]:
    from smsc_soap import SoapSmsc
    from smsc_soap._bulk.session import send_bulk

    with SoapSmsc("test", "test-password", endpoint=url, max_connections=CONCURRENCY) as client:
        client.get_balance()
        started = time.perf_counter()
        summary = send_bulk(
            client, _messages(count, offset), concurrency=CONCURRENCY, batch_size=BATCH
        )
        elapsed = time.perf_counter() - started
    return elapsed, summary.sent


async def _bulk_async_run(url: str, count: int, offset: int = 2_000_000) -> tuple[float, int]:
    from smsc_soap._bulk.async_driver import send_bulk_async
    from smsc_soap._client.async_client import AsyncSoapSmsc

    messages = _messages(count, offset)
    async with AsyncSoapSmsc(
        "test", "test-password", endpoint=url, max_connections=CONCURRENCY
    ) as client:
        await client.get_balance()
        started = time.perf_counter()
        summary = await send_bulk_async(client, messages, concurrency=CONCURRENCY, batch_size=BATCH)
        elapsed = time.perf_counter() - started
    return elapsed, summary.sent


def _note(runs: list[tuple[float, int]]) -> str:
    times = [elapsed for elapsed, _ in runs]
    sent = min(sent for _, sent in runs)
    if len(runs) == 1:
        return f"one run; {sent:,} sent"
    return f"median of {len(runs)}, {min(times):.3f}-{max(times):.3f} s; {sent:,} sent each"


def run(quick: bool) -> list[Figure]:
    """Measure bulk sending against the naive loop and the floor."""
    count = 1_000 if quick else 10_000
    naive_calls = 10 if quick else 200
    runs = 1 if quick else 3
    latency = LATENCY_MS / 1000
    with EmulatorProcess(LATENCY_MS) as emulator:
        naive = _naive(emulator.url, naive_calls) / naive_calls * count
        sync_runs: list[tuple[float, int]] = []
        async_runs: list[tuple[float, int]] = []
        for run_index in range(runs):  # interleaved, so that drift hits both alike
            offset = run_index * 2 * count
            sync_runs.append(_bulk_sync(emulator.url, count, offset))
            async_runs.append(asyncio.run(_bulk_async_run(emulator.url, count, offset + count)))
    sync_elapsed = median([elapsed for elapsed, _ in sync_runs])
    async_elapsed = median([elapsed for elapsed, _ in async_runs])
    requests_needed = math.ceil(count / BATCH)
    floor = math.ceil(requests_needed / CONCURRENCY) * latency
    return [
        info(
            f"naive send_sms2 loop, {count:,} msgs (extrapolated)",
            naive,
            "s",
            f"timed over {naive_calls} calls",
        ),
        info(
            f"send_bulk (sync), {count:,} msgs",
            sync_elapsed,
            "s",
            _note(sync_runs),
        ),
        at_least("  speed-up vs naive loop", naive / sync_elapsed, "x", 300),
        info(
            "  floor: requests x latency / concurrency",
            floor,
            "s",
            f"{requests_needed} requests, {CONCURRENCY} in flight, {LATENCY_MS} ms",
        ),
        at_most("  send_bulk / floor", sync_elapsed / floor, "x", 2.0),
        info(
            f"send_bulk_async (AsyncSoapSmsc), {count:,} msgs",
            async_elapsed,
            "s",
            _note(async_runs),
        ),
        at_least("  speed-up vs naive loop", naive / async_elapsed, "x", 300),
        at_most("  send_bulk_async / floor", async_elapsed / floor, "x", 2.0),
    ]
