"""Helpers for running the real ``smsc-soap`` entry point in a subprocess against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from smsc_soap.emulator import TEST_SENDER, Account

BULK_LOGIN = "bulk"
BULK_PSW = "Bulk-PSW-9c41e7"


def cli_env(url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: no SMSC_*/proxy variables but the ones given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SMSC_") and not k.upper().endswith("_PROXY")
    }
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    if url is not None:
        env["SMSC_ENDPOINT"] = url
    env.update(extra)
    return env


def run_cli(
    *args: str, env: Mapping[str, str], input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m smsc_soap ARGS`` and return the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "smsc_soap", *args],
        env=dict(env),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def bulk_account(balance: str = "1000000000") -> Account:
    """An account with room for large runs."""
    return Account(BULK_LOGIN, BULK_PSW, balance=Decimal(balance), senders=frozenset({TEST_SENDER}))


def write_csv(path: Path, rows: int, *, bad_every: int = 0, start: int = 0) -> Path:
    """Write a CSV of ``rows`` people (phone,name); every ``bad_every``-th row has a bad number."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("phone,name\n")
        for i in range(start, start + rows):
            phone = "12ab" if bad_every and i % bad_every == bad_every - 1 else f"7912{i:07d}"
            handle.write(f"{phone},Имя{i}\n")
    return path
