"""The expiring counters behind errors 4 and 9 and the flood rule: incremental, bounded, exact."""

from __future__ import annotations

import pytest

from smsc_soap.emulator import Guards, Limits, RequestError
from smsc_soap.emulator._limits import SlidingWindows, Stamps


def test_stamps_forget_keys_after_their_ttl() -> None:
    """A key is remembered for ttl seconds after it was last touched, then dropped from the table."""
    stamps: Stamps[str] = Stamps(60.0)
    stamps.touch("a", 0.0)
    stamps.touch("b", 30.0)
    stamps.touch("a", 50.0)  # touched again: its first queue entry is stale
    assert stamps.get("a", 100.0) == 50.0
    assert stamps.get("b", 100.0) is None
    assert len(stamps) == 1
    assert stamps.get("a", 110.0) is None and len(stamps) == 0


def test_sliding_windows_count_and_drop_empty_keys() -> None:
    """Events older than the window leave the count; keys with none leave the table."""
    windows: SlidingWindows[str] = SlidingWindows(60.0)
    for moment in (0.0, 10.0, 20.0):
        windows.add("k", moment)
    windows.add("other", 5.0)
    assert windows.count("k", 59.0) == 3
    assert windows.count("k", 65.0) == 2
    assert windows.count("k", 80.0) == 0
    assert len(windows) == 0


def test_tables_stay_one_window_wide_over_many_keys() -> None:
    """100,000 distinct keys over 1,000 s: the table never holds more than one window's worth."""
    stamps: Stamps[int] = Stamps(60.0)
    largest = 0
    for index in range(100_000):
        now = index / 100
        stamps.get(index, now)
        stamps.touch(index, now)
        largest = max(largest, len(stamps))
    assert largest <= 60 * 100 + 1


def test_rate_refuses_past_the_limit_and_recovers() -> None:
    """The sixth status request within a minute is error 9; a minute later it is allowed again."""
    guards = Guards(Limits())
    key = ("status", "alex", "1", "7999")
    for _ in range(5):
        guards.rate(key, 5, 0.0)
    with pytest.raises(RequestError) as info:
        guards.rate(key, 5, 30.0)
    assert info.value.code == 9
    guards.rate(key, 5, 60.0)


def test_flood_runs_reset_after_a_long_gap() -> None:
    """Message 51 of a run with gaps under 2 minutes is blocked; a 2-minute pause starts over."""
    guards = Guards(Limits(flood_messages=3, flood_gap=120.0))
    assert [guards.flood("7999", t) for t in (0.0, 100.0, 200.0, 300.0)] == [
        False,
        False,
        False,
        True,
    ]
    assert guards.flood("7999", 420.0) is False
    assert dict(guards.sizes())["flood"] == 1


def test_unblock_everything_clears_blocks_and_streaks() -> None:
    """unblock() with no IP lifts every block and forgets the counters that led to them."""
    guards = Guards(Limits(auth_failures=2, error_streak=3))
    for _ in range(2):
        guards.auth_failed("10.0.0.1", 0.0)
    for _ in range(3):
        guards.request_failed("10.0.0.2", 0.0)
    with pytest.raises(RequestError):
        guards.check_ip("10.0.0.2", 1.0)
    assert guards.unblock() == ["10.0.0.1", "10.0.0.2"]
    guards.check_ip("10.0.0.1", 1.0)
    guards.check_ip("10.0.0.2", 1.0)
