"""zeep output -> result dataclasses; the only module that reads zeep values.

Every reply is checked after zeep has parsed it: the result element must exist, ``error`` must be an
integer, numbers must parse and be finite, and a send must echo the id it was sent with. A reply that
fails these checks is a protocol error (for a send: outcome unknown), never a success.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .._codes import DeliveryError, MessageStatus
from .._exceptions import Delivery, SmscProtocolError, api_error
from .._models import BalanceResult, CostResult, PhoneError, SendResult, StatusResult
from .._params.timefmt import MOSCOW, parse_moscow_date

__all__ = ["MOSCOW", "convert"]


class _Reader:
    """Reads typed fields from one zeep result object, naming the operation in every error."""

    __slots__ = ("delivery", "operation", "values")

    def __init__(self, values: Any, operation: str, delivery: Delivery) -> None:
        self.values = values
        self.operation = operation
        self.delivery = delivery

    def bad(self, text: str) -> SmscProtocolError:
        return SmscProtocolError(
            f"{self.operation} reply {text}", operation=self.operation, delivery=self.delivery
        )

    def text(self, name: str) -> str | None:
        value = self.values[name]
        if value is None:
            return None
        if not isinstance(value, str):  # pragma: no cover - the WSDL types every field as string
            raise self.bad(f"has a non-text {name}")
        return value.strip()

    def int(self, name: str, *, minimum: int | None = None) -> int | None:
        value = self.text(name)
        if value is None or value == "":
            return None
        try:
            number = int(value)
        except ValueError:
            raise self.bad(f"has a {name} that is not an integer: {value[:20]!r}") from None
        if minimum is not None and number < minimum:
            raise self.bad(f"has {name}={number}, below {minimum}")
        return number

    def money(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None or value == "":
            return None
        try:
            amount = Decimal(value.replace(",", "."))
        except InvalidOperation:
            raise self.bad(f"has a {name} that is not a number: {value[:20]!r}") from None
        if not amount.is_finite() or abs(amount) > Decimal(10) ** 12:
            raise self.bad(f"has a non-finite or absurd {name}: {value[:20]!r}")
        return amount

    def date(self, name: str) -> datetime | None:
        value = self.text(name)
        if not value:
            return None
        try:
            return parse_moscow_date(value)
        except ValueError:
            raise self.bad(f"has a {name} not in DD.MM.YYYY hh:mm:ss: {value[:25]!r}") from None

    def raise_for_error(self, message_id: str | None = None) -> None:
        code = self.int("error")
        if code is not None and code != 0:
            if code < 0:
                raise self.bad(f"has a negative error code {code}")
            returned_id = self.text("id") if "id" in _fields(self.values) else None
            raise api_error(code, self.operation, message_id=returned_id or message_id)


def _fields(values: Any) -> tuple[str, ...]:
    return tuple(values.__values__) if hasattr(values, "__values__") else ()


def convert(
    operation: str, values: Any, extra: dict[str, str], sent_id: str | None = None
) -> SendResult | CostResult | StatusResult | BalanceResult:
    """Turn the zeep result of ``operation`` into its dataclass, or raise the mapped error."""
    family = operation.rstrip("2")
    delivery = Delivery.UNKNOWN if family == "send_sms" else Delivery.NOT_SENT
    if values is None:
        raise SmscProtocolError(
            f"{operation} reply has no result element", operation=operation, delivery=delivery
        )
    reader = _Reader(values, operation, delivery)
    reader.raise_for_error(sent_id)
    if family == "send_sms":
        return _send(reader, extra, sent_id)
    if family == "get_sms_cost":
        cost = reader.money("cost")
        if cost is None:
            raise reader.bad("has neither cost nor error")
        return CostResult(cost=cost, cnt=reader.int("cnt", minimum=0), extra=extra)
    if family == "get_status":
        return _status(reader, extra)
    balance = reader.money("balance")
    if balance is None:
        raise reader.bad("has neither balance nor error")
    return BalanceResult(balance=balance, extra=extra)


def _send(reader: _Reader, extra: dict[str, str], sent_id: str | None) -> SendResult:
    message_id = reader.text("id")
    if not message_id:
        raise reader.bad(f"has no message id (the request carried id {sent_id})")
    if sent_id is not None and message_id != sent_id:
        raise reader.bad(f"names message {message_id[:40]!r}, not the id sent ({sent_id})")
    cnt = reader.int("cnt", minimum=1)
    if cnt is None:
        raise reader.bad(f"has no cnt for message {message_id}")
    errors: tuple[PhoneError, ...] = ()
    if "errors" in _fields(reader.values):
        items = reader.values["errors"] or []
        parsed = []
        for item in items:
            phone, status = item["phone"], item["status"]
            try:
                code = int(status)
            except (TypeError, ValueError):
                raise reader.bad(f"has a non-integer status in errors: {status!r:.20}") from None
            parsed.append(PhoneError(phone=(phone or "").strip(), status=MessageStatus(code)))
        errors = tuple(parsed)
    return SendResult(
        id=message_id,
        cnt=cnt,
        cost=reader.money("cost"),
        balance=reader.money("balance"),
        errors=errors,
        extra=extra,
    )


def _status(reader: _Reader, extra: dict[str, str]) -> StatusResult:
    status = reader.int("status")
    if status is None:
        raise reader.bad("has neither status nor error")
    err = reader.int("err")
    sms_cnt = extra.get("sms_cnt")
    return StatusResult(
        status=MessageStatus(status),
        last_date=reader.date("last_date"),
        last_timestamp=reader.int("last_timestamp", minimum=0),
        err=None if err is None else DeliveryError(err),
        send_date=reader.date("send_date"),
        send_timestamp=reader.int("send_timestamp", minimum=0),
        phone=reader.text("phone"),
        cost=reader.money("cost"),
        sender_id=reader.text("sender_id"),
        status_name=reader.text("status_name"),
        message=reader.text("message"),
        operator=reader.text("operator"),
        region=reader.text("region"),
        sms_cnt=int(sms_cnt) if sms_cnt is not None and sms_cnt.strip().isdigit() else None,
        extra=extra,
    )
