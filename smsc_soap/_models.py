"""Result dataclasses. The WSDL types every field as a string; these carry ints, Decimals and datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ._codes import DeliveryError, MessageStatus

__all__ = ["BalanceResult", "CostResult", "PhoneError", "SendResult", "StatusResult"]


@dataclass(frozen=True, slots=True)
class PhoneError:
    """One recipient in a send reply: a rejected one (``err=1``), or every one (``op=1``).

    ``phone`` and ``status`` are always there. With ``op=1`` the service adds the number's network
    (``mcc``, ``mnc``, kept as text: leading zeros matter), its ``cost`` and, for a refused number, the
    delivery ``error``; each is ``None`` when the reply leaves it out or it cannot be read (the raw text
    then stays in ``extra``). ``extra`` holds the entry's other children, by name.
    """

    phone: str
    status: MessageStatus
    mcc: str | None = None
    mnc: str | None = None
    cost: Decimal | None = None
    error: DeliveryError | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SendResult:
    """An accepted send: the message id, SMS parts billed, cost and new balance (when asked for)."""

    id: str
    cnt: int
    cost: Decimal | None = None
    balance: Decimal | None = None
    errors: tuple[PhoneError, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class CostResult:
    """The price of a send that was not made, and how many SMS parts it would take."""

    cost: Decimal
    cnt: int | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class StatusResult:
    """A message's delivery status; the fields after ``err`` come with ``all=1``/``all=2``."""

    status: MessageStatus
    last_date: datetime | None = None
    last_timestamp: int | None = None
    err: DeliveryError | None = None
    send_date: datetime | None = None
    send_timestamp: int | None = None
    phone: str | None = None
    cost: Decimal | None = None
    sender_id: str | None = None
    status_name: str | None = None
    message: str | None = None
    operator: str | None = None
    region: str | None = None
    sms_cnt: int | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class BalanceResult:
    """The account balance."""

    balance: Decimal
    extra: dict[str, str] = field(default_factory=dict, compare=False)
