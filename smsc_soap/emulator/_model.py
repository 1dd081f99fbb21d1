"""The emulated service's state and rules: accounts, tariffs, messages, statuses, limits and blocks.

Nothing here knows about SOAP. :meth:`Emulator.handle` takes an operation name and the request's fields
(strings, as the WSDL types them) and returns the reply's fields, or raises a
:class:`~smsc_soap.emulator.RequestError` carrying the service's error code.

Test numbers
------------
Numbers of the form ``7000000`` + ``0`` + three digits (``+7 000 000 0SSS``, a range no operator uses)
choose their outcome by the last three digits; every other valid number is delivered:

======  ======================================================  =========================
suffix  outcome                                                 when
======  ======================================================  =========================
``003``  status 3 (expired), err 6 (subscriber not in network)   after the delivery delay
``020``  status 20 (cannot be delivered), err 1 (no subscriber)  after the delivery delay
``022``  status 22 (wrong number), err 249                       at once, not sent, free
``023``  status 23 (forbidden), err 253 (spam filter)            at once, not sent, free
``024``  status 24 (insufficient funds)                          at once, not sent, free
``025``  status 25 (unavailable number), err 248 (no route)      at once, not sent, free
======  ======================================================  =========================

So ``70000000020`` is a number that is accepted and billed, then fails with 20/err 1. Numbers rejected at
once appear in ``errors`` of a ``send_sms2`` reply with ``err=1``. A number is valid when it has 10 to 15
digits once spaces, dashes and brackets are dropped (an optional leading ``+``; a Russian ``8XXXXXXXXXX``
becomes ``7XXXXXXXXXX``); any other recipient is rejected with status 22. When every recipient is
rejected the request fails instead: 7 for wrong numbers, 6 forbidden, 3 insufficient funds, 8 unavailable
(the first rejected number decides), with the message id.

Lifecycle
---------
A message waits (status -1) until its send time plus ``queue_delay`` seconds, is then transferred
(status 0), and ``delivery_delay`` seconds later reaches its final status (1, or 3/20 for the test numbers
above). ``last_date`` is the moment of the latest change, in Moscow time.

Limits (error 9) and blocks (error 4)
-------------------------------------
An identical send within 60 s; more than 5 identical cost requests, more than 5 status requests for one
message and phone, or more than 10 balance requests within 60 s; 15 or more requests in flight under
one login. 5 authorisation failures from one IP within 30 minutes block that IP for 30 minutes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from .._codes import DeliveryError, MessageStatus
from .._hosts import HOSTS
from .._query import php_parse_str
from .._segments import segments, truncate_to_parts
from ._clock import Clock, SystemClock
from ._errors import (
    BadCredentials,
    BadNumber,
    BadParameters,
    Forbidden,
    IpBlocked,
    MessageNotFound,
    NoFunds,
    RequestError,
    TooManyRequests,
    Undeliverable,
)
from ._times import format_moscow, parse_send_time, parse_tz

__all__ = [
    "OPERATIONS",
    "Account",
    "Emulator",
    "Limits",
    "Message",
    "Recipient",
    "Reply",
    "Tariff",
]

#: The seven operations, by WSDL name.
OPERATIONS = (
    "get_balance",
    "send_sms",
    "send_sms2",
    "get_sms_cost",
    "get_sms_cost2",
    "get_status",
    "get_status2",
)

MAX_MES = 1000
# Counters of a long-running server are pruned of stale keys once there are this many.
_PRUNE_AT = 10_000
TEST_PREFIX = "70000000"

# Outcome of a test number: (status at once or None when accepted, err, final status, final err).
_TEST_OUTCOMES: dict[str, tuple[int | None, int, int, int]] = {
    "003": (None, 0, MessageStatus.EXPIRED, DeliveryError.SUBSCRIBER_NOT_IN_NETWORK),
    "020": (None, 0, MessageStatus.UNDELIVERABLE, DeliveryError.SUBSCRIBER_NOT_EXISTS),
    "022": (MessageStatus.WRONG_NUMBER, DeliveryError.INVALID_NUMBER_FORMAT, 0, 0),
    "023": (MessageStatus.FORBIDDEN, DeliveryError.SPAM_FILTER, 0, 0),
    "024": (MessageStatus.INSUFFICIENT_FUNDS, DeliveryError.NO_ERROR, 0, 0),
    "025": (MessageStatus.UNAVAILABLE_NUMBER, DeliveryError.NO_ROUTE, 0, 0),
}
# The request error a send gets when every recipient was rejected with this status.
_ALL_REJECTED: dict[int, type[RequestError]] = {
    MessageStatus.WRONG_NUMBER: BadNumber,
    MessageStatus.FORBIDDEN: Forbidden,
    MessageStatus.INSUFFICIENT_FUNDS: NoFunds,
    MessageStatus.UNAVAILABLE_NUMBER: Undeliverable,
}
# The Russian status names smsc.ru returns in ``status_name``.
STATUS_NAMES = {
    -3: "Сообщение не найдено",
    -2: "Остановлено",
    -1: "Ожидает отправки",
    0: "Передано оператору",
    1: "Доставлено",
    2: "Прочитано",
    3: "Просрочено",
    4: "Нажата ссылка",
    20: "Невозможно доставить",
    22: "Неверный номер",
    23: "Запрещено",
    24: "Недостаточно средств",
    25: "Недоступный номер",
}

_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_ID_MAX = 2147483647
_PHONE_JUNK = re.compile(r"[\s()\-]")
_DIGITS = re.compile(r"\d{10,15}")
_MONEY = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(_MONEY))


@dataclass(frozen=True, slots=True)
class Tariff:
    """Prices per SMS part: one default price and optional prices by number prefix (longest wins)."""

    price_per_part: Decimal = Decimal("1.95")
    by_prefix: Mapping[str, Decimal] = field(default_factory=dict)

    def price(self, phone: str) -> Decimal:
        """Return the price of one SMS part to ``phone`` (digits only)."""
        for length in range(len(phone), 0, -1):
            price = self.by_prefix.get(phone[:length])
            if price is not None:
                return price
        return self.price_per_part


@dataclass(slots=True)
class Account:
    """A client account: login with password and/or API key, balance, tariff and registered senders."""

    login: str
    psw: str | None = None
    apikey: str | None = None
    balance: Decimal = Decimal("100.00")
    tariff: Tariff = field(default_factory=Tariff)
    senders: frozenset[str] = frozenset()
    default_sender: str = "SMSC.RU"
    tz: int = 0

    def allows_sender(self, sender: str) -> bool:
        """Tell whether ``sender`` may be shown as the sender name (registered, or the default)."""
        return sender == self.default_sender or sender in self.senders

    def password_matches(self, psw: str) -> bool:
        """Tell whether ``psw`` is the password or its lowercase MD5 (both accepted by the service)."""
        if self.psw is None or not psw:
            return False
        if psw == self.psw:
            return True
        return psw == hashlib.md5(self.psw.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Recipient:
    """One number of a message, its price, and where its delivery ends."""

    phone: str
    cost: Decimal
    rejected_status: int | None = None
    rejected_err: int = 0
    final_status: int = int(MessageStatus.DELIVERED)
    final_err: int = 0


@dataclass(frozen=True, slots=True)
class Message:
    """A message the emulator accepted: its id, recipients, text, parts, cost, sender and send time."""

    id: str
    login: str
    recipients: tuple[Recipient, ...]
    text: str
    parts: int
    cost: Decimal
    sender: str
    created_at: float
    send_at: float

    @property
    def phones(self) -> tuple[str, ...]:
        """The numbers the message was addressed to."""
        return tuple(recipient.phone for recipient in self.recipients)

    def recipient(self, phone: str) -> Recipient | None:
        """Return the recipient with this number, if any."""
        for recipient in self.recipients:
            if recipient.phone == phone:
                return recipient
        return None


@dataclass(frozen=True, slots=True)
class Limits:
    """The service's limits; the defaults are SMSC's documented ones."""

    duplicate_window: float = 60.0
    cost_per_minute: int = 5
    status_per_minute: int = 5
    balance_per_minute: int = 10
    concurrent: int = 15
    auth_failures: int = 5
    auth_window: float = 30 * 60.0
    block_seconds: float = 30 * 60.0


@dataclass(frozen=True, slots=True)
class Reply:
    """The fields of a successful reply (names as in the WSDL) and, for send_sms2, the ``errors`` list."""

    fields: dict[str, str]
    errors: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Batch:
    sender: str | None
    tz: str | None
    phones: str
    mes: str


def flight_key(fields: Mapping[str, str | None]) -> str | None:
    """Return the key concurrent requests are counted under: the API key, else the login."""
    apikey = fields.get("apikey")
    if apikey:
        return "apikey:" + apikey
    return fields.get("login") or None


def normalize_phone(raw: str) -> str | None:
    """Return a number's digits (``8XXXXXXXXXX`` made ``7XXXXXXXXXX``), or None when not a number."""
    text = _PHONE_JUNK.sub("", raw)
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not _DIGITS.fullmatch(digits):
        return None
    if not plus and len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits


def _split_phones(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for item in re.split(r"[,;]", text):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


class Emulator:
    """The state of an emulated SMSC service and the rules that act on it (thread-safe)."""

    def __init__(
        self,
        accounts: Iterable[Account] = (),
        *,
        host: str = "smsc.ru",
        clock: Clock | None = None,
        queue_delay: float = 1.0,
        delivery_delay: float = 5.0,
        spam_words: Iterable[str] = ("spamtest",),
        limits: Limits | None = None,
        first_id: int = 1,
    ) -> None:
        if host not in HOSTS:
            raise ValueError(f"host must be one of {', '.join(sorted(HOSTS))}")
        self.host = host
        self.namespace = HOSTS[host].namespace
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.queue_delay = queue_delay
        self.delivery_delay = delivery_delay
        self.spam_words = tuple(word.lower() for word in spam_words)
        self.limits = limits if limits is not None else Limits()
        self._first_id = first_id
        self._lock = threading.RLock()
        self._initial: dict[str, Account] = {}
        for account in accounts:
            self._initial[account.login] = dataclasses.replace(account)
        self.accounts: dict[str, Account] = {}
        self.messages: list[Message] = []
        self._by_id: dict[tuple[str, str], list[Message]] = {}
        self._ids: Iterator[int] = itertools.count(first_id)
        self._recent_sends: dict[tuple[str, ...], float] = {}
        self._rates: dict[tuple[str, ...], deque[float]] = {}
        self._auth_failures: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._in_flight: dict[str, int] = {}
        #: Called (under the model's lock) with every message the emulator accepts; keep them quick.
        self.listeners: list[Callable[[Message], None]] = []
        self.reset()

    # ----- configuration -------------------------------------------------------------------------

    def add_account(self, account: Account) -> Account:
        """Add (or replace) an account; it survives :meth:`reset` with its starting balance."""
        with self._lock:
            self._initial[account.login] = dataclasses.replace(account)
            self.accounts[account.login] = account
            return account

    def account(self, login: str) -> Account:
        """Return the live account called ``login``."""
        with self._lock:
            return self.accounts[login]

    def reset(self) -> None:
        """Forget messages, counters and blocks, and restore every account as it was added."""
        with self._lock:
            self.accounts = {login: dataclasses.replace(a) for login, a in self._initial.items()}
            self.messages = []
            self._by_id = {}
            self._ids = itertools.count(self._first_id)
            self._recent_sends = {}
            self._rates = {}
            self._auth_failures = {}
            self._blocked_until = {}
            self._in_flight = {}

    # ----- concurrency ---------------------------------------------------------------------------

    @contextmanager
    def in_flight(self, fields: Mapping[str, str | None]) -> Iterator[bool]:
        """Count a request (by its API key, else login) as in flight; yield whether it is one too many.

        The count is taken on arrival, so of 16 simultaneous requests the 15th and 16th are refused.
        Pass the yielded value to :meth:`handle` as ``crowded``.
        """
        key = flight_key(fields)
        if not key:
            yield False
            return
        with self._lock:
            count = self._in_flight.get(key, 0) + 1
            self._in_flight[key] = count
        try:
            yield count >= self.limits.concurrent
        finally:
            with self._lock:
                left = self._in_flight.get(key, 0) - 1
                if left > 0:
                    self._in_flight[key] = left
                else:
                    self._in_flight.pop(key, None)

    # ----- statuses ------------------------------------------------------------------------------

    def status_of(self, message: Message, phone: str) -> tuple[int, int, float]:
        """Return (status, err, time of the last change) of ``message`` to ``phone`` right now."""
        recipient = message.recipient(phone)
        if recipient is None:
            raise KeyError(phone)
        return self._status(message, recipient, self.clock.now())

    def status_at(self, message: Message, phone: str, when: float) -> tuple[int, int, float]:
        """Return (status, err, time of the last change) of ``message`` to ``phone`` at ``when``."""
        recipient = message.recipient(phone)
        if recipient is None:
            raise KeyError(phone)
        return self._status(message, recipient, when)

    def _status(self, message: Message, recipient: Recipient, now: float) -> tuple[int, int, float]:
        if recipient.rejected_status is not None:
            return recipient.rejected_status, recipient.rejected_err, message.created_at
        transfer_at = message.send_at + self.queue_delay
        if now < transfer_at:
            return int(MessageStatus.WAITING), 0, message.created_at
        final_at = transfer_at + self.delivery_delay
        if now < final_at:
            return int(MessageStatus.TRANSFERRED), 0, transfer_at
        return recipient.final_status, recipient.final_err, final_at

    # ----- the entry point -----------------------------------------------------------------------

    def handle(
        self,
        operation: str,
        fields: Mapping[str, str | None],
        ip: str = "127.0.0.1",
        *,
        crowded: bool = False,
    ) -> Reply:
        """Run one request (``operation`` by WSDL name) and return its reply or raise RequestError."""
        with self._lock:
            now = self.clock.now()
            self._check_ip(ip, now)
            account = self._authenticate(fields, ip, now)
            if crowded:
                raise TooManyRequests(f"{self.limits.concurrent}+ concurrent requests for a login")
            if operation in ("send_sms", "send_sms2"):
                return self._send(operation, account, fields, now)
            if operation in ("get_sms_cost", "get_sms_cost2"):
                return self._cost(operation, account, fields, now)
            if operation in ("get_status", "get_status2"):
                return self._get_status(account, fields, now)
            if operation == "get_balance":
                self._rate(("balance", account.login), self.limits.balance_per_minute, now)
                return Reply({"balance": _money(account.balance)})
            raise ValueError(f"unknown operation {operation!r}")

    # ----- authorisation and blocks --------------------------------------------------------------

    def _check_ip(self, ip: str, now: float) -> None:
        until = self._blocked_until.get(ip)
        if until is not None:
            if now < until:
                raise IpBlocked(f"IP {ip} is blocked after repeated authorisation failures")
            del self._blocked_until[ip]

    def _authenticate(self, fields: Mapping[str, str | None], ip: str, now: float) -> Account:
        apikey = fields.get("apikey") or ""
        login = fields.get("login") or ""
        psw = fields.get("psw") or ""
        if apikey:
            for account in self.accounts.values():
                if account.apikey is not None and account.apikey == apikey:
                    return account
        elif login:
            found = self.accounts.get(login)
            if found is not None and found.password_matches(psw):
                return found
        failures = self._auth_failures.setdefault(ip, deque())
        failures.append(now)
        while failures and failures[0] <= now - self.limits.auth_window:
            failures.popleft()
        if len(failures) >= self.limits.auth_failures:
            self._blocked_until[ip] = now + self.limits.block_seconds
            failures.clear()
        raise BadCredentials("wrong login, password or API key")

    def _rate(self, key: tuple[str, ...], limit: int, now: float) -> None:
        times = self._rates.setdefault(key, deque())
        while times and times[0] <= now - 60.0:
            times.popleft()
        if len(times) >= limit:
            raise TooManyRequests(f"more than {limit} such requests within a minute")
        times.append(now)
        if len(self._rates) > _PRUNE_AT:
            self._rates = {k: t for k, t in self._rates.items() if t and t[-1] > now - 60.0}

    # ----- send and cost -------------------------------------------------------------------------

    def _batches(
        self, fields: Mapping[str, str | None], query: Mapping[str, str], *, use_sender: bool
    ) -> list[_Batch]:
        sender = (fields.get("sender") or None) if use_sender else None
        sender = query.get("sender") or sender
        tz = query.get("tz")
        listing = query.get("list")
        if not listing:
            return [_Batch(sender, tz, fields.get("phones") or "", fields.get("mes") or "")]
        batches = []
        for line in listing.replace("\r\n", "\n").split("\n"):
            if not line.strip():
                continue
            line_sender, line_tz = sender, tz
            head, bar, rest = line.partition("|")
            if bar and ":" not in head:
                name, _, zone = head.partition(",")
                line_sender, line_tz = name.strip() or sender, zone.strip() or tz
                line = rest
            phones, colon, mes = line.partition(":")
            if not colon:
                raise BadParameters(f"list line {line[:40]!r} has no 'phones:mes' separator")
            batches.append(_Batch(line_sender, line_tz, phones, mes.replace("\\n", "\n")))
        if not batches:
            raise BadParameters("list is empty")
        return batches

    def _recipients(self, account: Account, phones: str, parts: int) -> list[Recipient]:
        items = _split_phones(phones)
        if not items:
            raise BadParameters("phones is empty")
        recipients: list[Recipient] = []
        for item in items:
            phone = normalize_phone(item)
            if phone is None:
                recipients.append(
                    Recipient(
                        item,
                        Decimal(0),
                        int(MessageStatus.WRONG_NUMBER),
                        int(DeliveryError.INVALID_NUMBER_FORMAT),
                    )
                )
                continue
            outcome = _TEST_OUTCOMES.get(phone[-3:]) if phone.startswith(TEST_PREFIX) else None
            cost = account.tariff.price(phone) * parts
            if outcome is None:
                recipients.append(Recipient(phone, cost))
            elif outcome[0] is not None:
                recipients.append(Recipient(phone, Decimal(0), outcome[0], outcome[1]))
            else:
                recipients.append(
                    Recipient(phone, cost, final_status=outcome[2], final_err=outcome[3])
                )
        return recipients

    def _check_text(self, mes: str, query: Mapping[str, str]) -> str:
        if not mes.strip() and not _text_unused(query):
            raise BadParameters("mes is empty")
        if len(mes) > MAX_MES:
            raise BadParameters(f"mes is longer than {MAX_MES} characters")
        maxsms = query.get("maxsms")
        if maxsms:
            if not maxsms.isdigit() or int(maxsms) < 1:
                raise BadParameters("maxsms must be a positive integer")
            mes = truncate_to_parts(mes, int(maxsms))
        return mes

    def _prepare(
        self,
        account: Account,
        fields: Mapping[str, str | None],
        query: Mapping[str, str],
        *,
        use_sender: bool,
    ) -> list[tuple[_Batch, str, int, list[Recipient]]]:
        prepared = []
        for batch in self._batches(fields, query, use_sender=use_sender):
            mes = self._check_text(batch.mes, query)
            # An HLR request or ping-SMS carries no text and is billed once per number.
            parts = 1 if _text_unused(query) else segments(mes).parts
            prepared.append((batch, mes, parts, self._recipients(account, batch.phones, parts)))
        return prepared

    def _cost(
        self, operation: str, account: Account, fields: Mapping[str, str | None], now: float
    ) -> Reply:
        raw_query = (fields.get("query") or "") if operation == "get_sms_cost2" else ""
        query = php_parse_str(raw_query)
        prepared = self._prepare(account, fields, query, use_sender=False)
        key = (
            "cost",
            account.login,
            fields.get("phones") or "",
            fields.get("mes") or "",
            raw_query,
        )
        self._rate(key, self.limits.cost_per_minute, now)
        return self._cost_reply(prepared)

    @staticmethod
    def _cost_reply(prepared: list[tuple[_Batch, str, int, list[Recipient]]]) -> Reply:
        accepted = [
            (parts, r) for _, _, parts, rs in prepared for r in rs if r.rejected_status is None
        ]
        if not accepted:
            first = next(r for _, _, _, rs in prepared for r in rs)
            assert first.rejected_status is not None
            raise _ALL_REJECTED[first.rejected_status]("no recipient can receive the message")
        cost = sum((r.cost for _, r in accepted), Decimal(0))
        cnt = sum(parts for parts, _ in accepted)
        return Reply({"cost": _money(cost), "cnt": str(cnt)})

    def _send(
        self, operation: str, account: Account, fields: Mapping[str, str | None], now: float
    ) -> Reply:
        raw_query = (fields.get("query") or "") if operation == "send_sms2" else ""
        query = php_parse_str(raw_query)
        mode = query.get("cost", "0" if operation == "send_sms2" else "3")
        if mode not in ("0", "1", "2", "3"):
            raise BadParameters("cost must be 0, 1, 2 or 3")
        given_id = (fields.get("id") or "").strip()
        if given_id and (
            not _ID.fullmatch(given_id)
            or (given_id.isdigit() and not 1 <= int(given_id) <= _ID_MAX)
        ):
            raise BadParameters("id must be 1..2147483647 or 1-40 of [A-Za-z0-9._-]")
        prepared = self._prepare(account, fields, query, use_sender=True)
        if mode == "1":
            key = ("cost", account.login, *(str(fields.get(name) or "") for name in _SEND_FIELDS))
            self._rate(key, self.limits.cost_per_minute, now)
            return self._cost_reply(prepared)
        key = ("send", account.login, *(str(fields.get(name) or "") for name in _SEND_FIELDS))
        last = self._recent_sends.get(key)
        if last is not None and now - last < self.limits.duplicate_window:
            raise TooManyRequests("an identical send request came less than a minute ago")
        message_id = given_id or str(next(self._ids))
        default_tz = account.tz
        send_times = []
        for batch, mes, _, _ in prepared:
            sender = batch.sender or account.default_sender
            if not account.allows_sender(sender):
                raise Forbidden(f"sender {sender!r} is not registered", id=message_id)
            lowered = mes.lower()
            if any(word in lowered for word in self.spam_words):
                raise Forbidden("the text is refused by the spam filter", id=message_id)
            tz = parse_tz(batch.tz, default_tz)
            send_times.append(parse_send_time(fields.get("time"), now=now, tz=tz))
        recipients = [r for _, _, _, rs in prepared for r in rs]
        accepted = [r for r in recipients if r.rejected_status is None]
        if not accepted:
            first = recipients[0]
            assert first.rejected_status is not None
            error = _ALL_REJECTED[first.rejected_status]
            raise error("no recipient can receive the message", id=message_id)
        total = sum((r.cost for r in accepted), Decimal(0))
        if total > account.balance:
            raise NoFunds(
                f"the send costs {total}, the balance is {account.balance}", id=message_id
            )
        account.balance -= total
        cnt = 0
        for (batch, mes, parts, rs), send_at in zip(prepared, send_times, strict=True):
            message = Message(
                id=message_id,
                login=account.login,
                recipients=tuple(rs),
                text=mes,
                parts=parts,
                cost=sum((r.cost for r in rs), Decimal(0)),
                sender=batch.sender or account.default_sender,
                created_at=now,
                send_at=send_at,
            )
            self.messages.append(message)
            self._by_id.setdefault((account.login, message_id), []).append(message)
            for listener in self.listeners:
                listener(message)
            cnt += parts * sum(1 for r in rs if r.rejected_status is None)
        self._recent_sends[key] = now
        self._forget_old_sends(now)
        reply: dict[str, str] = {"id": message_id}
        if mode == "3":
            reply["balance"] = _money(account.balance)
        if mode in ("2", "3"):
            reply["cost"] = _money(total)
        reply["cnt"] = str(cnt)
        errors: tuple[tuple[str, str], ...] = ()
        if query.get("op") == "1":
            errors = tuple(
                (r.phone, str(r.rejected_status if r.rejected_status is not None else -1))
                for r in recipients
            )
        elif query.get("err") == "1":
            errors = tuple(
                (r.phone, str(r.rejected_status))
                for r in recipients
                if r.rejected_status is not None
            )
        return Reply(reply, errors)

    def _forget_old_sends(self, now: float) -> None:
        if len(self._recent_sends) > _PRUNE_AT:
            horizon = now - self.limits.duplicate_window
            self._recent_sends = {k: t for k, t in self._recent_sends.items() if t > horizon}

    # ----- status --------------------------------------------------------------------------------

    def _get_status(self, account: Account, fields: Mapping[str, str | None], now: float) -> Reply:
        message_id = (fields.get("id") or "").strip()
        raw_phone = (fields.get("phone") or "").strip()
        detail = (fields.get("all") or "0").strip() or "0"
        if not message_id or not raw_phone or detail not in ("0", "1", "2"):
            raise BadParameters("get_status needs id and phone, and all of 0, 1 or 2")
        phone = normalize_phone(raw_phone) or raw_phone
        self._rate(("status", account.login, message_id, phone), self.limits.status_per_minute, now)
        for message in reversed(self._by_id.get((account.login, message_id), ())):
            recipient = message.recipient(phone)
            if recipient is not None:
                break
        else:
            raise MessageNotFound(f"no message {message_id} to {raw_phone}")
        status, err, changed = self._status(message, recipient, now)
        reply = {
            "status": str(status),
            "last_date": format_moscow(changed),
            "last_timestamp": str(int(changed)),
            "err": str(err),
        }
        if detail in ("1", "2"):
            reply.update(
                send_date=format_moscow(message.send_at),
                send_timestamp=str(int(message.send_at)),
                phone=recipient.phone,
                cost=_money(recipient.cost),
                sender_id=message.sender,
                status_name=STATUS_NAMES.get(status, str(status)),
                message=message.text,
            )
        if detail == "2":
            reply.update(operator="Emulator Mobile", region=_region(recipient.phone))
        return Reply(reply)


_SEND_FIELDS = ("phones", "mes", "id", "sender", "time", "query")


def _region(phone: str) -> str:
    """A plausible region for ``phone`` by its country code."""
    for prefix, region in (("380", "Україна"), ("77", "Қазақстан"), ("7", "Россия")):
        if phone.startswith(prefix):
            return region
    return "Unknown"


def _text_unused(query: Mapping[str, str]) -> bool:
    """Whether the request is an HLR query or a ping-SMS, whose ``mes`` the service does not use."""
    return query.get("hlr") == "1" or query.get("ping") == "1"
