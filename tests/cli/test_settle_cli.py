"""`smsc-soap settle JOURNAL --out CSV` after a `smsc-soap bulk` run, through the real entry point."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from smsc_soap.emulator import EmulatorServer

from .helpers import BULK_LOGIN, BULK_PSW, cli_env, run_cli, write_csv


def test_settle_after_bulk_writes_a_readable_csv(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """Every row gets a line: delivered rows status 1, the bad row 'not sent'; --json summarises."""
    env = cli_env(bulk_server.url, SMSC_LOGIN=BULK_LOGIN, SMSC_PSW=BULK_PSW)
    people = write_csv(tmp_path / "people.csv", 6, bad_every=3)
    journal = tmp_path / "run.db"
    sent = run_cli(
        "bulk",
        str(people),
        "--template",
        "Привет, {name}!",
        "--journal",
        str(journal),
        "--skip-invalid",
        env=env,
    )
    assert sent.returncode == 11, sent.stderr  # two bad rows, not sent
    bulk_server.advance(60)
    out = tmp_path / "settled.csv"
    result = run_cli("settle", str(journal), "--out", str(out), "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 6 and summary["delivered"] == 4 and summary["in_flight"] == 0
    assert summary["status_requests"] == 4
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["1", "1", "", "1", "1", ""]
    assert rows[2]["error"].startswith("not sent: invalid phones")
    assert {r["meaning"] for r in rows if r["status"]} == {"delivered"}
    assert BULK_PSW not in result.stdout + result.stderr + out.read_text(encoding="utf-8")


def test_settle_refuses_a_missing_journal(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """A journal that does not exist is a usage error (2), and no CSV is written."""
    env = cli_env(bulk_server.url, SMSC_LOGIN=BULK_LOGIN, SMSC_PSW=BULK_PSW)
    out = tmp_path / "o.csv"
    result = run_cli("settle", str(tmp_path / "nope.db"), "--out", str(out), env=env)
    assert result.returncode == 2
    assert "no such journal" in result.stderr and not out.exists()
