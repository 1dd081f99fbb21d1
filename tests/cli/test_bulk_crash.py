"""Crash safety of `smsc-soap bulk`: SIGKILL at random points, then --resume; every row exactly once."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from smsc_soap.emulator import Emulator, EmulatorServer, ManualClock

from .helpers import BULK_LOGIN, BULK_PSW, bulk_account, cli_env, run_cli, write_csv

ROWS = 400
pytestmark = pytest.mark.slow


def _command(csv_path: Path, journal: Path, *extra: str) -> list[str]:
    return [
        "bulk",
        str(csv_path),
        "--template",
        "Здравствуйте, {name}!",
        "--journal",
        str(journal),
        "--batch-size",
        "10",
        "--concurrency",
        "4",
        "--json",
        *extra,
    ]


def _sends(server: EmulatorServer) -> int:
    return sum(1 for r in server.requests if r.operation == "send_sms2")


def _kill_after(server: EmulatorServer, argv: list[str], env: dict[str, str], sends: int) -> int:
    """Start a bulk run, SIGKILL it once the service has seen ``sends`` more sends; return its code."""
    before = _sends(server)
    process = subprocess.Popen(
        [sys.executable, "-m", "smsc_soap", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _sends(server) - before < sends and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the bulk run made no progress")
        time.sleep(0.002)
    time.sleep(random.uniform(0, 0.03))  # land anywhere: mid-request, mid-commit, between batches
    process.send_signal(signal.SIGKILL)
    return process.wait(timeout=30)


def _assert_exactly_once(server: EmulatorServer) -> None:
    delivered = Counter((m.phones[0], m.text) for m in server.messages)
    expected = Counter((f"7912{i:07d}", f"Здравствуйте, Имя{i}!") for i in range(ROWS))
    assert delivered == expected


@pytest.mark.parametrize(
    ("kill_points", "advance"),
    [
        ((1,), 0),
        ((7,), 0),
        ((18,), 61),
        ((33,), 0),
        ((3, 9, 20), 0),
        ((5, 12), 61),
    ],
)
def test_sigkill_then_resume_sends_every_row_exactly_once(
    tmp_path: Path, kill_points: tuple[int, ...], advance: float
) -> None:
    """Killed with SIGKILL after N sends (once or repeatedly), resumed: every row held exactly once."""
    random.seed(hash(kill_points))
    csv_path = write_csv(tmp_path / "people.csv", ROWS)
    journal = tmp_path / "run.db"
    emulator = Emulator([bulk_account()], clock=ManualClock())
    with EmulatorServer(emulator, latency_ms=15) as server:
        env = cli_env(server.url, SMSC_LOGIN=BULK_LOGIN, SMSC_PSW=BULK_PSW)
        first = True
        for point in kill_points:
            argv = _command(csv_path, journal) if first else _command(csv_path, journal, "--resume")
            first = False
            code = _kill_after(server, argv, env, point)
            assert code == -signal.SIGKILL
            # After 60 s the service's duplicate check no longer protects a resend: only
            # reconciling by get_status does.
            server.advance(advance)
        result = run_cli(*_command(csv_path, journal, "--resume"), env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["sent"] == ROWS and summary["complete"] is True
        _assert_exactly_once(server)
        server.check()


def test_without_reconcile_a_late_resend_would_duplicate(tmp_path: Path) -> None:
    """Control: after 61 s the emulator accepts an identical resend, so only reconcile prevents it."""
    from smsc_soap import SoapSmsc

    emulator = Emulator([bulk_account()], clock=ManualClock())
    with (
        EmulatorServer(emulator) as server,
        SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url) as client,
    ):
        client.send_sms2(id="777", query={"list": "79120000001:hi"})
        server.advance(61)
        client.send_sms2(id="777", query={"list": "79120000001:hi"})
        assert len(server.messages) == 2


def test_a_killed_runs_journal_copied_without_its_wal_is_refused(tmp_path: Path) -> None:
    """SIGKILL mid-run, then the journal copied alone: --resume exits 2 and sends nothing; copied with
    its -wal it resumes, every row exactly once (the issue's 810-1000 double sends)."""
    import shutil

    csv_path = write_csv(tmp_path / "people.csv", ROWS)
    journal = tmp_path / "run.db"
    emulator = Emulator([bulk_account()], clock=ManualClock())
    with EmulatorServer(emulator, latency_ms=15) as server:
        env = cli_env(server.url, SMSC_LOGIN=BULK_LOGIN, SMSC_PSW=BULK_PSW)
        assert _kill_after(server, _command(csv_path, journal), env, 10) == -signal.SIGKILL
        alone, together = tmp_path / "alone", tmp_path / "together"
        alone.mkdir()
        together.mkdir()
        shutil.copy(journal, alone / "run.db")
        for suffix in ("", "-wal"):
            shutil.copy(f"{journal}{suffix}", together / f"run.db{suffix}")
        server.advance(61)  # past the duplicate window: only the journal protects now
        before = len(server.requests)
        refused = run_cli(*_command(csv_path, alone / "run.db", "--resume"), env=env)
        assert refused.returncode == 2, refused.stderr
        assert "-wal is missing" in refused.stdout + refused.stderr
        assert len(server.requests) == before
        result = run_cli(*_command(csv_path, together / "run.db", "--resume"), env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        _assert_exactly_once(server)
        assert sorted(p.name for p in together.iterdir()) == ["run.db"]  # closed: one file
