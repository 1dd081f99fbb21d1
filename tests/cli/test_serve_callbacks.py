"""``smsc-soap serve --callback-url URL --callback-secret S`` pushes signed reports to a receiver."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from smsc_soap import MessageStatus, SoapSmsc
from smsc_soap.callbacks import StatusReport
from smsc_soap.cli import main
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD, CallbackReceiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_serve_pushes_signed_reports_to_the_callback_url() -> None:
    """A serve subprocess POSTs the status of a send to the receiver, signed with the given secret."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with CallbackReceiver(secret="cli-secret") as receiver:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smsc_soap",
                "serve",
                "--port",
                "0",
                "--callback-url",
                receiver.url,
                "--callback-secret",
                "cli-secret",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(3)]
            match = re.search(r"serving on (http://127\.0\.0\.1:\d+/sys/soap\.php)", lines[0])
            assert match, lines
            assert f"callbacks: POST to {receiver.url} (signed with sha1)" in lines[2]
            with SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=match.group(1)) as client:
                sent = client.send_sms("79991234567,70000000022", "hello")
            (report,) = receiver.wait_for(1, timeout=10)
            assert isinstance(report, StatusReport)
            assert (report.id, report.phone, report.status) == (
                sent.id,
                "70000000022",
                MessageStatus.WRONG_NUMBER,
            )
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


def test_serve_refuses_a_secret_without_url(capsys: pytest.CaptureFixture[str]) -> None:
    """--callback-secret alone is a usage error (status 2) that names the missing option."""
    assert main(["serve", "--port", "0", "--callback-secret", "s"]) == 2
    assert "--callback-url" in capsys.readouterr().err


def test_serve_refuses_a_url_that_is_not_http(capsys: pytest.CaptureFixture[str]) -> None:
    """A --callback-url that is not http(s) is refused before serving, without echoing a secret."""
    assert main(["serve", "--port", "0", "--callback-url", "ftp://x/?sha1=TOPSECRET"]) == 2
    err = capsys.readouterr().err
    assert "--callback-url" in err and "TOPSECRET" not in err
