"""Limits shared in a real Redis by several processes: breaker, in-flight slots, expiry, fallback."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from smsc_soap import CircuitOpenError, IpBlockedError, RateLimitedError, RedisLimitsStore, SoapSmsc
from smsc_soap.emulator import (
    TEST_LOGIN,
    TEST_PASSWORD,
    BadCredentials,
    Emulator,
    EmulatorServer,
    FaultPlan,
    ManualClock,
    default_account,
)

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSC_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.limits.worker", *args],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out


class PeakEmulator(Emulator):
    """An emulator that remembers the most requests it ever had in flight at once."""

    def __init__(self) -> None:
        super().__init__([default_account()], clock=ManualClock())
        self.current = 0
        self.peak = 0
        self._peak_lock = threading.Lock()

    @contextmanager
    def in_flight(self, fields):  # type: ignore[no-untyped-def,override]
        with super().in_flight(fields) as crowded:
            with self._peak_lock:
                self.current += 1
                self.peak = max(self.peak, self.current)
            try:
                yield crowded
            finally:
                with self._peak_lock:
                    self.current -= 1


def _block_this_ip(server: EmulatorServer) -> None:
    for _ in range(5):  # five authorisation failures block the IP (R5)
        with pytest.raises(BadCredentials):
            server.emulator.handle("get_balance", {"login": "intruder", "psw": "wrong"})


# ------------------------------------------------------------------------------------ in one process


def test_windows_are_shared_between_clients_of_one_login(redis_url: str) -> None:
    """Five status polls of one message split between two clients use up the window for both."""
    with EmulatorServer(Emulator([default_account()], clock=ManualClock())) as server:
        first = SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=server.url, limits_store=redis_url)
        second = SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=server.url, limits_store=redis_url)
        with first, second:
            sent = first.send_sms("79991234567", "hello")
            for client in (first, second, first, second, first):
                client.get_status(sent.id, "79991234567")
            before = len(server.requests)
            for client in (first, second):
                with pytest.raises(RateLimitedError) as caught:
                    client.get_status(sent.id, "79991234567")
                assert 0 < caught.value.retry_after <= 60
            assert len(server.requests) == before  # refused here, nothing sent
        server.check()


def test_keys_and_values_hold_no_secret_login_or_phone(redis_url: str, sentinel_psw: str) -> None:
    """Every Redis key and value is free of the password, the login, the phone and the message id."""
    account = default_account()
    account.login, account.psw = "alex-login", sentinel_psw
    with (
        EmulatorServer(Emulator([account], clock=ManualClock())) as server,
        SoapSmsc("alex-login", sentinel_psw, endpoint=server.url, limits_store=redis_url) as c,
    ):
        sent = c.send_sms("79991234567", "hello")
        c.get_status(sent.id, "79991234567")
        c.get_balance()
        c.get_sms_cost("79991234567", "hello")
    client = redis.Redis.from_url(redis_url)
    try:
        dump = []
        for key in client.scan_iter("*"):
            dump.append(key)
            kind = client.type(key)
            if kind == b"zset":
                dump.extend(member for member, _ in client.zrange(key, 0, -1, withscores=True))
            elif kind == b"string":
                dump.append(client.get(key) or b"")
        text = b"\n".join(dump).decode()
    finally:
        client.close()
    assert ":w:status:" in text and ":w:balance:" in text and ":w:cost:" in text
    for forbidden in (sentinel_psw, "alex-login", "79991234567", sent.id):
        assert forbidden not in text


def test_an_unreachable_store_falls_back_with_one_warning(
    caplog: pytest.LogCaptureFixture, sentinel_psw: str
) -> None:
    """With Redis down, calls still go out once each under in-process limits; one WARNING, no password."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://:{sentinel_psw}@127.0.0.1:{port}/0"
    with EmulatorServer(Emulator([default_account()], clock=ManualClock())) as server:
        with (
            caplog.at_level(logging.WARNING, logger="smsc_soap.limits"),
            SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=server.url, limits_store=url) as c,
        ):
            sent = c.send_sms("79991234567", "hello")
            for _ in range(5):
                c.get_status(sent.id, "79991234567")
            with pytest.raises(RateLimitedError):  # the in-process window still counts
                c.get_status(sent.id, "79991234567")
        assert len(server.messages) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "in-process limits" in warnings[0].getMessage()
    assert sentinel_psw not in caplog.text and f"127.0.0.1:{port}" in caplog.text


# ------------------------------------------------------------------------------------ across processes


@pytest.mark.slow
def test_error_4_in_one_process_makes_another_refuse_locally(redis_url: str) -> None:
    """After this process meets error 4, a worker process refuses with CircuitOpenError, sending nothing."""
    with EmulatorServer(Emulator([default_account()], clock=ManualClock())) as server:
        _block_this_ip(server)
        with (
            SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=server.url, limits_store=redis_url) as c,
            pytest.raises(IpBlockedError),
        ):
            c.get_balance()
        seen = len(server.requests)
        assert _finish(_worker("balance", server.url, redis_url)).split() == ["CircuitOpenError"]
        assert len(server.requests) == seen  # the other process sent nothing
    # Control: without the shared store, another process would have asked (and met error 4).
    with EmulatorServer(Emulator([default_account()], clock=ManualClock())) as server:
        _block_this_ip(server)
        for _ in range(2):  # two clients, as two processes would be
            with (
                SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=server.url) as alone,
                pytest.raises(IpBlockedError),
            ):
                alone.get_balance()


@pytest.mark.slow
def test_thirty_processes_never_have_more_than_14_in_flight(redis_url: str, tmp_path: Path) -> None:
    """30 worker processes x 3 threads send at once; the emulator never sees more than 14 in flight."""
    emulator = PeakEmulator()
    go = tmp_path / "go"
    with EmulatorServer(emulator, latency_ms=150) as server:
        workers = [_worker("burst", server.url, redis_url, str(go), "3", str(n)) for n in range(30)]
        try:
            for worker in workers:
                assert worker.stdout is not None
                assert worker.stdout.readline().strip() == "ready", worker.stderr
            emulator.peak = 0  # the warm-ups are behind us
            # The first 14 sends wait in the emulator until all 14 are there: the cap is reached
            # however slowly a loaded machine starts the threads; the rest overlap by latency.
            server.inject(FaultPlan.hold(times=14, operations=["send_sms", "send_sms2"]))
            go.touch()
            try:
                assert server.wait_held(14, timeout=60)
            finally:
                server.release()
            outcomes = [_finish(worker).split() for worker in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
        server.check()
    assert [o for out in outcomes for o in out] == ["ok"] * 90
    assert len(emulator.messages) == 90
    assert emulator.peak == 14  # saturated, never over


@pytest.mark.slow
def test_a_killed_worker_does_not_leak_its_slots(redis_url: str) -> None:
    """A worker SIGKILLed while holding 14 slots blocks others only until its leases run out.

    Slow on purpose (about 5 s): leases expire on Redis's own clock, which no test can move.
    """
    emulator = Emulator([default_account()], clock=ManualClock())
    with EmulatorServer(emulator, latency_ms=30_000) as server:
        worker = _worker("hold", server.url, redis_url, "14")
        try:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "sending", worker.stderr
            store = RedisLimitsStore(redis_url, account=TEST_LOGIN)
            slots = store.slots(14)
            assert slots is not None
            watcher = redis.Redis.from_url(redis_url)
            key = f"smsc:{store.fingerprint()}:slots"
            deadline = time.monotonic() + 20
            while watcher.zcard(key) < 14:
                assert time.monotonic() < deadline, "the worker never held 14 slots"
                time.sleep(0.02)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            killed_at = time.monotonic()
            assert slots.try_acquire(1.0) is None  # still leased to the dead worker
            token = slots.acquire(timeout=15, lease=1.0)
            freed_after = time.monotonic() - killed_at
            assert token is not None, "the dead worker's slots never expired"
            assert freed_after <= 4 + 0.5 + 2  # its deadline (4 s) plus the lease margin
            slots.release(token)
            watcher.close()
            store.close()
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.wait(timeout=10)
            for stream in (worker.stdout, worker.stderr):
                if stream is not None:
                    stream.close()


def test_sharing_needs_redis_py_url(redis_url: str) -> None:
    """A limits_store that is not a Redis URL or a store is refused before anything is sent."""
    from smsc_soap import SmscConfigurationError

    with pytest.raises(SmscConfigurationError, match="limits_store"):
        SoapSmsc(TEST_LOGIN, TEST_PASSWORD, limits_store="memcached://x")
    with pytest.raises(SmscConfigurationError, match="limits_store"):
        SoapSmsc(TEST_LOGIN, TEST_PASSWORD, limits_store=42)  # type: ignore[arg-type]


def test_async_client_takes_and_returns_shared_slots(redis_url: str) -> None:
    """AsyncSoapSmsc holds a shared slot per request in flight and gives it back afterwards."""
    import asyncio

    from smsc_soap import AsyncSoapSmsc

    emulator = PeakEmulator()
    store = RedisLimitsStore(redis_url, account=TEST_LOGIN)
    watcher = redis.Redis.from_url(redis_url)
    key = f"smsc:{store.fingerprint()}:slots"
    seen: list[int] = []

    async def run(url: str) -> None:
        async with AsyncSoapSmsc(
            TEST_LOGIN, TEST_PASSWORD, endpoint=url, limits_store=store, max_connections=14
        ) as client:

            async def watch() -> None:
                while True:
                    seen.append(int(watcher.zcard(key)))
                    await asyncio.sleep(0.01)

            watching = asyncio.create_task(watch())
            await asyncio.gather(*(client.send_sms(f"7999000{i:04d}", "a") for i in range(20)))
            watching.cancel()

    try:
        with EmulatorServer(emulator, latency_ms=100) as server:
            asyncio.run(run(server.url))
        assert len(emulator.messages) == 20 and emulator.peak <= 14
        assert max(seen) == 14 and watcher.zcard(key) == 0
    finally:
        watcher.close()
        store.close()


def test_the_shared_breaker_half_opens_for_one_probe(redis_url: str) -> None:
    """After the cool-down one client probes; its success closes the breaker for every client."""
    with EmulatorServer(Emulator([default_account()], clock=ManualClock())) as server:
        _block_this_ip(server)
        options = {"endpoint": server.url, "limits_store": redis_url, "breaker_cooldown": 0.3}
        with (
            SoapSmsc(TEST_LOGIN, TEST_PASSWORD, **options) as first,  # type: ignore[arg-type]
            SoapSmsc(TEST_LOGIN, TEST_PASSWORD, **options) as second,  # type: ignore[arg-type]
        ):
            with pytest.raises(IpBlockedError):
                first.get_balance()
            with pytest.raises(CircuitOpenError) as caught:
                second.get_balance()
            assert 0 < caught.value.retry_after <= 0.3
            server.emulator.reset()  # the service lifts the block
            deadline = time.monotonic() + 10
            while True:  # Redis keeps time itself: wait for its cool-down to end
                try:
                    second.get_balance()  # the probe
                    break
                except CircuitOpenError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            first.get_balance()  # closed for everyone
            assert not first._budget.breaker.is_open and not second._budget.breaker.is_open
        server.check()
