"""The command line checks options as the library does, names its flags, masks secrets without garbling
our own messages, and fails in plain words (busy port, closed pipe, refused connection)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import smsc_soap
from smsc_soap import SmscValidationError, SoapSmsc
from smsc_soap._secrets import Scrubber, Secret
from smsc_soap.cli import build_parser, main
from smsc_soap.emulator import TEST_SENDER, Account, Emulator, EmulatorServer, ManualClock

from .helpers import cli_env

LONG_PSW = "Lng-CLI-Psw-7d21"


@pytest.fixture(scope="module")
def server() -> EmulatorServer:
    """Accounts whose passwords are a common word ("or"), a word of our messages and a long one."""
    senders = frozenset({TEST_SENDER})
    emulator = Emulator(
        [
            Account("alex", LONG_PSW, balance=Decimal("100.00"), senders=senders),
            Account("short", "or", balance=Decimal("100.00"), senders=senders),
            Account("worded", "wrong", balance=Decimal("100.00"), senders=senders),
            Account("tiny", "Zx9", balance=Decimal("100.00"), senders=senders),
        ],
        clock=ManualClock(),
    )
    with EmulatorServer(emulator) as running:
        yield running


@pytest.fixture(autouse=True)
def _env(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh emulator and the environment of a user of account alex, for every test."""
    server.reset()
    for name in ("SMSC_APIKEY", "SMSC_HOST", "SMSC_PSW", "SMSC_LOGIN", "SMSC_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMSC_LOGIN", "alex")
    monkeypatch.setenv("SMSC_PSW", LONG_PSW)
    monkeypatch.setenv("SMSC_ENDPOINT", server.url)


def _sends(server: EmulatorServer) -> list[str | None]:
    return [r.operation for r in server.requests if r.operation and "send" in r.operation]


# ------------------------------------------------------------------------- options via SendOptions


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--valid", "99"], "--valid 99"),
        (["-o", "translit=7"], "-o translit=7"),
        (["--option", "valid=99"], "-o valid=99"),
        (["--query", "valid=99&foo=1"], "--query valid=99"),
        (["--maxsms", "0"], "--maxsms 0"),
        (["--tz", "99"], "--tz 99"),
        (["-o", "subj=Hi"], "-o subj=Hi"),  # subj needs mms or mail, as in SendOptions
        (["-o", "cost=1"], "-o cost=1"),
        (["-o", "del=1"], "-o del=1"),  # get_status2 only
        (["-o", "valid=1", "--valid", "2"], "-o valid=1"),
        (["--query", "psw=x"], "--query"),
    ],
)
def test_send_refuses_what_the_library_refuses(
    server: EmulatorServer, capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    """Bad options exit 2 naming the flag, before any request is made."""
    assert main(["send", "79991234567", "Hello", "--sender", TEST_SENDER, *argv]) == 2
    err = capsys.readouterr().err
    assert f"error: {flag}" in err, err
    assert server.requests == []


def test_library_refuses_the_same_values(server: EmulatorServer) -> None:
    """The CLI's refusals are the library's own rules (the same value raises in send_sms2)."""
    with SoapSmsc("alex", LONG_PSW, endpoint=server.url, mirrors=[]) as client:
        for kwargs in ({"valid": 99}, {"translit": 7}, {"maxsms": 0}):
            with pytest.raises(SmscValidationError) as caught:
                client.send_sms2("79991234567", "Hello", **kwargs)  # type: ignore[arg-type]
            assert caught.value.field == next(iter(kwargs))
    assert server.requests == []


def test_bulk_refuses_a_bad_option_before_the_journal(
    server: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bulk -o valid=99` exits 2 naming the flag; no journal is created, nothing is sent."""
    people = tmp_path / "people.csv"
    people.write_text("phone,name\n79991234567,Анна\n", encoding="utf-8")
    journal = tmp_path / "run.db"
    argv = ["bulk", str(people), "--template", "Hi {name}", "--journal", str(journal)]
    assert main([*argv, "-o", "valid=99"]) == 2
    assert "error: -o valid=99" in capsys.readouterr().err
    assert main([*argv, "--dry-run", "-o", "valid=99"]) == 2  # a dry run checks them too
    assert "error: -o valid=99" in capsys.readouterr().err
    assert not journal.exists() and server.requests == []
    assert main([*argv, "-o", "valid=2", "-o", "future_param=abc"]) == 0
    (message,) = server.messages
    assert message.text == "Hi Анна"


def test_valid_options_and_unknown_keys_reach_the_request(
    server: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Typed flags, -o fields and unknown --query keys all travel; the default cost=3 is real."""
    argv = ["send", "79991234567", "Привет", "--sender", TEST_SENDER, "--valid", "02:00"]
    assert main([*argv, "-o", "tinyurl=1", "--query", "future_param=a%26b", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["balance"] is not None and data["cost"] is not None
    (record,) = server.requests
    body = record.body.decode()
    for part in ("valid=02%3A00", "tinyurl=1", "future_param=a%26b", "cost=3"):
        assert part in body, body
    assert main([*argv, "--cost", "0", "--id", "second", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["balance"] is None and data["cost"] is None


def test_cost_help_tells_the_real_default() -> None:
    """`send --help` says 3 is the default, and `--cost 1` is not offered."""
    parser = build_parser()
    send = parser._subparsers._group_actions[0].choices["send"]  # type: ignore[union-attr]
    (cost,) = [a for a in send._actions if "--cost" in a.option_strings]
    assert cost.choices == ["0", "2", "3"] and "3 (the default here)" in (cost.help or "")


@pytest.mark.parametrize(
    ("argv", "env", "flag"),
    [
        (["--timeout", "-1"], {}, "--timeout"),
        (["--timeout", "nan"], {}, "--timeout"),
        (["--endpoint", "ftp://x"], {}, "--endpoint"),
        ([], {"SMSC_ENDPOINT": "not a url"}, "SMSC_ENDPOINT"),
        (["--host", "smsc.example"], {}, "--host"),
    ],
)
def test_settings_errors_name_the_flag(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    flag: str,
) -> None:
    """Client settings refused by the library are reported under the flag or variable that set them."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["balance", *argv]) == 2
    err = capsys.readouterr().err
    assert f"error: {flag}" in err and "deadline" not in err, err


def test_op_shows_each_number_as_what_it_is(
    server: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`send --op` lists accepted numbers as accepted and failed ones with their status meaning."""
    argv = ["send", "79991234567,70000000022", "Hello", "--sender", TEST_SENDER, "--op"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    (good,) = [line for line in lines if "79991234567" in line]
    assert good.startswith("accepted") and "failed" not in good
    bad = [line for line in lines if "70000000022" in line]
    assert all(line.startswith("failed") and "status 2" in line for line in bad), lines
    assert main([*argv[:-1], "--op", "--json", "--id", "op-json"]) == 0
    data = json.loads(capsys.readouterr().out)
    accepted = {n["phone"]: n["accepted"] for n in data["numbers"]}
    assert accepted["79991234567"] is True
    assert all(e["phone"] != "79991234567" for e in data["errors"])


# ---------------------------------------------------------------------------------------- masking


@pytest.mark.parametrize("psw", ["or", "wrong", LONG_PSW])
def test_wrong_password_message_is_not_garbled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], psw: str
) -> None:
    """A rejected password that is a common word leaves our message whole (and is not printed)."""
    monkeypatch.setenv("SMSC_LOGIN", "nobody")
    monkeypatch.setenv("SMSC_PSW", psw)
    assert main(["balance"]) == 3
    err = capsys.readouterr().err
    assert "SMSC error 2 (wrong login or password, or request from an IP" in err, err
    assert "***" not in err


def test_short_password_flag_keeps_every_word(
    server: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --psw or (a real login), the warning, table and help texts keep all their letters."""
    assert main(["balance", "--login", "short", "--psw", "or"]) == 0
    captured = capsys.readouterr()
    assert "readable by other local users" in captured.err
    assert "***" not in captured.out + captured.err
    assert captured.out.split() == ["balance", "100.00"]


def test_server_text_is_scrubbed(
    server: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value that came back from the server has the password masked where it stands as a token."""
    code = ["--login", "tiny", "--psw", "Zx9"]
    assert main(["send", "79991234567", "pin Zx9, not Zx9abc", *code, "--json"]) == 0
    sent = json.loads(capsys.readouterr().out)
    assert main(["status", sent["id"], "79991234567", "--all", "2", *code, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["message"] == "pin ***, not Zx9abc"


def test_one_scrubber_short_and_long_secrets() -> None:
    """Short secrets are masked as whole tokens only; long ones everywhere, in every spelling."""
    short = Scrubber(Secret("or"))
    assert short("wrong login or password; psw=or&x", limit=None) == (
        "wrong login *** password; psw=***&x"
    )
    long = Scrubber(Secret(LONG_PSW))
    assert long(f"x{LONG_PSW}y <psw>{LONG_PSW}</psw>", limit=None) == "x***y <psw>***</psw>"
    assert Scrubber("plain-string-secret")("a plain-string-secret b") == "a *** b"


# ------------------------------------------------------------------------------ plain failures


def test_serve_on_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    """`serve` on a port in use says so and exits 2, without a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in err
    assert "--port 0" in err and "Traceback" not in err


def test_closed_pipe_exits_quietly() -> None:
    """`smsc-soap wsdl show | head -1`: the reader has gone away; no traceback, exit 141.

    The pipe's reading end is closed before the command writes, so every write fails as it does once
    `head` has exited (deterministic, whatever the pipe buffer holds).
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "smsc_soap", "wsdl", "show"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=cli_env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == b""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_in_our_words() -> None:
    """Both clients say who refused the connection and that nothing was sent; no urllib3 internals."""
    url = f"http://127.0.0.1:{_free_port()}/sys/soap.php"
    retry = smsc_soap.RetryPolicy(max_attempts=1)
    with (
        SoapSmsc("alex", "x", endpoint=url, mirrors=[], retry=retry) as client,
        pytest.raises(smsc_soap.SmscTransportError) as sync_error,
    ):
        client.get_balance()

    async def call() -> None:
        async with smsc_soap.AsyncSoapSmsc(
            "alex", "x", endpoint=url, mirrors=[], retry=retry
        ) as client:
            await client.get_balance()

    with pytest.raises(smsc_soap.SmscTransportError) as async_error:
        asyncio.run(call())
    for error in (sync_error.value, async_error.value):
        text = str(error)
        assert "refused the connection" in text and "nothing was sent" in text, text
        for internal in ("Max retries", "NewConnectionError", "_HTTP", "Errno", "ConnectError"):
            assert internal not in text, text


def test_cli_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI prints that message and exits 6."""
    url = f"http://127.0.0.1:{_free_port()}/sys/soap.php"
    assert main(["balance", "--endpoint", url]) == 6
    err = capsys.readouterr().err
    assert "refused the connection" in err and "Max retries" not in err


# ----------------------------------------------------------------------------------------- help


def test_help_has_no_internal_metavars_or_twin_groups() -> None:
    """Every command's help: no OPT_* metavars, no two groups with one title, -o/--query explained."""
    parser = build_parser()
    subparsers = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in subparsers.items():
        text = sub.format_help()
        assert "OPT_" not in text, name
        titles = [group.title for group in sub._action_groups]
        assert len(titles) == len(set(titles)), (name, titles)
        for action in sub._actions:
            if action.option_strings and action.help is None:
                pytest.fail(f"{name} {action.option_strings} has no help")


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """`smsc-soap --version` prints the version."""
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"smsc-soap {smsc_soap.__version__}"


def test_readme_names_the_commands_with_json() -> None:
    """The README's list of commands with --json is exactly the commands whose parser has it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    match = re.search(r"The client commands\s*\(([^)]*)\) have `--json`", readme)
    assert match is not None
    named = set(re.findall(r"`([^`]+)`", match.group(1)))
    parser = build_parser()
    subparsers = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    with_json = set()
    for name, sub in subparsers.items():
        if name == "wsdl":
            actions = sub._subparsers._group_actions[0].choices  # type: ignore[union-attr]
            if all("--json" in a.format_help() for a in actions.values()):
                with_json.add("wsdl show|check")
        elif "--json" in sub.format_help():
            with_json.add(name)
    assert named == with_json
    assert "serve" not in with_json and "demo" not in with_json


def test_op_shows_the_documented_per_number_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against a live WSDL that carries op=1's mcc, mnc, cost and error, the table shows them."""
    account = Account("alex", LONG_PSW, balance=Decimal("100.00"), senders=frozenset({TEST_SENDER}))
    emulator = Emulator([account], clock=ManualClock())
    with EmulatorServer(emulator, documented_fields=True) as rich:
        monkeypatch.setenv("SMSC_ENDPOINT", rich.url)
        argv = ["send", "79991234567,70000000022", "Hi", "--sender", TEST_SENDER, "--op"]
        assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    (good,) = [line for line in lines if "79991234567" in line]
    (bad,) = [line for line in lines if "70000000022" in line]
    assert good.startswith("accepted") and "mcc " in good and "error" not in good
    assert bad.startswith("failed") and "status 22 (wrong number)" in bad
    assert "error 249 (" in bad
