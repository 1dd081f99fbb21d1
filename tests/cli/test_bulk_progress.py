"""The bulk progress display: a tqdm bar that fits the terminal, a plain line every 10 s elsewhere."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from smsc_soap._bulk.session import BulkProgress
from smsc_soap.cli.progress import Progress
from smsc_soap.emulator import EmulatorServer

from .helpers import BULK_LOGIN, BULK_PSW, cli_env, write_csv

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _segments(output: str) -> list[str]:
    """What a terminal would show as separate lines: split on CR and LF, escapes removed."""
    return [s for s in re.split(r"[\r\n]", _ANSI.sub("", output)) if s]


def test_the_bar_fits_a_60_column_terminal() -> None:
    """Rows per second, messages per second and the ETA, never wider than the terminal."""
    stream = io.StringIO()
    progress = Progress(stream, 10_000, terminal=True, width=60)
    for read in range(0, 10_001, 500):
        progress(BulkProgress(read, read // 100, max(0, read - 400), read // 1000, 4))
    progress.close()
    segments = _segments(stream.getvalue())
    assert segments and all(len(s) <= 60 for s in segments), segments
    assert "10000/10000" in segments[-1]
    wide = io.StringIO()
    progress = Progress(wide, 10_000, terminal=True, width=120)
    progress(BulkProgress(5000, 50, 4600, 3, 4))
    progress.close()
    last = _segments(wide.getvalue())[-1]
    assert "row/s" in last and "msg/s" in last and "<" in last and "failed 3" in last


def test_without_a_terminal_a_plain_line_every_ten_seconds() -> None:
    """Not a terminal: no carriage returns, one line per 10 s of (fake) time, with rate and ETA."""
    stream = io.StringIO()
    clock = FakeClock()
    progress = Progress(stream, 1000, terminal=False, clock=clock)
    for second in range(31):
        clock.now = 1000.0 + second
        progress(BulkProgress(second * 30, second, second * 25, 0, 2))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 3  # at 10, 20 and 30 s
    assert lines[0].startswith("progress: 300/1000 rows (30%), 00:10 elapsed, ETA 00:23")
    assert "25.0 msg/s" in lines[0]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pty")
@pytest.mark.parametrize("quiet", [False, True])
def test_a_real_run_in_a_60_column_terminal_never_wraps(
    bulk_server: EmulatorServer, tmp_path: Path, quiet: bool
) -> None:
    """The command on a 60-column pty: every update fits in one line; --quiet shows nothing."""
    import fcntl
    import pty
    import struct
    import termios

    csv_path = write_csv(tmp_path / "people.csv", 3000)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    argv = [sys.executable, "-m", "smsc_soap", "bulk", str(csv_path), "--template", "Hi {name}"]
    argv += ["--batch-size", "20", "--concurrency", "2", *(["--quiet"] if quiet else [])]
    env = cli_env(bulk_server.url, SMSC_LOGIN=BULK_LOGIN, SMSC_PSW=BULK_PSW)
    env.pop("COLUMNS", None)
    process = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        stdout = process.stdout.read() if process.stdout else b""
        if process.stdout:
            process.stdout.close()
        code = process.wait(timeout=60)
    assert code == 0, stdout
    shown = b"".join(chunks).decode("utf-8", "replace")
    if quiet:
        assert shown == ""
        return
    segments = _segments(shown)
    assert segments and all(len(s) <= 60 for s in segments), segments
    assert "3000/3000" in segments[-1]


def test_the_checking_pass_reports_by_bytes() -> None:
    """The checking pass: a transient bar of bytes on a terminal, a plain line per 10 s elsewhere."""
    from smsc_soap.cli.progress import CheckProgress

    stream = io.StringIO()
    progress = CheckProgress(stream, 1 << 20, terminal=True, width=60)
    for step in range(1, 17):
        progress(step * 1000, step * 65536)
    progress.close()
    segments = _segments(stream.getvalue())
    assert any("checking rows" in s for s in segments) and all(len(s) <= 60 for s in segments)
    plain = io.StringIO()
    clock = FakeClock()
    progress = CheckProgress(plain, 1000, terminal=False, clock=clock)
    for second in range(25):
        clock.now = 1000.0 + second
        progress(second * 100, second * 40)
    assert plain.getvalue().splitlines() == [
        "checking rows: 1,000 read, 40% of the file",
        "checking rows: 2,000 read, 80% of the file",
    ]
