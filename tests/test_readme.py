"""Every fenced block of README.md runs as written, or is listed below as not runnable with the reason.

The shell and Python blocks run in README order as one session of a reader, in a temporary directory:
each `smsc-soap serve` line starts that server in the background, as the reader would in another
terminal (the only change: its `--port 808N` becomes `--port 0`, and the port it prints replaces 808N
in the blocks that follow, so that no fixed port can collide with another process), `export` lines carry over to the
following blocks, the other shell lines run under `bash -eu`, and each Python block runs as a script with
the environment the shell blocks set. Python blocks that are pytest tests run under pytest with the
bundled plugin.
"""

from __future__ import annotations

import csv
import os
import re
import selectors
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
FENCES: list[tuple[str, str]] = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)

#: Blocks that are not run, found by how they start, and why.
NOT_RUNNABLE = {
    "pip install smsc-soap": "installs from PyPI: the suite never contacts a host other than 127.0.0.1",
    "python3 dev.py demo": "the development runner itself: it creates .venv and runs this very suite",
    "SmscError\n├──": "a diagram of the exception classes, not code",
    "# .github/workflows/": "a GitHub Actions workflow; it installs from PyPI and downloads the live WSDL",
}


def _kind(lang: str, text: str) -> str:
    listed = [key for key in NOT_RUNNABLE if text.startswith(key)]
    if listed:
        return "listed"
    if lang == "python" and "def test_" in text:
        return "pytest"
    if lang in ("bash", "python"):
        return lang
    return "unclassified"


def test_every_block_is_run_or_listed() -> None:
    """No block escapes: each is a shell block, a Python script, a pytest test, or listed with a reason."""
    kinds = [_kind(lang, text) for lang, text in FENCES]
    assert "unclassified" not in kinds, [
        f for f, k in zip(FENCES, kinds, strict=True) if k == "unclassified"
    ]
    for key in NOT_RUNNABLE:
        assert sum(text.startswith(key) for _, text in FENCES) == 1, key
    assert kinds.count("pytest") == 3 and kinds.count("python") >= 4 and kinds.count("bash") >= 4


class Session:
    """A reader's terminal session: servers started by serve lines, the environment, a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        bin_dir = directory / "bin"
        bin_dir.mkdir()
        shim = bin_dir / "smsc-soap"
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m smsc_soap "$@"\n')
        shim.chmod(0o755)
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SMSC_", "PYTEST_")) and not k.upper().endswith("_PROXY")
        }
        self.env["PATH"] = f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        self.servers: list[subprocess.Popen[str]] = []
        self.ports: dict[str, str] = {}  # a port the README names -> the one its server got
        self.logs: list[Path] = []  # each server's request log (stderr)

    def ported(self, text: str) -> str:
        """``text`` with each README port replaced by the port its server really listens on."""
        return re.sub(r"\b808\d\b", lambda m: self.ports.get(m.group(0), m.group(0)), text)

    def serve(self, line: str) -> None:
        """Start a `smsc-soap serve ...` line in the background and wait until it listens.

        Its ``--port 808N`` becomes ``--port 0`` (any free port, no race with other processes); the
        address it prints gives the port that 808N stands for in the rest of the README.
        """
        readme_port = re.search(r"--port (808\d)\b", line)
        assert readme_port is not None, line
        line = line.replace(readme_port.group(0), "--port 0")
        argv = shlex.split(line, comments=True)
        assert argv[:2] == ["smsc-soap", "serve"], line
        log = self.directory / f"serve-{len(self.servers)}.log"
        self.logs.append(log)
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "smsc_soap", *argv[1:]],
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                text=True,
                env=self.env,
                cwd=self.directory,
            )
        self.servers.append(process)
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not selector.select(timeout=1):
                    continue
                output = process.stdout.readline()
                address = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", output)
                if address:
                    self.ports[readme_port.group(1)] = address.group(1)
                    return
                if output == "":
                    break
        process.kill()
        process.communicate(timeout=10)
        raise AssertionError(f"{line!r} did not start: {log.read_text()}")

    def shell(self, block: str) -> str:
        """Run a shell block: serve lines in the background, the rest under bash -eu; keep its exports."""
        script = []
        for line in block.splitlines():
            if line.startswith("smsc-soap serve"):
                self.serve(line)
            else:
                script.append(self.ported(line))
        env_file = self.directory / ".env"
        script.append(f"env -0 > {shlex.quote(str(env_file))}")
        result = subprocess.run(
            ["bash", "-eu", "-c", "\n".join(script)],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        assert result.returncode == 0, f"{block}\n---\n{result.stdout}\n{result.stderr}"
        pairs = env_file.read_text().split("\0")
        self.env = dict(p.split("=", 1) for p in pairs if "=" in p)
        return result.stdout

    def python(self, block: str) -> str:
        """Run a Python block as a script with the session's environment."""
        script = self.directory / "block.py"
        script.write_text(self.ported(block), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert result.returncode == 0, f"{block}\n---\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def close(self) -> None:
        for process, log in zip(self.servers, self.logs, strict=True):
            process.terminate()
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover - a server that ignores SIGTERM
                process.kill()
                process.communicate()
            assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """A reader's session in an empty directory; its servers are stopped afterwards."""
    running = Session(tmp_path)
    try:
        yield running
    finally:
        running.close()


@pytest.mark.slow
def test_readme_runs_top_to_bottom(session: Session) -> None:
    """Each shell and Python block runs in order against the `smsc-soap serve` the README starts.

    Slow on purpose (about 15 s, 12 of them waiting): the README's `settle --wait` asks again after
    12 s (the service allows 5 status requests a minute), in real time, in its own process, against a
    `serve` whose clock is the real one.
    """
    outputs: list[tuple[str, str, str]] = []
    for lang, text in FENCES:
        kind = _kind(lang, text)
        if kind == "bash":
            outputs.append((kind, text, session.shell(text)))
        elif kind == "python":
            outputs.append((kind, text, session.python(text)))
    printed = {text: out for _, text, out in outputs}

    first = next(out for kind, text, out in outputs if "Здравствуйте! Ваш код" in text)
    message_id, parts, status = first.split()
    assert parts == "1" and status.lstrip("-").isdigit() and message_id
    segments = next(out for text, out in printed.items() if "segments(" in text)
    assert "Segments(encoding='ucs2', length=12, parts=1, per_part=70" in segments
    async_out = next(out for text, out in printed.items() if "asyncio.run(main())" in text)
    assert async_out.split()[1] == "1"
    cli = next(out for text, out in printed.items() if "smsc-soap bulk" in text)
    assert '"ok": true' in cli and "dry run: nothing was sent" in cli
    with (session.directory / "settled.csv").open(encoding="utf-8", newline="") as handle:
        settled = list(csv.DictReader(handle))
    assert {(row["phone"], row["meaning"]) for row in settled} == {
        ("79991234567", "delivered"),
        ("79997654321", "delivered"),
    }, settled
    assert (session.directory / "artifacts" / "smsc.wsdl").exists()


def test_fixture_examples_pass_under_pytest(tmp_path: Path) -> None:
    """The README's test functions pass when pytest runs them with the installed plugin."""
    tests = [text for lang, text in FENCES if _kind(lang, text) == "pytest"]
    (tmp_path / "test_from_readme.py").write_text("\n\n".join(tests), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
