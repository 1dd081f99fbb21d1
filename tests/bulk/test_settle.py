"""settle_bulk: a finished run's final delivery per row, polled within budget or from reports."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from smsc_soap import MessageStatus, SoapSmsc
from smsc_soap._bulk.journal import JournalError
from smsc_soap._bulk.session import send_bulk
from smsc_soap._bulk.settle import CSV_COLUMNS, settle_bulk
from smsc_soap.callbacks import StatusReport
from smsc_soap.emulator import BadCredentials, EmulatorServer
from tests.cli.helpers import BULK_LOGIN, BULK_PSW

ITEMS: list[object] = [
    ("79120000001", "Здравствуйте, Анна!"),
    ("70000000020", "Здравствуйте, Борис!"),  # accepted, then undeliverable
    ("70000000022", "Здравствуйте, Вера!"),  # refused at once: wrong number
    ("12ab", "bad number"),  # invalid, never sent
    ("+7 912 000-00-05", "Здравствуйте, Глеб!"),
]


def _client(server: EmulatorServer) -> SoapSmsc:
    return SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url)


def _run(server: EmulatorServer, tmp_path: Path) -> Path:
    journal = tmp_path / "run.db"
    with _client(server) as client:
        summary = send_bulk(client, ITEMS, journal=journal, batch_size=2)  # type: ignore[arg-type]
    assert summary.complete
    return journal


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _status_requests(server: EmulatorServer) -> list[tuple[float, str]]:
    found = []
    for record in server.requests:
        if record.operation == "get_status":
            match = re.search(rb"<phone>([^<]*)</phone>", record.body)
            assert match is not None
            found.append((record.time, match.group(1).decode()))
    return found


def test_settle_writes_every_row_final_after_delivery(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """After the statuses settle, one CSV line per row tells phone, id, status, meaning and error."""
    journal = _run(bulk_server, tmp_path)
    bulk_server.advance(60)
    out = tmp_path / "settled.csv"
    with _client(bulk_server) as client:
        summary = settle_bulk(client, journal, out)
    rows = _read(out)
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_item = {row["item"]: row for row in rows}
    assert [row["item"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert by_item["1"]["status"] == "1" and by_item["1"]["meaning"] == "delivered"
    assert by_item["2"]["status"] == "20" and by_item["2"]["err"] == "1"
    assert by_item["2"]["error"] == "subscriber does not exist"
    assert by_item["3"]["status"] == "22" and "wrong number" in by_item["3"]["error"]
    assert by_item["4"]["id"] == "" and by_item["4"]["error"].startswith("not sent: invalid phones")
    assert by_item["5"]["phone"] == "+79120000005" and by_item["5"]["status"] == "1"
    assert {row["final"] for row in rows} == {"yes"}
    ids = {m.id for m in bulk_server.messages}
    assert {by_item[i]["id"] for i in "1235"} <= ids
    # Only the three accepted numbers were asked, once each; the refused one never.
    assert Counter(phone for _, phone in _status_requests(bulk_server)) == Counter(
        {"79120000001": 1, "70000000020": 1, "+79120000005": 1}
    )
    assert (summary.rows, summary.delivered, summary.failed, summary.unsettled) == (5, 2, 3, 0)
    assert summary.polls == 3 and summary.stopped_by is None


def test_waiting_polls_again_within_five_per_minute(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """With wait, rows in flight are asked again no sooner than every 12 s, until final."""
    journal = _run(bulk_server, tmp_path)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        bulk_server.advance(seconds)

    clock = bulk_server.emulator.clock
    times: dict[str, list[float]] = {}
    buffer = io.StringIO()
    with _client(bulk_server) as client:
        real_get_status = client.get_status

        def get_status(id: str, phone: str, **kwargs: object) -> object:
            times.setdefault(phone, []).append(clock.now())
            return real_get_status(id, phone, **kwargs)  # type: ignore[arg-type]

        client.get_status = get_status  # type: ignore[method-assign,assignment]
        summary = settle_bulk(
            client, journal, buffer, wait=300, clock=bulk_server.emulator.clock.now, sleep=sleep
        )
    assert summary.unsettled == 0 and summary.delivered == 2
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [row["status"] for row in rows] == ["1", "20", "22", "", "1"]
    assert set(times) == {"79120000001", "70000000020", "+79120000005"}
    assert Counter(phone for _, phone in _status_requests(bulk_server)) == Counter(
        {phone: 2 for phone in times}
    )
    for phone, moments in times.items():
        assert len(moments) == 2, phone  # waiting at first, final 12 s later
        assert moments[1] - moments[0] >= 12
    assert slept and all(s > 0 for s in slept)


def test_wait_ends_with_rows_still_in_flight(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """When wait runs out, rows not final are written with final=no and their last status."""
    journal = _run(bulk_server, tmp_path)
    out = tmp_path / "s.csv"
    with _client(bulk_server) as client:
        summary = settle_bulk(
            client, journal, out, wait=5, clock=bulk_server.emulator.clock.now, sleep=lambda s: None
        )
    rows = _read(out)
    assert summary.unsettled == 3
    assert [(r["status"], r["final"]) for r in rows if r["item"] in "125"] == [("-1", "no")] * 3


def test_reports_settle_rows_without_requests(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """Pushed final reports settle their rows; only the rows without one are polled."""
    journal = _run(bulk_server, tmp_path)
    bulk_server.advance(60)
    by_phone = {m.phones[0]: m.id for m in bulk_server.messages}
    reports = [
        StatusReport(by_phone["79120000001"], "79120000001", MessageStatus.DELIVERED),
        StatusReport(by_phone["79120000005"], "79120000005", MessageStatus.TRANSFERRED),
        StatusReport(by_phone["79120000005"], "79120000005", MessageStatus.DELIVERED),
        StatusReport(by_phone["79120000005"], "79120000005", MessageStatus.TRANSFERRED),  # late
    ]
    out = tmp_path / "s.csv"
    with _client(bulk_server) as client:
        summary = settle_bulk(client, journal, out, reports=reports)
    assert [phone for _, phone in _status_requests(bulk_server)] == ["70000000020"]
    assert [r["status"] for r in _read(out)] == ["1", "20", "22", "", "1"]
    assert summary.polls == 1


def test_an_ip_block_stops_polling(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """Error 4 on a status request stops at once; unsettled rows say why, nothing else is asked."""
    journal = _run(bulk_server, tmp_path)
    for _ in range(5):  # five authorisation failures from this IP block it (R5)
        with pytest.raises(BadCredentials):
            bulk_server.emulator.handle("get_balance", {"login": "nobody", "psw": "wrong"})
    out = tmp_path / "s.csv"
    with _client(bulk_server) as client:
        summary = settle_bulk(client, journal, out)
    assert summary.stopped_by is not None and "IpBlockedError" in summary.stopped_by
    assert len(_status_requests(bulk_server)) == 1
    notes = [r["error"] for r in _read(out) if r["item"] in "125"]
    assert notes == ["not asked: IpBlockedError"] * 3


def test_settle_refuses_a_missing_or_foreign_file(tmp_path: Path) -> None:
    """A path that is not a journal is a JournalError, and settle never creates a file there."""
    with SoapSmsc("x", "y", endpoint="http://127.0.0.1:9/sys/soap.php") as client:
        with pytest.raises(JournalError, match="no such journal"):
            settle_bulk(client, tmp_path / "none.db", tmp_path / "o.csv")
        other = tmp_path / "other.db"
        other.write_bytes(b"not sqlite at all" * 100)
        with pytest.raises(JournalError, match="not a usable journal"):
            settle_bulk(client, other, tmp_path / "o.csv")
        with pytest.raises(ValueError, match="12 seconds"):
            settle_bulk(client, other, tmp_path / "o.csv", poll_every=1)
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "o.csv").exists()
