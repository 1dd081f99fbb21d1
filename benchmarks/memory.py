"""Memory: the resident-set growth of a 100,000-row ``send_bulk`` run, measured in a fresh process.

The child builds the client, sends one warm-up batch (so that the WSDL, zeep's objects and the
connection pool are already counted), records its resident size, then streams 100,000 generated rows
(a generator: the input is never held in memory) through ``send_bulk`` against an emulator in another
process, and reports its peak resident size (``ru_maxrss``) minus the baseline.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from _common import ROOT, Figure, below, info

HERE = Path(__file__).resolve().parent


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rows(count: int) -> Iterator[tuple[str, str]]:
    for i in range(count):
        yield f"7999{i % 10_000_000:07d}", f"Hello, customer {i}! Your code is {i % 9973}."


def child(url: str, rows: int) -> None:
    """Run in the child process: measure and print JSON."""
    import gc

    from smsc_soap import SoapSmsc
    from smsc_soap._bulk.session import send_bulk

    with SoapSmsc("test", "test-password", endpoint=url, max_connections=14) as client:
        send_bulk(client, _rows(100), concurrency=14, batch_size=100)
        gc.collect()
        before = _rss_mb()
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        summary = send_bulk(client, _rows(rows), concurrency=14, batch_size=100)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        after = _rss_mb()
    print(
        json.dumps(
            {
                "before": before,
                "peak": max(peak, peak_before),
                "after": after,
                "sent": summary.sent,
                "growth": max(peak, peak_before) - before,
                "unsent": (
                    f"failed {dict(summary.failed)}, unknown {summary.unknown}, held "
                    f"{summary.held}, stopped by {summary.stopped_by}"
                ),
            }
        )
    )


def run(quick: bool) -> list[Figure]:
    """Measure the resident growth of the bulk run in a fresh interpreter."""
    from emulator_throughput import EmulatorProcess

    rows = 5_000 if quick else 100_000
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSC_")}
    with EmulatorProcess(0) as emulator:
        out = subprocess.run(
            [sys.executable, str(HERE / "memory.py"), "--child", emulator.url, str(rows)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
        ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    if data["sent"] != rows:
        # The figure is about a whole run: a run cut short is a miss, with what stopped it.
        return [
            Figure(
                f"resident growth over {rows:,} rows",
                data["growth"],
                "MB",
                "all rows sent",
                False,
                f"only {data['sent']:,} sent: {data['unsent']}",
            )
        ]
    return [
        info("resident size before the run", data["before"], "MB", "client warm, one batch sent"),
        below(
            f"resident growth over {rows:,} rows (peak - before)",
            data["growth"],
            "MB",
            100,
            f"{data['sent']:,} sent; after: {data['after']:.0f} MB",
        ),
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    import _common  # noqa: F401

    child(sys.argv[2], int(sys.argv[3]))
