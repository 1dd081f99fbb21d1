"""Run an emulator on 127.0.0.1 in its own process for the benchmarks; prints its URL, stops on stdin EOF.

python _emulator_proc.py [latency_ms]
"""

from __future__ import annotations

import sys
from decimal import Decimal

import _common  # noqa: F401  (puts the checkout on sys.path)

from smsc_soap.emulator import Emulator, EmulatorServer, default_account


def main() -> None:
    """Serve until stdin closes."""
    latency = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    # Configured as `smsc-soap serve` runs it: bounded message store and request log.
    emulator = Emulator([default_account(balance=Decimal(10**12))], max_messages=100_000)
    with EmulatorServer(emulator, latency_ms=latency, log_limit=1000) as server:
        print(server.url, flush=True)
        sys.stdin.read()
        print(len(server.requests), flush=True)


if __name__ == "__main__":
    main()
