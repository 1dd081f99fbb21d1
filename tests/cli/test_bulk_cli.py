"""`smsc-soap bulk` through the real entry point: summary, --json, --dry-run, journal rules, memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smsc_soap.emulator import EmulatorServer

from .helpers import BULK_LOGIN, BULK_PSW, cli_env, run_cli, write_csv

TEMPLATE = "Здравствуйте, {name}!"


def _env(server: EmulatorServer) -> dict[str, str]:
    return cli_env(server.url, SMSC_LOGIN=BULK_LOGIN, SMSC_PSW=BULK_PSW)


def test_bulk_sends_rows_and_prints_a_summary(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """A clean CSV is sent in list requests; the table summary shows rows, parts, cost and balance."""
    csv_path = write_csv(tmp_path / "people.csv", 120)
    result = run_cli(
        "bulk", str(csv_path), "--template", TEMPLATE, "--batch-size", "50", env=_env(bulk_server)
    )
    assert result.returncode == 0, result.stderr
    assert len(bulk_server.messages) == 120
    assert "Здравствуйте, Имя0!" in {m.text for m in bulk_server.messages}
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines() if line[:1] != " ")
    assert lines["sent"].strip() == "120" and lines["requests"].strip() == "3"
    assert "cost" in lines and "balance" in lines
    assert result.stderr == ""  # no progress bar: stderr is not a terminal
    assert Path(f"{csv_path}.journal.db").exists()
    assert BULK_PSW not in result.stdout + result.stderr


def test_invalid_rows_stop_the_run_before_any_send(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """Any invalid row: nothing is sent, no journal is created, exit 2 with the report."""
    csv_path = write_csv(tmp_path / "people.csv", 30, bad_every=10)
    journal = tmp_path / "run.db"
    args = ["bulk", str(csv_path), "--template", TEMPLATE, "--journal", str(journal)]
    result = run_cli(*args, env=_env(bulk_server))
    assert result.returncode == 2, result.stderr
    assert "nothing was sent: 3 of 30 rows are invalid" in result.stdout
    assert "--skip-invalid" in result.stdout
    assert "line 11: phones" in result.stdout  # the row's line in the file, the library's message
    assert bulk_server.requests == [] and not journal.exists()
    as_json = json.loads(run_cli(*args, "--json", env=_env(bulk_server)).stdout)
    assert as_json["ok"] is False and as_json["exit_code"] == 2 and as_json["sent"] == 0
    assert as_json["invalid"] == {"invalid phones": 3} and as_json["valid"] == 27


def test_bulk_json_and_partial_failure_exit_11(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """With --skip-invalid, bad rows are counted by reason and the run exits 11 (--json)."""
    csv_path = write_csv(tmp_path / "people.csv", 30, bad_every=10)
    journal = tmp_path / "run.db"
    args = ["bulk", str(csv_path), "--template", TEMPLATE, "--journal", str(journal), "--json"]
    result = run_cli(*args, "--skip-invalid", env=_env(bulk_server))
    assert result.returncode == 11, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["exit_code"] == 11
    assert summary["sent"] == 27 and summary["failed"] == {"invalid phones": 3}
    assert summary["complete"] is True and summary["journal"] == str(journal)


def test_dry_run_validates_and_estimates_without_credentials(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """--dry-run needs no credentials, sends nothing, and estimates parts and cost at --price."""
    csv_path = write_csv(tmp_path / "people.csv", 20, bad_every=5)
    result = run_cli(
        "bulk",
        str(csv_path),
        "--template",
        TEMPLATE + " " + "я" * 60,
        "--dry-run",
        "--price",
        "1.95",
        "--json",
        env=cli_env(),
    )
    assert result.returncode == 2, result.stderr  # the run itself would refuse these rows
    estimate = json.loads(result.stdout)
    assert estimate["ok"] is False and estimate["exit_code"] == 2
    assert estimate["valid"] == 16 and estimate["invalid"] == {"invalid phones": 4}
    assert estimate["parts"] == 32 and estimate["cost"] == "62.40"
    assert bulk_server.requests == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--template", "Hi {surname}"], "column 'surname'"),
        (["--template", "Hi {name.__class__}"], "plain column name"),
        (["--template", "Hi", "--phone-column", "tel"], "no 'tel' column"),
        (["--template", "Hi", "--concurrency", "15"], "1..14"),
    ],
)
def test_usage_errors_exit_2(
    bulk_server: EmulatorServer, tmp_path: Path, extra: list[str], message: str
) -> None:
    """Unknown columns, unsafe template fields and a concurrency of 15 are refused: exit 2."""
    csv_path = write_csv(tmp_path / "people.csv", 3)
    result = run_cli("bulk", str(csv_path), *extra, env=_env(bulk_server))
    assert result.returncode == 2
    assert message in result.stderr
    assert bulk_server.messages == []


def test_existing_journal_needs_resume_and_the_same_input(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """Re-running without --resume is refused; --resume with a changed file is refused."""
    csv_path = write_csv(tmp_path / "people.csv", 5)
    args = ["bulk", str(csv_path), "--template", TEMPLATE]
    assert run_cli(*args, env=_env(bulk_server)).returncode == 0
    again = run_cli(*args, env=_env(bulk_server))
    assert again.returncode == 2 and "--resume" in again.stderr
    write_csv(csv_path, 6)
    changed = run_cli(*args, "--resume", env=_env(bulk_server))
    assert changed.returncode == 2 and "another run" in changed.stderr
    assert len(bulk_server.messages) == 5


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_streaming_keeps_memory_flat(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """Peak RSS of a 10x larger run grows by less than 10 MiB: rows are streamed, not loaded."""

    def peak_rss_kib(rows: int) -> int:
        csv_path = write_csv(tmp_path / f"people-{rows}.csv", rows)
        code = (
            # VmHWM is the peak of this process image; ru_maxrss would include the parent's
            # peak from before exec (Linux keeps it across execve).
            "import sys\n"
            "from smsc_soap.cli import main\n"
            "status = main(sys.argv[1:])\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
            "print(hwm.split()[1], file=sys.stderr)\n"
            "sys.exit(status)\n"
        )
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                "bulk",
                str(csv_path),
                "--template",
                TEMPLATE,
                "--batch-size",
                "200",
                "--concurrency",
                "4",
                "--json",
            ],
            env=_env(bulk_server),
            capture_output=True,
            text=True,
            timeout=110,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        clean = json.loads(result.stdout)
        assert clean["sent"] == rows and clean["ok"] is True and clean["exit_code"] == 0
        return int(result.stderr.strip().splitlines()[-1])

    small = peak_rss_kib(5_000)
    large = peak_rss_kib(50_000)
    print(f"peak RSS: 5k rows {small // 1024} MiB, 50k rows {large // 1024} MiB")
    assert large - small < 10 * 1024


@pytest.mark.slow
def test_only_unknown_outcomes_exit_8(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """A run whose batches all end with an unknown outcome exits 8 (outcome unknown), not 6 (transport).

    Slow on purpose (about 2 s): the CLI in its own process waits bulk's real retry delay before it
    asks the status; a subprocess takes no injected sleep.
    """
    from smsc_soap.emulator import FaultPlan

    bulk_server.inject(
        FaultPlan("drop_connection", times=None, operations={"send_sms2"}, after_processing=True)
    )
    bulk_server.inject(FaultPlan("drop_connection", times=None, operations={"get_status"}))
    csv_path = write_csv(tmp_path / "people.csv", 3)
    result = run_cli(
        "bulk",
        str(csv_path),
        "--template",
        TEMPLATE,
        "--journal",
        str(tmp_path / "run.db"),
        env=_env(bulk_server),
    )
    assert result.returncode == 8, result.stderr
