"""The benchmark command runs end to end in --quick mode (a smoke test: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_benchmarks_run_in_quick_mode() -> None:
    """benchmarks/run.py --quick runs every benchmark and prints each figure with a verdict."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=110,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    for section in ("[cold_start]", "[per_call]", "[emulator]", "[bulk]", "[bulk_cpu]", "[memory]"):
        assert section in out
    assert "FAILED TO RUN" not in out
    assert out.count("PASS") + out.count("MISS") >= 10
    assert "0 benchmark(s) failed to run" in out
    # Every baseline the figures are ratios against ran in the same process tree.
    for row in (
        "until the first reply: plain zeep",
        "plain zeep, requests session as ours (trust_env off)",
        "floor: f-string envelope + http.client + lxml",
        "transport alone: SyncTransport.post",
        "the same on its urllib3 path (proxied endpoints)",
        "14-thread send_sms2 loop",
        "<error> replies",
    ):
        assert row in out, row
    assert "= 1 wave(s) x 50 ms = 0.05 s" in out, "the bulk floor is counted in waves"
