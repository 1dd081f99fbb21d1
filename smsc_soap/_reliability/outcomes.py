"""What a failed call means for the message: the errors both clients raise for sends.

A send whose reply never came is :class:`SendOutcomeUnknownError` (or :class:`SendConfirmedError` once
``get_status`` shows the message); errors leave without the tracebacks of deeper frames, whose locals
hold the envelope and so the password.
"""

from __future__ import annotations

from typing import Any

from .._exceptions import (
    Delivery,
    DuplicateSendError,
    SendConfirmedError,
    SendOutcomeUnknownError,
    SmscError,
)
from .._soap.protocol import Request

__all__ = ["NO_STATUS", "detached", "in_flight_duplicate", "send_outcome"]

#: Marks "reconcile did not run" (``None`` is a possible status answer).
NO_STATUS: Any = object()


def detached(error: SmscError) -> SmscError:
    """Drop the tracebacks of ``error``'s chain: deeper frames hold the envelope (and password) as locals."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        item.__traceback__ = None
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
    return error


def in_flight_duplicate(request: Request) -> SmscError:
    """The local refusal of a send identical to one this client has in flight (nothing sent)."""
    duplicate = DuplicateSendError(
        9,
        operation=request.operation,
        message_id=request.message_id,
        detail="an identical send is already in flight in this client; this one was not sent",
    )
    duplicate.delivery = Delivery.NOT_SENT
    return duplicate


def send_outcome(
    request: Request, error: SmscError, *, status: object = NO_STATUS, confirmed: bool = False
) -> SmscError:
    """For a send whose fate is unknown, the error to raise is SendOutcomeUnknownError."""
    if request.is_send and error.delivery is Delivery.UNKNOWN:
        assert request.message_id is not None and request.phones is not None
        reconciled = status is not NO_STATUS
        if confirmed:
            return SendConfirmedError(
                f"{request.operation}: the reply was lost ({error}), but get_status shows message "
                f"{request.message_id}: it was sent; do not send it again",
                operation=request.operation,
                message_id=request.message_id,
                phones=request.phones,
                reason=error,
                reconciled=True,
                status=status,
            )
        unknown = SendOutcomeUnknownError(
            f"{request.operation}: the outcome is unknown, the message (id {request.message_id}) "
            f"may have been created; check get_status before sending again ({error})"
            + (" [reconcile could not settle it]" if reconciled else ""),
            operation=request.operation,
            message_id=request.message_id,
            phones=request.phones,
            reason=error,
            reconciled=reconciled,
            status=status if reconciled else None,
        )
        unknown.__cause__ = error
        return unknown
    return error
