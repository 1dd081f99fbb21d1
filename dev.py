#!/usr/bin/env python3
"""Project commands that need nothing but Python 3.11.

    python3 dev.py demo      set up .venv and run the demo against the built-in emulator
    python3 dev.py test      set up .venv (and redis-server), then ruff, mypy --strict and the whole test suite
    python3 dev.py bench     set up .venv and run the benchmarks
    python3 dev.py lint      ruff and mypy only

Each command creates (or reuses) the virtual environment in .venv and installs the project with its
dev extras from pyproject.toml, so a fresh clone needs no other step.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".smsc-soap-installed"


def run(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, cwd=ROOT, check=True)


def ensure_venv() -> None:
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    run(str(PY), "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(digest)


def ensure_redis() -> None:
    """Make ``redis-server`` available for the shared-limits tests (a real server, never mocked).

    On a fresh machine it comes from the Debian package when we are root and apt-get exists. Locally
    without it those tests are skipped; under CI=true they fail instead, so CI never skips them.
    """
    if shutil.which("redis-server"):
        return
    can_install = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
    if can_install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for args in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "redis-server"],
        ):
            print("+", " ".join(args), flush=True)
            subprocess.run(args, cwd=ROOT, check=True, env=env)
        if shutil.which("redis-server"):
            return
    where = "CI" if os.environ.get("CI") == "true" else "this machine"
    print(f"note: no redis-server on {where}; the shared-limits tests need one", flush=True)


def lint() -> None:
    run(str(PY), "-m", "ruff", "check", ".")
    run(str(PY), "-m", "ruff", "format", "--check", ".")
    run(str(PY), "-m", "mypy", "smsc_soap")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command not in {"demo", "test", "bench", "lint"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    ensure_venv()
    try:
        if command == "demo":
            run(str(PY), "-m", "smsc_soap", "demo", *rest)
        elif command == "lint":
            lint()
        elif command == "test":
            lint()
            ensure_redis()
            run(str(PY), "-m", "pytest", *rest)
        elif command == "bench":
            run(str(PY), "benchmarks/run.py", *rest)
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
