"""The emulator's own sustained throughput: requests per second it answers on this machine.

A full run lasts 30 s (``--quick``: 2 s), long enough for the duplicate-send and flood windows to fill
and expire, and reports the rate of the first and the last slice to show it stays flat. Replies that
carry an ``<error>`` are counted apart from successes.

The emulator runs in a child process (as ``smsc-soap serve`` would) and a lean load generator in this
one posts pre-built ``send_sms2`` envelopes over keep-alive connections with raw asyncio streams, so
that as little client CPU as possible competes with the server for the two cores.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from _common import ROOT, Figure, at_least, at_most, info

HERE = Path(__file__).resolve().parent


class EmulatorProcess:
    """An emulator in a child process; its URL is known once started."""

    def __init__(self, latency_ms: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_emulator_proc.py"), str(latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the emulator did not start")

    def stop(self) -> int:
        """Stop the child; return how many requests it logged."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        count = int(self.proc.stdout.readline().strip() or 0)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        return count

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc.poll() is None:
            self.stop()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


_PHONE = b"79990000000"
_ID = b"L0000000000"


def _template() -> bytes:
    """One send_sms2 envelope built by the client's protocol; phone and id are replaced per request."""
    from smsc_soap._soap.protocol import protocol_for

    protocol = protocol_for("https://smsc.ru/sys/soap.php")
    credentials = {"login": "test", "psw": "test-password"}
    return bytes(
        protocol.build(
            "send_sms2",
            {"phones": _PHONE.decode(), "mes": "load test", "id": _ID.decode(), "query": "cost=3"},
            credentials,
        ).body
    )


class _Counts:
    """Replies by kind, and successes per time slice (to show the rate stays flat)."""

    def __init__(self, slice_seconds: float) -> None:
        self.ok = 0
        self.errors = 0  # 200 with an <error> in the reply: the emulator refused the request
        self.failed = 0  # not 200
        self.slice_seconds = slice_seconds
        self.slices: list[int] = []
        self.next = 0


async def _worker(
    url: str, template: bytes, started: float, stop_at: float, counts: _Counts, step: int
) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        'Content-Type: text/xml; charset=utf-8\r\nSOAPAction: "https://smsc.ru/sys/soap.php"\r\n'
    ).encode()
    try:
        while (now := time.monotonic()) < stop_at:
            index = counts.next
            counts.next += 1
            body = template.replace(_PHONE, b"7%010d" % (step + index)).replace(
                _ID, b"L%010d" % (step + index)
            )
            writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status_line = await reader.readuntil(b"\r\n")
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            reply = await reader.readexactly(length)
            if b" 200 " not in status_line:
                counts.failed += 1
            elif b"<error>" in reply:
                counts.errors += 1
            else:
                counts.ok += 1
                slot = int((now - started) / counts.slice_seconds)
                while len(counts.slices) <= slot:
                    counts.slices.append(0)
                counts.slices[slot] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _load(
    url: str, template: bytes, seconds: float, connections: int, step: int, slice_seconds: float
) -> tuple[_Counts, float]:
    counts = _Counts(slice_seconds)
    started = time.monotonic()
    await asyncio.gather(
        *(
            _worker(url, template, started, started + seconds, counts, step)
            for _ in range(connections)
        )
    )
    return counts, time.monotonic() - started


def run(quick: bool) -> list[Figure]:
    """Measure the emulator's sustained requests per second, errors apart from successes."""
    seconds = 2.0 if quick else 30.0
    slice_seconds = 0.5 if quick else 5.0
    connections = 8
    template = _template()
    with EmulatorProcess() as emulator:
        asyncio.run(_load(emulator.url, template, 0.5, connections, 0, 0.5))  # warm up
        counts, elapsed = asyncio.run(
            _load(emulator.url, template, seconds, connections, 10_000_000, slice_seconds)
        )
    rate = counts.ok / elapsed
    full = [n / slice_seconds for n in counts.slices[: int(seconds / slice_seconds)]]
    first, last = (full[0], full[-1]) if full else (0.0, 0.0)
    return [
        at_least(
            f"emulator throughput, sustained {seconds:g} s (send_sms2, 8 conns)",
            rate,
            "req/s",
            500,
            f"{counts.ok} OK, {counts.errors} <error> replies, {counts.failed} not 200, "
            f"in {elapsed:.1f} s",
        ),
        at_least(
            f"  last {slice_seconds:g} s slice vs first (flat under load)",
            last / first if first else 0.0,
            "x",
            0.8,
            f"{first:,.0f} -> {last:,.0f} req/s",
        ),
        at_most("  <error> or non-200 replies", counts.errors + counts.failed, "", 0),
        info("  mean service time per request", 1000 / rate if rate else 0.0, "ms"),
    ]
