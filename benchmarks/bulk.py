"""Bulk: 10,000 personalised messages at a fixed latency, against the floor and three baselines.

Two servers, each in its own process, answer every request after ``latency`` ms:

* **a canned server** (``_canned_server.py``) that does next to no work per message: the model the floor
  is defined in (a remote service whose own work is not on this machine), so ``send_bulk / floor`` is
  what the client adds to the latency. The targets are read here.
* **the emulator**, which checks, bills and stores every message: about 11 us of CPU per ``list`` line
  on the same two cores as the client (0.11 s for 10,000 lines, more than the 0.08 s floor at 10 ms by
  itself). Its rows are information: the whole stack on one machine.

The baselines split what ``send_bulk`` gains (through the emulator):

* **naive loop:** one ``send_sms2`` per message, in sequence (timed over a sample, extrapolated);
* **14-thread loop:** the same calls from 14 threads sharing one client (timed over a sample,
  extrapolated): what concurrency alone gives;
* **send_bulk:** messages packed into ``list`` requests of 100, 14 in flight, journal in a temporary
  file with ``synchronous=FULL`` as shipped: batching on top of concurrency.

The floor is the latency of the requests, in waves: ``ceil(100 requests / 14 in flight) = 8 waves`` of
``latency`` each (8 x 50 ms = 0.40 s; at 10 ms, 0.08 s). ``send_bulk_async`` is measured the same way.
Each bulk figure is the median of three runs (one with ``--quick``), sync and async interleaved.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any

from _common import Figure, at_least, at_most, info, median
from emulator_throughput import EmulatorProcess
from per_call import CannedServer

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


def _naive(url: str, calls: int, offset: int) -> float:
    from smsc_soap import SoapSmsc

    with SoapSmsc("test", "test-password", endpoint=url) as client:
        client.get_balance()  # connection made, WSDL loaded: time the steady state
        started = time.perf_counter()
        for phone, mes in _messages(calls, offset):
            client.send_sms2(phone, mes)
        return time.perf_counter() - started


def _threaded(url: str, calls: int, offset: int) -> float:
    from smsc_soap import SoapSmsc

    messages = _messages(calls, offset)
    with SoapSmsc("test", "test-password", endpoint=url, max_connections=CONCURRENCY) as client:
        client.get_balance()
        lock = threading.Lock()
        failures: list[BaseException] = []

        def worker() -> None:
            while True:
                with lock:
                    if not messages:
                        return
                    phone, mes = messages.pop()
                try:
                    client.send_sms2(phone, mes)
                except Exception as exc:  # counted: a failed call would flatter the baseline
                    failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} threaded sends failed: {failures[0]!r}")
    return elapsed


def _bulk_sync(url: str, count: int, offset: int = 0) -> tuple[float, int]:
    from smsc_soap import SoapSmsc
    from smsc_soap._bulk.session import send_bulk

    with SoapSmsc("test", "test-password", endpoint=url, max_connections=CONCURRENCY) as client:
        client.send_sms2("79990000000", "warm-up")  # connection made: time the steady state
        started = time.perf_counter()
        summary = send_bulk(
            client, _messages(count, offset), concurrency=CONCURRENCY, batch_size=BATCH
        )
        elapsed = time.perf_counter() - started
    return elapsed, summary.sent


async def _bulk_async_run(url: str, count: int, offset: int) -> tuple[float, int]:
    from smsc_soap._bulk.async_driver import send_bulk_async
    from smsc_soap._client.async_client import AsyncSoapSmsc

    messages = _messages(count, offset)
    async with AsyncSoapSmsc(
        "test", "test-password", endpoint=url, max_connections=CONCURRENCY
    ) as client:
        await client.send_sms2("79990000000", "warm-up")
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


def _bulk_runs(url: str, count: int, runs: int, base: int) -> tuple[list[Any], list[Any]]:
    """``runs`` sync and async bulk runs of ``count`` messages, interleaved so drift hits both alike."""
    sync_runs: list[tuple[float, int]] = []
    async_runs: list[tuple[float, int]] = []
    for run_index in range(runs):
        offset = base + run_index * 2 * count
        sync_runs.append(_bulk_sync(url, count, offset))
        async_runs.append(asyncio.run(_bulk_async_run(url, count, offset + count)))
    for name, runs_ in (("send_bulk", sync_runs), ("send_bulk_async", async_runs)):
        if min(sent for _, sent in runs_) != count:
            raise RuntimeError(f"{name} sent fewer than {count} messages: {runs_}")
    return sync_runs, async_runs


def measure(latency_ms: int, quick: bool) -> dict[str, float | str]:
    """Every bulk figure at one latency (seconds, ratios and notes)."""
    count = 1_000 if quick else 10_000
    naive_calls = 10 if quick else 200
    threaded_calls = 140 if quick else 1_400
    runs = 1 if quick else 3
    with CannedServer(latency_ms) as canned:
        sync_runs, async_runs = _bulk_runs(canned.url, count, runs, 0)
    with EmulatorProcess(latency_ms) as emulator:
        naive = _naive(emulator.url, naive_calls, 5_000_000) / naive_calls * count
        threaded = _threaded(emulator.url, threaded_calls, 6_000_000) / threaded_calls * count
        emu_sync, emu_async = _bulk_runs(emulator.url, count, runs, 0)
    requests_needed = math.ceil(count / BATCH)
    waves = math.ceil(requests_needed / CONCURRENCY)
    return {
        "count": count,
        "naive": naive,
        "naive_calls": naive_calls,
        "threaded": threaded,
        "threaded_calls": threaded_calls,
        "sync": median([elapsed for elapsed, _ in sync_runs]),
        "async": median([elapsed for elapsed, _ in async_runs]),
        "sync_note": _note(sync_runs),
        "async_note": _note(async_runs),
        "emu_sync": median([elapsed for elapsed, _ in emu_sync]),
        "emu_async": median([elapsed for elapsed, _ in emu_async]),
        "emu_sync_note": _note(emu_sync),
        "emu_async_note": _note(emu_async),
        "requests": requests_needed,
        "waves": waves,
        "floor": waves * latency_ms / 1000,
    }


def _figures(latency_ms: int, m: dict[str, float | str]) -> list[Figure]:
    count, naive, threaded = int(m["count"]), float(m["naive"]), float(m["threaded"])
    sync, asyn, floor = float(m["sync"]), float(m["async"]), float(m["floor"])
    emu_sync, emu_async = float(m["emu_sync"]), float(m["emu_async"])
    at = f"{latency_ms} ms"
    floor_text = (
        f"ceil({m['requests']} requests / {CONCURRENCY} in flight) = {m['waves']} wave(s) "
        f"x {at} = {floor:.2f} s"
    )
    return [
        info("  floor (latency in waves)", floor, "s", floor_text),
        info(
            f"send_bulk (sync), {count:,} msgs, {at}, canned server", sync, "s", str(m["sync_note"])
        ),
        at_most("  send_bulk / floor", sync / floor, "x", 2.0),
        info(
            f"send_bulk_async, {count:,} msgs, {at}, canned server",
            asyn,
            "s",
            str(m["async_note"]),
        ),
        at_most("  send_bulk_async / floor", asyn / floor, "x", 2.0),
        info(
            f"naive send_sms2 loop, {count:,} msgs, {at}, emulator",
            naive,
            "s",
            f"extrapolated from {m['naive_calls']} calls",
        ),
        info(
            f"{CONCURRENCY}-thread send_sms2 loop, {count:,} msgs, {at}, emulator",
            threaded,
            "s",
            f"extrapolated from {m['threaded_calls']} calls",
        ),
        info(f"  concurrency alone: naive / {CONCURRENCY}-thread loop", naive / threaded, "x"),
        info(
            f"send_bulk (sync), {count:,} msgs, {at}, emulator",
            emu_sync,
            "s",
            str(m["emu_sync_note"]),
        ),
        info(f"  batching: {CONCURRENCY}-thread loop / send_bulk", threaded / emu_sync, "x"),
        (
            at_least("  all together: naive loop / send_bulk", naive / emu_sync, "x", 300)
            if latency_ms >= 50
            else info("  all together: naive loop / send_bulk", naive / emu_sync, "x")
        ),
        info(
            "  send_bulk / floor, emulator",
            emu_sync / floor,
            "x",
            "the emulator's own CPU shares the two cores",
        ),
        info(
            f"send_bulk_async, {count:,} msgs, {at}, emulator",
            emu_async,
            "s",
            str(m["emu_async_note"]),
        ),
        info("  send_bulk_async / floor, emulator", emu_async / floor, "x"),
    ]


def run(quick: bool) -> list[Figure]:
    """Bulk against its baselines at 50 ms (the service's usual) and 10 ms (client CPU dominates)."""
    return _figures(50, measure(50, quick)) + _figures(10, measure(10, quick))


if __name__ == "__main__":
    import sys

    for figure in run("--quick" in sys.argv):
        print(figure.line())
