"""Fault injection: make the emulator slow, broken or silent for some requests, on purpose."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["ConnectionDropped", "FaultKind", "FaultPlan", "Faults"]

FaultKind = Literal[
    "latency",
    "hold",
    "http_error",
    "html_error",
    "malformed_xml",
    "truncated_xml",
    "drop_connection",
]

# Body element names, accepted as aliases of the WSDL operation names in ``operations``.
_ALIASES = {
    "send": "send_sms",
    "send2": "send_sms2",
    "cost": "get_sms_cost",
    "cost2": "get_sms_cost2",
    "status": "get_status",
    "status2": "get_status2",
    "balance": "get_balance",
}


class ConnectionDropped(Exception):
    """Raised by the WSGI app to ask the server to close the socket without any reply."""


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """One injected fault: what goes wrong, for how many requests, and for which operations.

    ``times`` counts the matching requests it applies to (None: all of them until cleared); an empty
    ``operations`` matches every operation. With ``after_processing`` the request is handled by the
    emulator first (a send is stored and charged) and only the reply goes wrong.
    """

    kind: FaultKind
    times: int | None = 1
    operations: frozenset[str] = frozenset()
    latency_ms: int = 0
    http_status: int = 500
    body: bytes = b""
    after_processing: bool = False

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        names = frozenset(_ALIASES.get(name, name) for name in self.operations)
        unknown = names - frozenset(_ALIASES.values())
        if unknown:
            raise ValueError(f"unknown operations: {', '.join(sorted(unknown))}")
        object.__setattr__(self, "operations", names)

    @classmethod
    def latency(
        cls, ms: int, *, times: int | None = 1, operations: Iterable[str] = ()
    ) -> FaultPlan:
        """Delay the reply by ``ms`` milliseconds (the request then runs normally)."""
        return cls("latency", times, frozenset(operations), latency_ms=ms)

    @classmethod
    def hold(cls, *, times: int | None = 1, operations: Iterable[str] = ()) -> FaultPlan:
        """Keep the request waiting, counted as in flight, until ``EmulatorServer.release()``.

        Released, it runs normally. A reset or stop of the server drops it instead, without a reply and
        without processing it. ``EmulatorServer.wait_held(n)`` waits until ``n`` requests are held: a
        test can make requests overlap, or make a client time out, without guessing at wall time.
        """
        return cls("hold", times, frozenset(operations))

    @classmethod
    def http_error(
        cls,
        status: int = 503,
        body: str | bytes = b"",
        *,
        times: int | None = 1,
        operations: Iterable[str] = (),
        after_processing: bool = False,
    ) -> FaultPlan:
        """Answer with HTTP ``status`` and a plain-text (possibly empty) body."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return cls(
            "http_error",
            times,
            frozenset(operations),
            http_status=status,
            body=data,
            after_processing=after_processing,
        )

    @classmethod
    def html_error(
        cls, status: int = 502, *, times: int | None = 1, operations: Iterable[str] = ()
    ) -> FaultPlan:
        """Answer with an HTML error page, as a proxy in front of the service would."""
        page = (
            f"<html><head><title>{status} Bad Gateway</title></head><body>"
            f"<center><h1>{status} Bad Gateway</h1></center><hr><center>nginx</center>"
            "</body></html>\n"
        ).encode("ascii")
        return cls("html_error", times, frozenset(operations), http_status=status, body=page)

    @classmethod
    def malformed_xml(cls, *, times: int | None = 1, operations: Iterable[str] = ()) -> FaultPlan:
        """Answer 200 with a body that is not well-formed XML."""
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope><oops></SOAP-ENV:Body>'
        return cls("malformed_xml", times, frozenset(operations), http_status=200, body=body)

    @classmethod
    def truncated_xml(cls, *, times: int | None = 1, operations: Iterable[str] = ()) -> FaultPlan:
        """Process the request, then answer 200 with only the first half of the real reply."""
        return cls(
            "truncated_xml", times, frozenset(operations), http_status=200, after_processing=True
        )

    @classmethod
    def drop_connection(
        cls,
        *,
        times: int | None = 1,
        operations: Iterable[str] = (),
        after_processing: bool = True,
    ) -> FaultPlan:
        """Close the socket without a reply, by default after the request was processed."""
        return cls(
            "drop_connection", times, frozenset(operations), after_processing=after_processing
        )

    def matches(self, operation: str | None) -> bool:
        """Tell whether this plan applies to a request for ``operation`` (None: not a SOAP call)."""
        return not self.operations or operation in self.operations


@dataclass(slots=True)
class Faults:
    """The queue of fault plans an app consults, first matching plan first (thread-safe)."""

    _plans: list[FaultPlan] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, plan: FaultPlan) -> FaultPlan:
        """Queue ``plan`` behind the plans already set."""
        with self._lock:
            self._plans.append(plan)
        return plan

    def clear(self) -> None:
        """Drop every plan."""
        with self._lock:
            self._plans.clear()

    @property
    def pending(self) -> list[FaultPlan]:
        """The plans still waiting, with their remaining ``times``."""
        with self._lock:
            return list(self._plans)

    def take(self, operation: str | None) -> FaultPlan | None:
        """Return the first plan matching ``operation`` and use up one of its ``times``."""
        with self._lock:
            for index, plan in enumerate(self._plans):
                if plan.matches(operation):
                    if plan.times is None:
                        return plan
                    if plan.times == 1:
                        del self._plans[index]
                    else:
                        self._plans[index] = replace(plan, times=plan.times - 1)
                    return plan
        return None
