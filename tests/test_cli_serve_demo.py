"""The ``serve`` and ``demo`` subcommands, run as real subprocesses talking over 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from smsc_soap.cli import main

ROOT = Path(__file__).resolve().parent.parent
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(params=[False, True], ids=["published", "apikey-element"])
def serve(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A ``smsc-soap serve`` subprocess on a free port, with its endpoint URL.

    Run both ways: the published WSDL (an <apikey> element is dropped) and ``--apikey-element``.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smsc_soap",
            "serve",
            "--port",
            "0",
            "--account",
            "alex:123:50.5",
            "--apikey",
            "KEY1",
            "--namespace-host",
            "smsc.kz",
            *(["--apikey-element"] if request.param else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+/sys/soap\.php)", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.slow
def test_serve_answers_a_raw_envelope_and_stops_on_sigterm(
    serve: tuple[subprocess.Popen[str], str],
) -> None:
    """serve prints its URL, answers a balance envelope in its namespace, and exits 0 on SIGTERM."""
    process, url = serve
    body = (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="https://smsc.kz/sys/soap.php">'
        "<SOAP-ENV:Body><ns1:balance><login>alex</login><psw>123</psw></ns1:balance>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    reply = requests.post(url, data=body.encode(), timeout=10)
    assert reply.status_code == 200
    assert "<balance>50.50</balance>" in reply.text
    key_body = body.replace("<login>alex</login><psw>123</psw>", "<apikey>KEY1</apikey>")
    key_reply = requests.post(url, data=key_body.encode(), timeout=10).text
    if "--apikey-element" in process.args:
        assert "<balance>100.00</balance>" in key_reply
    else:  # the published WSDL declares no <apikey>: the element is dropped, nobody logs in
        assert "<error>2</error>" in key_reply
    # The library's API-key client works both ways: the key also travels inside query.
    from smsc_soap import SoapSmsc

    with SoapSmsc(apikey="KEY1", host="smsc.kz", endpoint=url) as client:
        assert client.send_sms("79991234567", "via key").balance == Decimal("98.05")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


@pytest.mark.slow
def test_demo_runs_and_reports_delivery() -> None:
    """python -m smsc_soap demo walks through cost, send, status and balance and exits 0."""
    result = subprocess.run(
        [sys.executable, "-m", "smsc_soap", "demo"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 SMS parts, cost 3.90" in out
    assert "status -1 (waiting to be sent)" in out
    assert "status 1 (delivered)" in out
    assert "5. get_balance: 996.10" in out


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    """--help names serve and demo and exits 0."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "serve" in out and "demo" in out


def test_no_subcommand_prints_help_and_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a subcommand the usage is printed and the status is 2."""
    assert main([]) == 2
    assert "usage: smsc-soap" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv", [["serve", "--account", "nopassword"], ["serve", "--account", "a:b:lots"]]
)
def test_bad_account_argument_is_a_usage_error(argv: list[str]) -> None:
    """A malformed --account is refused by argparse with status 2."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
