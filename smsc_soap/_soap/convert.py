"""Reply records -> result dataclasses.

A :class:`~smsc_soap._soap.reader.Record` holds a result as read by element name. Every reply is checked
here: the result element must exist, ``error`` must be an integer, numbers must parse and be finite, and
a send must echo the id it was sent with. A reply that fails these checks is a protocol error (for a
send: outcome unknown), never a success. Children the WSDL does not declare never fail a reply: they are
kept in ``extra``, and the per-number data the SOAP page names for ``op=1`` (mcc, mnc, cost, error) is
read from them leniently (unreadable text stays in ``extra`` and the typed field is ``None``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from .._codes import DeliveryError, MessageStatus
from .._exceptions import Delivery, SmscProtocolError, api_error
from .._models import BalanceResult, CostResult, PhoneError, SendResult, StatusResult
from .._params.timefmt import MOSCOW, parse_moscow_date
from .reader import Record

__all__ = ["MOSCOW", "convert"]

_ABSURD = Decimal(10) ** 12


class _Reader:
    """Reads typed fields from one result record, naming the operation in every error."""

    __slots__ = ("delivery", "operation", "record", "values")

    def __init__(self, record: Record, operation: str, delivery: Delivery) -> None:
        self.record = record
        self.values = record.values
        self.operation = operation
        self.delivery = delivery

    def bad(self, text: str) -> SmscProtocolError:
        return SmscProtocolError(
            f"{self.operation} reply {text}", operation=self.operation, delivery=self.delivery
        )

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else value.strip()

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
        if not amount.is_finite() or abs(amount) > _ABSURD:
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
            raise api_error(code, self.operation, message_id=self.text("id") or message_id)


def convert(
    operation: str, record: Record | None, sent_id: str | None = None
) -> SendResult | CostResult | StatusResult | BalanceResult:
    """Turn the result record of ``operation`` into its dataclass, or raise the mapped error."""
    family = operation.rstrip("2")
    delivery = Delivery.UNKNOWN if family == "send_sms" else Delivery.NOT_SENT
    if record is None:
        raise SmscProtocolError(
            f"{operation} reply has no result element", operation=operation, delivery=delivery
        )
    extra = record.extra
    reader = _Reader(record, operation, delivery)
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
    errors = tuple(_phone_entry(reader, entry) for entry in reader.record.entries.get("errors", ()))
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
        sms_cnt=int(sms_cnt) if sms_cnt is not None and _digits(sms_cnt.strip()) else None,
        extra=extra,
    )


#: Per-number children the SOAP page names for ``op=1`` (S:140), typed when our WSDL leaves them out.
_ENTRY_DETAILS = ("mcc", "mnc", "cost", "error")


def _phone_entry(reader: _Reader, entry: Record) -> PhoneError:
    """One per-number entry: phone and status as the WSDL declares them, the op=1 data leniently."""
    status = (entry.values.get("status") or "").strip()
    try:
        code = int(status)
    except ValueError:
        raise reader.bad(f"has a non-integer status in errors: {status!r:.20}") from None
    found = {**entry.extra, **{k: v for k, v in entry.values.items() if v is not None}}
    details = {name: found[name].strip() for name in _ENTRY_DETAILS if name in found}
    extra = {k: v for k, v in entry.extra.items() if k not in details}
    details = {name: text for name, text in details.items() if text}  # empty: not given
    cost: Decimal | None = None
    error: DeliveryError | None = None
    if "cost" in details:
        try:
            cost = Decimal(details["cost"].replace(",", "."))
        except InvalidOperation:
            cost = None
        if cost is None or not cost.is_finite() or abs(cost) > Decimal(10) ** 12:
            cost = None
            extra["cost"] = details["cost"]
    if "error" in details:
        if _digits(details["error"]):
            error = DeliveryError(int(details["error"]))
        else:
            extra["error"] = details["error"]
    return PhoneError(
        phone=(entry.values.get("phone") or "").strip(),
        status=MessageStatus(code),
        mcc=details.get("mcc") or None,
        mnc=details.get("mnc") or None,
        cost=cost,
        error=error,
        extra=extra,
    )


def _digits(text: str) -> bool:
    """Whether ``text`` is a plain non-negative integer of at most nine ASCII digits."""
    return text.isascii() and text.isdigit() and len(text) < 10
