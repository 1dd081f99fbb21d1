"""`smsc-soap bulk` with bad input files and journals: exit 2 (or 1) with a clear message, never a partial send."""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sqlite3
import stat
from contextlib import ExitStack, closing
from decimal import Decimal
from pathlib import Path

import pytest

from smsc_soap.cli import build_parser
from smsc_soap.cli.common import Context
from smsc_soap.emulator import TEST_SENDER, Account, Emulator, EmulatorServer, ManualClock

from .helpers import BULK_LOGIN, BULK_PSW, bulk_account, write_csv

TEMPLATE = "Здравствуйте, {name}!"


def _cli(
    *argv: str, env: dict[str, str], stdin: io.TextIOBase | None = None
) -> tuple[int, str, str]:
    """Run the real command line in this process with an injected environment and streams."""
    args: argparse.Namespace = build_parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    args.context = Context(
        environ=env,
        stdout=out,
        stderr=err,
        stdin=stdin if stdin is not None else io.StringIO(""),  # type: ignore[arg-type]
    )
    code = args.run(args)
    return code, out.getvalue(), err.getvalue()


def _env(server: EmulatorServer, login: str = BULK_LOGIN, psw: str = BULK_PSW) -> dict[str, str]:
    return {"SMSC_ENDPOINT": server.url, "SMSC_LOGIN": login, "SMSC_PSW": psw}


def _sends(server: EmulatorServer) -> int:
    return sum(1 for r in server.requests if r.operation == "send_sms2")


def test_a_bad_byte_in_the_middle_sends_nothing(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """A non-UTF-8 byte at row 150 of 200: exit 2, no request, no journal; the report hints at --encoding."""
    path = write_csv(tmp_path / "people.csv", 200)
    data = path.read_bytes().replace("Имя149\n".encode(), b"\xc8\xec\xff149\n")
    path.write_bytes(data)
    journal = tmp_path / "run.db"
    args = ("bulk", str(path), "--template", TEMPLATE, "--journal", str(journal))
    code, out, err = _cli(*args, env=_env(bulk_server))
    assert code == 2, err
    assert "nothing was sent: 1 of 200 rows are invalid" in out
    assert "line 151: column 'name' is not valid utf-8" in out and "--encoding cp1251" in out
    assert bulk_server.requests == [] and not journal.exists()
    # --skip-invalid sends the 199 valid rows and reports the bad one.
    code, out, err = _cli(*args, "--skip-invalid", env=_env(bulk_server))
    assert code == 11, err
    assert len(bulk_server.messages) == 199
    assert "invalid encoding: 1" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--delimiter", ";;"], "--delimiter must be one character"),
        (["--encoding", "bogus"], "--encoding 'bogus' is not a known text encoding"),
        (["--journal", "{tmp}/missing/run.db"], "does not exist"),
        (["--failed-out", "{tmp}/missing/failed.csv"], "does not exist"),
        (["--time", "someday"], "time"),
        (["-o", "psw=x"], "psw"),
        (["--price", "cheap", "--dry-run"], "--price"),
    ],
)
def test_bad_flags_exit_2_before_anything_exists(
    bulk_server: EmulatorServer, tmp_path: Path, extra: list[str], message: str
) -> None:
    """Bad --delimiter, --encoding, --time, -o and paths: exit 2, a message, no journal, no request."""
    path = write_csv(tmp_path / "people.csv", 3)
    extra = [value.replace("{tmp}", str(tmp_path)) for value in extra]
    code, _, err = _cli("bulk", str(path), "--template", TEMPLATE, *extra, env=_env(bulk_server))
    assert code == 2
    assert message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv"]
    assert bulk_server.requests == []


@pytest.mark.parametrize(
    ("make", "message"),
    [(lambda p: None, "no such file"), (lambda p: p.mkdir(), "is a directory")],
    ids=["missing", "directory"],
)
def test_missing_file_or_directory_exit_2(
    bulk_server: EmulatorServer, tmp_path: Path, make: object, message: str
) -> None:
    """A missing input or a directory: exit 2 with the path, no journal."""
    path = tmp_path / "people.csv"
    make(path)  # type: ignore[operator]
    code, _, err = _cli("bulk", str(path), "--template", TEMPLATE, env=_env(bulk_server))
    assert code == 2 and message in err
    assert not Path(f"{path}.journal.db").exists()


def test_a_semicolon_cp1251_file_and_a_utf16_file_are_read(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """Excel's Russian CSV (cp1251, ';') with --encoding, and UTF-16 with a BOM without it."""
    rows = "phone;name\r\n79120000001;Иван\r\n79120000002;Пётр\r\n"
    excel = tmp_path / "excel.csv"
    excel.write_bytes(rows.encode("cp1251"))
    code, _, err = _cli(
        "bulk", str(excel), "--template", TEMPLATE, "--encoding", "cp1251", env=_env(bulk_server)
    )
    assert code == 0, err
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(rows.replace("79120", "79130").encode("utf-16"))
    code, _, err = _cli("bulk", str(utf16), "--template", TEMPLATE, env=_env(bulk_server))
    assert code == 0, err
    assert sorted(m.text for m in bulk_server.messages) == sorted(
        ["Здравствуйте, Иван!", "Здравствуйте, Пётр!"] * 2
    )


def test_stdin_is_spooled_and_checked_before_sending(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """'-' reads stdin into a temporary file first: a bad last row still stops the run before any send."""
    body = "phone,name\n79120000001,Иван\n79120000002,Пётр\n12ab,Анна\n"
    journal = tmp_path / "run.db"
    args = ("bulk", "-", "--template", TEMPLATE, "--journal", str(journal))
    code, out, _ = _cli(*args, env=_env(bulk_server), stdin=io.StringIO(body))
    assert code == 2 and "line 4: phones" in out and bulk_server.requests == []
    code, _, err = _cli(*args, "--skip-invalid", env=_env(bulk_server), stdin=io.StringIO(body))
    assert code == 11, err
    assert len(bulk_server.messages) == 2


def test_the_stdin_spool_is_private_and_removed(tmp_path: Path) -> None:
    """The spool file is 0600 while the run reads it, and gone afterwards."""
    from smsc_soap.cli.bulk import _spool_stdin

    stdin = io.TextIOWrapper(io.BytesIO(b"phone\n79120000001\n"), encoding="utf-8")
    with ExitStack() as stack:
        path = _spool_stdin(Context(stdin=stdin), stack)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == b"phone\n79120000001\n"
    assert not path.exists()


@pytest.mark.parametrize("kind", ["empty", "foreign sqlite", "copied without -wal"])
def test_resume_of_a_journal_holding_no_run_exits_2(
    bulk_server: EmulatorServer, tmp_path: Path, kind: str
) -> None:
    """--resume never starts again from row 0: an empty or foreign file, or a lost -wal, exit 2."""
    path = write_csv(tmp_path / "people.csv", 30)
    journal = tmp_path / "run.db"
    if kind == "empty":
        journal.write_bytes(b"")
    elif kind == "foreign sqlite":
        with closing(sqlite3.connect(journal)) as db, db:
            db.execute("CREATE TABLE t (x)")
    else:
        from smsc_soap._bulk.journal import Journal

        book = Journal(tmp_path / "crashed.db")
        book.bind("key", None, resume=False)
        shutil.copy(tmp_path / "crashed.db", journal)  # the run is still open: its log not copied
        book.close()
    args = ("bulk", str(path), "--template", TEMPLATE, "--journal", str(journal), "--resume")
    code, _, err = _cli(*args, env=_env(bulk_server))
    assert code == 2, err
    assert {"empty": "is empty", "foreign sqlite": "not a bulk journal"}.get(
        kind, "-wal is missing"
    ) in err
    assert bulk_server.requests == []


def test_resume_under_another_account_exits_2(tmp_path: Path) -> None:
    """The journal is bound to the login that started it: another login's --resume is refused."""
    other = Account(
        "other", "Other-PSW-77", balance=Decimal(1000), senders=frozenset({TEST_SENDER})
    )
    emulator = Emulator([bulk_account(), other], clock=ManualClock())
    path = write_csv(tmp_path / "people.csv", 20)
    args = ("bulk", str(path), "--template", TEMPLATE, "--journal", str(tmp_path / "run.db"))
    with EmulatorServer(emulator) as server:
        assert _cli(*args, env=_env(server))[0] == 0
        code, _, err = _cli(*args, "--resume", env=_env(server, "other", "Other-PSW-77"))
        assert code == 2 and "another account" in err
        assert len(server.messages) == 20


def test_a_damaged_journal_exits_2(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """A corrupted page in the journal: --resume exits 2 and names the damage."""
    path = write_csv(tmp_path / "people.csv", 500)
    journal = tmp_path / "run.db"
    args = (
        "bulk",
        str(path),
        "--template",
        TEMPLATE,
        "--journal",
        str(journal),
        "--batch-size",
        "5",
    )
    assert _cli(*args, env=_env(bulk_server))[0] == 0
    data = bytearray(journal.read_bytes())
    data[4096 : 3 * 4096] = b"\x00\xff" * 4096
    journal.write_bytes(bytes(data))
    code, _, err = _cli(*args, "--resume", env=_env(bulk_server))
    assert code == 2 and "damaged" in err


def test_failed_out_lists_invalid_and_refused_rows(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """--failed-out: each invalid row and each number the service refused, with code and meaning."""
    path = tmp_path / "people.csv"
    path.write_text(
        "phone;name\n79120000001;Иван\n12ab;Пётр\n70000000022;Анна\n79120000002;Олег\n",
        encoding="utf-8",
    )
    failed = tmp_path / "failed.csv"
    code, out, err = _cli(
        "bulk",
        str(path),
        "--template",
        TEMPLATE,
        "--skip-invalid",
        "--failed-out",
        str(failed),
        env=_env(bulk_server),
    )
    assert code == 11, err
    assert f"failed rows: 2 written to {failed}" in out
    with failed.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))  # the input's own delimiter
    assert rows[0] == ["phone", "name", "line", "failed_phone", "code", "meaning"]
    assert rows[1][:3] == ["12ab", "Пётр", "3"] and rows[1][4] == ""
    assert "phones" in rows[1][5]
    assert rows[2][:5] == ["70000000022", "Анна", "4", "70000000022", "22"]
    assert rows[2][5] == "wrong number" and len(rows) == 3
    assert {"79120000001", "79120000002"} <= {m.phones[0] for m in bulk_server.messages}


def test_failed_out_of_a_refused_run_holds_the_invalid_rows(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """When invalid rows stop the run, --failed-out lists them (and the report points to the file)."""
    path = write_csv(tmp_path / "people.csv", 20, bad_every=10)
    failed = tmp_path / "failed.csv"
    code, out, _ = _cli(
        "bulk",
        str(path),
        "--template",
        TEMPLATE,
        "--failed-out",
        str(failed),
        env=_env(bulk_server),
    )
    assert code == 2 and f"invalid rows written to {failed}" in out
    with failed.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["line"] for row in rows] == ["11", "21"]
    assert bulk_server.requests == []


def test_json_errors_carry_ok_and_exit_code(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """A refused journal under --json: exit 2 and a JSON error on stdout."""
    path = write_csv(tmp_path / "people.csv", 3)
    journal = tmp_path / "run.db"
    journal.write_bytes(b"")
    code, out, _ = _cli(
        "bulk",
        str(path),
        "--template",
        TEMPLATE,
        "--journal",
        str(journal),
        "--resume",
        "--json",
        env=_env(bulk_server),
    )
    data = json.loads(out)
    assert code == 2 and data["ok"] is False and data["exit_code"] == 2
    assert "is empty" in data["error"]["message"]


def test_a_file_changed_after_the_check_stops_the_run(
    bulk_server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row that turns invalid between the check and the send stops the run there (exit 2)."""
    import smsc_soap.cli.bulk as bulk_cli

    path = write_csv(tmp_path / "people.csv", 300)
    checked = bulk_cli._check_pass

    def check_then_spoil(*args: object) -> object:
        estimate = checked(*args)  # type: ignore[arg-type]
        path.write_bytes(path.read_bytes().replace(b"79120000250", b"7912000025x"))
        return estimate

    monkeypatch.setattr(bulk_cli, "_check_pass", check_then_spoil)
    journal = tmp_path / "run.db"
    args = ("bulk", str(path), "--template", TEMPLATE, "--journal", str(journal))
    code, _, err = _cli(*args, "--batch-size", "50", "--concurrency", "1", env=_env(bulk_server))
    assert code == 2 and "the file changed" in err and "line 252" in err
    assert len(bulk_server.messages) <= 250
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv", "run.db"]  # closed
