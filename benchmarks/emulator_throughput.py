"""The emulator's own throughput: requests per second it answers on this machine.

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

from _common import ROOT, Figure, at_least, info

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


def _bodies(count: int) -> list[bytes]:
    from smsc_soap._soap.protocol import protocol_for

    protocol = protocol_for("https://smsc.ru/sys/soap.php")
    credentials = {"login": "test", "psw": "test-password"}
    return [
        protocol.build(
            "send_sms2",
            {"phones": f"7999{i:07d}", "mes": f"load {i}", "id": f"L{i}", "query": "cost=3"},
            credentials,
        ).body
        for i in range(count)
    ]


async def _worker(url: str, bodies: list[bytes], stop_at: float, counts: list[int]) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        'Content-Type: text/xml; charset=utf-8\r\nSOAPAction: "https://smsc.ru/sys/soap.php"\r\n'
    ).encode()
    try:
        while bodies and time.monotonic() < stop_at:
            body = bodies.pop()
            writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status_line = await reader.readuntil(b"\r\n")
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if b" 200 " in status_line:
                counts[0] += 1
            else:
                counts[1] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _load(
    url: str, bodies: list[bytes], seconds: float, connections: int
) -> tuple[int, int, float]:
    counts = [0, 0]
    started = time.monotonic()
    await asyncio.gather(
        *(_worker(url, bodies, started + seconds, counts) for _ in range(connections))
    )
    return counts[0], counts[1], time.monotonic() - started


def run(quick: bool) -> list[Figure]:
    """Measure the emulator's requests per second."""
    seconds = 1.5 if quick else 5.0
    connections = 8
    bodies = _bodies(int(seconds * 3000))
    with EmulatorProcess() as emulator:
        asyncio.run(_load(emulator.url, bodies[:200], 0.5, connections))  # warm up
        ok, failed, elapsed = asyncio.run(_load(emulator.url, bodies[200:], seconds, connections))
    rate = ok / elapsed
    return [
        at_least(
            "emulator throughput (send_sms2, 8 keep-alive conns)",
            rate,
            "req/s",
            500,
            f"{ok} OK, {failed} not 200, in {elapsed:.1f} s",
        ),
        info("  mean service time per request", 1000 / rate if rate else 0.0, "ms"),
    ]
