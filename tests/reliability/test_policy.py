"""The sans-I/O retry policy, reconcile state machine and budgets, without any socket."""

from __future__ import annotations

import pytest

import smsc_soap as s
from smsc_soap import Delivery, StatusResult
from smsc_soap._reliability.budget import CircuitBreaker, ClientBudget, RateWindow, RetryBudget
from smsc_soap._reliability.policy import (
    Action,
    Attempts,
    Reconciler,
    ReconcileStep,
    RetryPolicy,
    retryable,
    status_says_missing,
)
from tests.helpers.fakes import FakeClock, PinnedPolicy

REFUSED = s.SmscConnectError("refused")
TIMEOUT = s.SmscReadTimeoutError("read timeout", delivery=Delivery.UNKNOWN)


def _attempts(
    *, is_send: bool = False, endpoints: tuple[str, ...] = ("a",), **kw: float
) -> Attempts:
    return Attempts(
        PinnedPolicy(**kw),  # type: ignore[arg-type]
        is_send=is_send,
        endpoints=endpoints,
        started_at=0.0,
        deadline=60.0,
    )


def test_backoff_doubles_and_is_capped() -> None:
    """Delays go 0.5, 1, 2, 4, then stay at the 5 s cap."""
    policy = RetryPolicy()
    assert [policy.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_half_to_full_delay() -> None:
    """Jitter spreads a delay over [d/2, d]."""
    policy = RetryPolicy()
    values = [policy.jitter(2.0) for _ in range(200)]
    assert all(1.0 <= v <= 2.0 for v in values) and len(set(values)) > 1


def test_read_retries_three_attempts_then_gives_up() -> None:
    """A read is tried three times with backoff, then the error stands."""
    attempts = _attempts()
    first = attempts.decide(TIMEOUT, 1.0)
    second = attempts.decide(TIMEOUT, 2.0)
    third = attempts.decide(TIMEOUT, 3.0)
    assert (first.action, first.delay) == (Action.RETRY, 0.5)
    assert (second.action, second.delay) == (Action.RETRY, 1.0)
    assert third.action is Action.GIVE_UP


def test_read_fails_over_to_an_untried_mirror_at_once() -> None:
    """With a mirror, the second attempt goes there without waiting; the third comes back with backoff."""
    attempts = _attempts(endpoints=("primary", "mirror"))
    first = attempts.decide(REFUSED, 1.0)
    assert (first.action, first.delay, first.endpoint) == (Action.FAILOVER, 0.0, "mirror")
    second = attempts.decide(REFUSED, 1.0)
    assert (second.action, second.endpoint) == (Action.FAILOVER, "primary")
    assert second.delay == 1.0


def test_send_is_retried_only_when_nothing_left() -> None:
    """A send retries refused/DNS/connect-timeout failures, never anything after the request left."""
    assert _attempts(is_send=True).decide(REFUSED, 0).action is Action.RETRY
    connect_timeout = s.SmscConnectTimeoutError("t")
    assert _attempts(is_send=True).decide(connect_timeout, 0).action is Action.RETRY
    for error in (
        TIMEOUT,
        s.SmscTransportError("reset", delivery=Delivery.UNKNOWN),
        s.SmscTlsError("tls"),
        s.SmscHttpError("502", http_status=502),
        s.SmscDeadlineExceededError("late"),
    ):
        assert _attempts(is_send=True).decide(error, 0).action is Action.GIVE_UP


@pytest.mark.parametrize("code", range(1, 10))
def test_service_error_codes_are_never_retried(code: int) -> None:
    """Errors 1-9 from the service are final (2 and 4 especially: they lead to IP blocks)."""
    for operation in ("send_sms", "get_balance", "get_status"):
        error = s._exceptions.api_error(code, operation)
        assert not retryable(error, is_send=operation == "send_sms")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (s.SmscHttpError("x", http_status=503), True),
        (s.SmscHttpError("x", http_status=429), True),
        (s.SmscHttpError("x", http_status=404), False),
        (s.SmscRedirectError("x"), False),
        (s.SmscResponseTooLargeError("x"), False),
        (s.SmscTlsError("x"), False),
        (s.SmscProtocolError("x"), False),
        (s.SmscFaultError("SOAP-ENV:Server", "x"), True),
        (s.SmscFaultError("SOAP-ENV:Client", "x"), False),
        (s.RateLimitedError("x", retry_after=1), False),
        (s.CircuitOpenError("x", retry_after=1), False),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, bool) else str(v),
)
def test_which_read_failures_are_retried(error: s.SmscError, expected: bool) -> None:
    """Reads retry 5xx/429/Server faults, not redirects, TLS, oversized or malformed replies."""
    assert retryable(error, is_send=False) is expected


def test_retry_after_is_honoured_and_capped() -> None:
    """Retry-After sets the delay; one above the cap ends the call."""
    error = s.SmscHttpError("429", http_status=429, retry_after=2.0)
    decision = _attempts().decide(error, 0)
    assert decision.action is Action.RETRY and decision.delay == 2.0
    error = s.SmscHttpError("429", http_status=429, retry_after=120.0)
    assert _attempts().decide(error, 0).action is Action.GIVE_UP


def test_no_retry_past_the_deadline() -> None:
    """A retry whose delay would end past the deadline is not made."""
    attempts = _attempts()
    assert attempts.decide(TIMEOUT, 59.8).action is Action.GIVE_UP


def test_no_send_retry_starts_after_the_resend_window() -> None:
    """A send retry never starts more than 45 s after the first attempt."""
    attempts = _attempts(is_send=True)
    assert attempts.decide(REFUSED, 44.9).action is Action.GIVE_UP
    assert _attempts(is_send=True).decide(REFUSED, 40).action is Action.RETRY


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": 11},
        {"base_delay": -1},
        {"max_delay": float("nan")},
        {"resend_window": 60},
        {"resend_window": 0},
        {"send_max_attempts": True},
    ],
)
def test_policy_settings_are_validated(kwargs: dict[str, object]) -> None:
    """Nonsense policy settings are configuration errors."""
    with pytest.raises(s.SmscConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ reconcile


def test_status_reading() -> None:
    """Error 3 and status -3 mean missing; another status means present; other errors say nothing."""
    assert status_says_missing(s.MessageNotFoundError(3, operation="get_status")) is True
    assert status_says_missing(StatusResult(status=s.MessageStatus(-3))) is True
    assert status_says_missing(StatusResult(status=s.MessageStatus(1))) is False
    assert status_says_missing(StatusResult(status=s.MessageStatus(-1))) is False
    assert status_says_missing(s.SmscReadTimeoutError("x")) is None


def test_reconcile_resends_once_inside_the_window() -> None:
    """Missing and inside 45 s: resend; never a second resend."""
    reconciler = Reconciler(RetryPolicy(), sent_at=100.0)
    step, delay = reconciler.start(110.0)
    assert step is ReconcileStep.CHECK_STATUS and delay == 2.0
    assert reconciler.on_status(True, 112.0) is ReconcileStep.RESEND
    reconciler.resend_started()
    assert reconciler.on_status(True, 113.0) is ReconcileStep.UNKNOWN
    with pytest.raises(RuntimeError):
        reconciler.resend_started()


def test_reconcile_outcomes() -> None:
    """Present: confirmed; missing too late or unreadable: unknown."""
    assert Reconciler(RetryPolicy(), sent_at=0).on_status(False, 1) is ReconcileStep.CONFIRMED
    assert Reconciler(RetryPolicy(), sent_at=0).on_status(True, 45.5) is ReconcileStep.UNKNOWN
    assert Reconciler(RetryPolicy(), sent_at=0).on_status(None, 1) is ReconcileStep.UNKNOWN
    _, delay = Reconciler(RetryPolicy(), sent_at=0).start(44.0)
    assert delay == 1.0  # shortened so that a resend can still fit


# ------------------------------------------------------------------ budgets


def test_rate_window_slides() -> None:
    """Five admissions per minute, the sixth waits for the oldest to expire."""
    clock = FakeClock()
    window = RateWindow(5, 60.0, clock)
    for _ in range(5):
        assert window.acquire("m") is None
        clock.now += 1
    assert window.acquire("m") == pytest.approx(55.0)
    assert window.acquire("other") is None
    clock.now += 55.0
    assert window.acquire("m") is None


def test_breaker_opens_then_lets_one_probe() -> None:
    """Error 4 opens the breaker; after the cool-down one probe goes, a success closes it."""
    clock = FakeClock()
    breaker = CircuitBreaker(600, clock)
    assert breaker.admit() is False
    breaker.record(False, s.IpBlockedError(4))
    with pytest.raises(s.CircuitOpenError) as info:
        breaker.admit("get_balance")
    assert info.value.retry_after == 600 and info.value.delivery is Delivery.NOT_SENT
    clock.now += 600
    assert breaker.admit() is True
    with pytest.raises(s.CircuitOpenError):
        breaker.admit()  # a second caller while the probe is out
    breaker.record(True, None)
    assert breaker.admit() is False and not breaker.is_open


def test_breaker_probe_hitting_error_4_reopens() -> None:
    """A probe answered with error 4 opens the breaker for another cool-down."""
    clock = FakeClock()
    breaker = CircuitBreaker(10, clock)
    breaker.record(False, s.IpBlockedError(4))
    clock.now += 10
    assert breaker.admit() is True
    breaker.record(True, s.IpBlockedError(4))
    with pytest.raises(s.CircuitOpenError):
        breaker.admit()


def test_retry_budget_limits_a_storm() -> None:
    """Once the reserve is spent, retries are funded only by 20% of first attempts."""
    budget = RetryBudget(capacity=10, ratio=0.2)
    granted = 0
    for _ in range(100):
        budget.deposit()
        granted += budget.withdraw()
    assert granted <= 10 + 20


def test_budget_refuses_status_polling_beyond_the_service_limit() -> None:
    """The sixth identical status request in a minute is refused locally."""
    clock = FakeClock()
    budget = ClientBudget(max_connections=2, breaker_cooldown=60, clock=clock)
    for _ in range(5):
        budget.admit("get_status", b"same body")
    with pytest.raises(s.RateLimitedError) as info:
        budget.admit("get_status", b"same body")
    assert info.value.delivery is Delivery.NOT_SENT and info.value.retry_safe
    budget.admit("get_status", b"another message")


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "10", True])
def test_breaker_cooldown_is_validated(value: object) -> None:
    """A cool-down must be a positive finite number."""
    with pytest.raises(s.SmscConfigurationError):
        ClientBudget(max_connections=1, breaker_cooldown=value, clock=FakeClock())  # type: ignore[arg-type]
