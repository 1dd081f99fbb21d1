"""Bombs in a subprocess: every one is refused within the deadline and with flat memory (ru_maxrss)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BOMBS = {
    "billion-laughs": "SmscProtocolError",
    "quadratic": "SmscProtocolError",
    "deep-nesting": "SmscProtocolError",
    "text-50mb": "SmscResponseTooLargeError",
    "elements-50mb-chunked": "SmscResponseTooLargeError",
    "gzip-bomb-200mb": "SmscProtocolError",
    "gzip-bomb-in-redirect": "SmscRedirectError",
}


def _measure(bomb: str) -> dict[str, object]:
    script = (
        "import resource, runpy, sys;"
        "resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3));"  # safety net
        f"sys.argv = ['bomb_child', {bomb!r}];"
        "runpy.run_module('tests.reliability.bomb_child', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    print(bomb, report)
    return report


@pytest.mark.slow
def test_the_memory_measurement_sees_growth() -> None:
    """Control: 100 MB allocated during the measured call shows up in the peak RSS delta."""
    report = _measure("control-100mb")
    assert report["error"] == "none"
    assert isinstance(report["peak_delta_kb"], int) and report["peak_delta_kb"] > 50 * 1024


@pytest.mark.slow
@pytest.mark.parametrize(("bomb", "expected"), BOMBS.items())
def test_bomb_is_refused_with_bounded_time_and_memory(bomb: str, expected: str) -> None:
    """The call fails typed, in under a second of CPU, with peak RSS growing by less than 20 MB.

    The bound is on the calling thread's CPU time (a loaded machine pauses it, it adds no work); the
    wall-time bound is the client's own 10 s timeout.
    """
    report = _measure(bomb)
    assert report["error"] == expected
    assert isinstance(report["cpu_seconds"], float) and report["cpu_seconds"] < 1.0
    assert isinstance(report["seconds"], float) and report["seconds"] < 10.0
    assert isinstance(report["peak_delta_kb"], int) and report["peak_delta_kb"] < 20 * 1024
    assert isinstance(report["message_len"], int) and report["message_len"] <= 1200
