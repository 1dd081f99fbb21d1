"""Run the benchmarks: every figure against a baseline measured in the same run, with its target.

    python benchmarks/run.py [--quick] [--only NAME ...] [--markdown FILE]

Everything runs on this machine: the emulator and every server listen on 127.0.0.1 only. ``--quick``
shrinks every workload (a smoke run, figures not meaningful). Exit status 0 even when a target is
missed: the report says PASS/MISS per figure; 1 only when a benchmark failed to run. ``--markdown FILE``
also writes the figures as the Markdown table the README shows. The machine's load average is printed
before and after: other processes on the same cores distort every wall-time figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

import _common  # noqa: F401  (puts the checkout on sys.path)
from _common import Figure

BENCHMARKS: dict[str, str] = {
    "cold_start": "cold start until the first reply vs plain zeep, fresh interpreters",
    "per_call": "per-call CPU over keep-alive HTTP: ours vs plain zeep vs a minimal floor",
    "emulator": "emulator throughput, sustained, errors counted apart",
    "bulk": "bulk: 10,000 personalised messages vs a naive loop and a 14-thread loop",
    "memory": "memory: resident growth of a 100,000-row bulk run",
}


def _load(name: str) -> Callable[[bool], list[Figure]]:
    module = {
        "cold_start": "cold_start",
        "per_call": "per_call",
        "emulator": "emulator_throughput",
        "bulk": "bulk",
        "memory": "memory",
    }[name]
    run: Callable[[bool], list[Figure]] = __import__(module).run
    return run


def _loadavg() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and print their figures; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny workloads (smoke test)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument(
        "--markdown", metavar="FILE", help="also write the figures as a Markdown table"
    )
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    header = (
        f"smsc-soap benchmarks{' (--quick: figures not meaningful)' if args.quick else ''} - "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s), {platform.system()}, "
        f"load average {_loadavg()} at start"
    )
    print(header, flush=True)
    table = ["| figure | value | target | verdict | note |", "|---|---|---|---|---|"]
    failures = 0
    misses = 0
    started = time.perf_counter()
    for name in names:
        print(f"\n[{name}] {BENCHMARKS[name]}", flush=True)
        began = time.perf_counter()
        try:
            figures = _load(name)(args.quick)
        except Exception:
            failures += 1
            print("  FAILED TO RUN:", flush=True)
            traceback.print_exc()
            continue
        table.append(f"| **{name}** | | | | |")
        for figure in figures:
            print(figure.line(), flush=True)
            table.append(figure.row())
            misses += figure.passed is False
        print(f"  ({time.perf_counter() - began:.1f} s)", flush=True)
    total = time.perf_counter() - started
    footer = (
        f"{misses} target(s) missed, {failures} benchmark(s) failed to run, {total:.0f} s in all; "
        f"load average {_loadavg()} at the end."
    )
    print(f"\n{footer}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(f"{header}\n\n" + "\n".join(table) + f"\n\n{footer}\n")

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
