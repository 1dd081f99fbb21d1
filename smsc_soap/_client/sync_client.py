"""``SoapSmsc``: the synchronous client, a thin blocking driver of the shared call plans."""

from __future__ import annotations

import time as _time

from .._http.sync_transport import SyncTransport
from .._http.types import RawReply
from .._models import BalanceResult, CostResult, SendResult, StatusResult
from .._soap.protocol import Result
from .core import ClientCore
from .plan import Plan, Post, drive, no_slot

__all__ = ["SoapSmsc"]


class SoapSmsc(ClientCore[SendResult, CostResult, StatusResult, BalanceResult]):
    """A client for SMSC's SOAP API: ``SoapSmsc(login, psw)`` or ``SoapSmsc(apikey=...)``.

    Nothing touches the network until a method is called: the WSDL is the cached copy shipped with
    the package. One client may be shared by many threads. Use it as a context manager, or call
    :meth:`close`.
    """

    _transport_class = SyncTransport
    _default_sleep = staticmethod(_time.sleep)
    _transport: SyncTransport

    def close(self) -> None:
        """Close pooled connections; later calls raise :class:`ClientClosedError`."""
        self._mark_closed()
        self._transport.close()

    def __enter__(self) -> SoapSmsc:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, plan: Plan) -> Result:
        return drive(plan, self._sleep, self._post)

    def _post(self, step: Post) -> RawReply:
        """One POST inside one of the ``max_connections`` slots (shared ones too, with Redis)."""
        call = step.request  # its repr hides the envelope; no local here holds the raw body
        wait = step.deadline - self._clock()
        token = self._budget.acquire_slot(wait) if wait > 0 else None
        if token is None:
            raise no_slot(call.operation, f"one of the {self.max_connections} connection slots")
        try:
            self._check_open(call.operation)  # closed by another thread since the plan looked?
            # The transport measures real time: map what is left of the deadline onto it.
            deadline_at = _time.monotonic() + max(0.0, step.deadline - self._clock())
            return self._transport.post(step.endpoint, call.body, call.headers, deadline_at)
        finally:
            self._budget.release_slot(token)
