"""The emulated service's state and rules: accounts, messages and what a request does to them.

Nothing here knows about SOAP. :meth:`Emulator.handle` takes an operation name and the request's fields
(strings, as PHP's SoapServer hands them to its handler: only the elements its WSDL declares) and returns
the reply's fields, or raises a :class:`~smsc_soap.emulator.RequestError` carrying the service's code.
The send path is split by concern: :mod:`._billing` (what a message costs), :mod:`._limits` (errors 4
and 9, the flood rule) and :mod:`._lifecycle` (statuses over time). ``docs/emulator.md`` describes every
rule, the test numbers and the assumptions made where the documents are silent.

Test numbers
------------
Numbers ``7000000`` + ``0`` + three digits (``+7 000 000 0SSS``, a range no operator uses) choose their
outcome by the last three digits; every other valid number is delivered:

======  ==========================================================  =============================
suffix  outcome                                                     when
======  ==========================================================  =============================
``003``  status 3 (expired), err 6 (subscriber not in network)       after the delivery delay
``006``  status 0 until the message's lifetime (``valid``) runs out,  then 3, err 6
``020``  status 20 (cannot be delivered), err 1 (no subscriber)      after the delivery delay
``022``  status 22 (wrong number), err 249                           at once, not sent, free
``023``  status 23 (forbidden), err 253 (spam filter)                at once, not sent, free
``024``  status 24 (insufficient funds)                              at once, not sent, free
``025``  status 25 (unavailable number), err 248 (no route)          at once, not sent, free
======  ==========================================================  =============================

A number is valid by the client's own rule (7 to 15 digits once spaces, dots, dashes and brackets are
dropped, an optional leading ``+``; a Russian ``8XXXXXXXXXX`` without ``+`` becomes ``7XXXXXXXXXX``).
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
from .._params.query import php_parse_str
from .._params.recipients import (
    PHONE_MAX_DIGITS,
    PHONE_MIN_DIGITS,
    classify_recipient,
    phone_number,
)
from .._params.segments import truncate_to_parts
from ._billing import Tariff, billed_text, money, parts_of
from ._clock import Clock, SystemClock
from ._errors import (
    BadCredentials,
    BadNumber,
    BadParameters,
    Forbidden,
    MessageNotFound,
    NoFunds,
    RequestError,
    TooManyRequests,
    Undeliverable,
)
from ._lifecycle import (
    LINGERING,
    STATUS_NAMES,
    TEST_OUTCOMES,
    TEST_PREFIX,
    Message,
    Recipient,
    status_at,
)
from ._limits import Guards, Limits
from ._times import format_moscow, parse_send_time, parse_tz

__all__ = [
    "OPERATIONS",
    "STATUS_NAMES",
    "TEST_PREFIX",
    "Account",
    "Emulator",
    "Limits",
    "Message",
    "NumberReport",
    "Recipient",
    "Reply",
    "Tariff",
    "flight_key",
    "normalize_phone",
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
#: The operations whose request carries ``query`` (and so can carry ``apikey`` inside it).
QUERY_OPERATIONS = frozenset({"send_sms2", "get_sms_cost2", "get_status2"})

MAX_MES = 1000
_KINDS = ("flash", "push", "hlr", "ping", "mms", "mail", "call", "viber", "whatsapp", "soc", "tg")

# The request error a send gets when every recipient was rejected with this status.
_ALL_REJECTED: dict[int, type[RequestError]] = {
    MessageStatus.WRONG_NUMBER: BadNumber,
    MessageStatus.FORBIDDEN: Forbidden,
    MessageStatus.INSUFFICIENT_FUNDS: NoFunds,
    MessageStatus.UNAVAILABLE_NUMBER: Undeliverable,
}

_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_ITEM_SEPARATOR = re.compile(r"[,;]")
_ID_MAX = 2147483647
_VALID_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_SENDER_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Per country code: (mcc, mnc) reported for an accepted number with op=1 (made up but well-formed).
_MCC = (("380", "255", "99"), ("77", "401", "99"), ("7", "250", "99"))


@dataclass(slots=True)
class Account:
    """A client account: login with password and/or API key, balance, tariff, senders and groups.

    ``groups`` maps a group code (``"G1"``) to its numbers; a send to ``G1`` goes to each of them.
    """

    login: str
    psw: str | None = None
    apikey: str | None = None
    balance: Decimal = Decimal("100.00")
    tariff: Tariff = field(default_factory=Tariff)
    senders: frozenset[str] = frozenset()
    default_sender: str = "SMSC.RU"
    tz: int = 0
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

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
class NumberReport:
    """One entry of a send reply's ``errors`` list: the number, its status and, for ``op=1``, details.

    ``mcc``, ``mnc``, ``cost`` and ``error`` (the delivery error of a refused number) are the data the
    SOAP page names for ``op=1`` (S:140); the wire writes them only in ``documented_fields`` mode.
    """

    phone: str
    status: str
    mcc: str | None = None
    mnc: str | None = None
    cost: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The fields of a successful reply (names as in the WSDL) and, for send_sms2, the ``errors`` list."""

    fields: dict[str, str]
    errors: tuple[NumberReport, ...] = ()


@dataclass(slots=True)
class _Line:
    """One message of a request (the request itself, or one line of ``list``), checked and priced.

    Not frozen, only because a frozen record costs twice as much to make; nothing changes one.
    """

    sender: str | None
    tz: str | None
    text: str
    parts: int
    recipients: list[Recipient]


# One message of a request as read from it, before any check: (sender, tz, phones, mes, the
# recipient items of ``phones`` when reading the list already split them, else None).
_Draft = tuple[str | None, str | None, str, str, list[str] | None]


@dataclass(frozen=True, slots=True)
class _Options:
    """The ``query`` options the model acts on, checked."""

    kind: str | None
    valid: float | None
    tinyurl: bool
    subject: str | None


def flight_key(fields: Mapping[str, str | None]) -> str | None:
    """Return the key concurrent requests are counted under: the API key, else the login."""
    return _flight_key(fields, {})


def _flight_key(fields: Mapping[str, str | None], parsed: dict[str, dict[str, str]]) -> str | None:
    """:func:`flight_key`; a ``query`` it had to parse is left in ``parsed`` (by its text)."""
    apikey = fields.get("apikey")
    if not apikey:
        raw = fields.get("query") or ""
        query = parsed[raw] = php_parse_str(raw)
        apikey = query.get("apikey")
    if apikey:
        return "apikey:" + apikey
    return fields.get("login") or None


def _plain_number(raw: str) -> bool:
    """Whether ``raw`` is a phone number in plain form, which :func:`phone_number` leaves as it is.

    A plain form is 7 to 15 ASCII digits, optionally after a ``+`` when the first digit is not 0. It
    is recognised without the rule's regular expressions; any other item goes through the rule.
    """
    if raw.isdigit():
        return PHONE_MIN_DIGITS <= len(raw) <= PHONE_MAX_DIGITS and raw.isascii()
    if not raw.startswith("+"):
        return False
    digits = raw[1:]
    return (
        digits.isdigit()
        and PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS
        and digits.isascii()
        and digits[0] != "0"
    )


def normalize_phone(raw: str) -> str | None:
    """Return a number's digits (``8XXXXXXXXXX`` made ``7XXXXXXXXXX``), or None when not a number."""
    number = raw if _plain_number(raw) else phone_number(raw)
    if number is None:
        return None
    if number.startswith("+"):
        return number[1:]
    if len(number) == 11 and number.startswith("8"):
        return "7" + number[1:]
    return number


def _recipient_list(items: list[str], kind: str | None) -> bool:
    """Whether ``items`` (of the head of a list line) name recipients: the start of a message."""
    for item in items:
        if not _names_recipient(item, kind):
            return False
    return bool(items)


def _names_recipient(item: str, kind: str | None) -> bool:
    """Whether ``item`` is a recipient of a message of ``kind`` (None, ``mail`` or ``tg``)."""
    if kind != "mail" and _plain_number(item):
        return True  # a recipient of every kind but e-mail
    return classify_recipient(item, kind) is not None


def _split_items(text: str) -> list[str]:
    if "," not in text and ";" not in text:
        item = text.strip()
        return [item] if item else []
    seen: dict[str, None] = {}
    for item in _ITEM_SEPARATOR.split(text):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def _parse_valid(text: str | None) -> float | None:
    """Return ``valid`` in seconds: 1..24 hours or ``hh:mm`` from 00:01 to 24:00 (S:128)."""
    if text is None or text.strip() == "":
        return None
    text = text.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 24:
        return int(text) * 3600.0
    match = _VALID_HHMM.fullmatch(text)
    if match is not None:
        minutes = int(match.group(1)) * 60 + int(match.group(2))
        if int(match.group(2)) <= 59 and 1 <= minutes <= 24 * 60:
            return minutes * 60.0
    raise BadParameters(f"valid must be 1..24 hours or hh:mm from 00:01 to 24:00, got {text!r}")


def _options(query: Mapping[str, str]) -> _Options:
    kinds = [name for name in _KINDS if query.get(name) == "1"]
    if query.get("bin") in ("1", "2"):
        kinds.append("bin")
    if len(kinds) > 1:
        raise BadParameters(f"one message kind per request, got {', '.join(kinds)}")
    translit = query.get("translit", "0")
    if translit not in ("0", "1", "2"):
        raise BadParameters("translit must be 0, 1 or 2")
    maxsms = query.get("maxsms")
    if maxsms and (not maxsms.isdigit() or int(maxsms) < 1):
        raise BadParameters("maxsms must be a positive integer")
    return _Options(
        kind=kinds[0] if kinds else None,
        valid=_parse_valid(query.get("valid")),
        tinyurl=query.get("tinyurl") == "1",
        subject=query.get("subj") or None,
    )


class Emulator:
    """The state of an emulated SMSC service and the rules that act on it (thread-safe).

    ``max_messages`` keeps only the latest messages (a long-running ``serve``); None keeps all.
    """

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
        max_messages: int | None = None,
    ) -> None:
        if host not in HOSTS:
            raise ValueError(f"host must be one of {', '.join(sorted(HOSTS))}")
        if max_messages is not None and max_messages < 1:
            raise ValueError("max_messages must be at least 1 (or None to keep every message)")
        self.host = host
        self.namespace = HOSTS[host].namespace
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.queue_delay = queue_delay
        self.delivery_delay = delivery_delay
        self.spam_words = tuple(word.lower() for word in spam_words)
        self.limits = limits if limits is not None else Limits()
        self.max_messages = max_messages
        self._first_id = first_id
        self._lock = threading.RLock()
        # The query in_flight() parsed, per thread, so that handle() does not parse it again.
        self._parsed = threading.local()
        self._initial: dict[str, Account] = {}
        for account in accounts:
            self._initial[account.login] = dataclasses.replace(account)
        self.accounts: dict[str, Account] = {}
        self._messages: deque[Message] = deque()
        self._by_id: dict[tuple[str, str], list[Message]] = {}
        self._clicks: dict[tuple[str, str, str], float] = {}
        self._ids: Iterator[int] = itertools.count(first_id)
        self.guards = Guards(self.limits)
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
            self._messages = deque()
            self._by_id = {}
            self._clicks = {}
            self._ids = itertools.count(self._first_id)
            self.guards.reset()

    @property
    def messages(self) -> list[Message]:
        """The messages kept, oldest first (the latest ``max_messages`` when that is set)."""
        with self._lock:
            return list(self._messages)

    def unblock(self, ip: str | None = None) -> list[str]:
        """Lift the error-4 block of ``ip`` (of every IP when None) and reset its counters.

        Returns the addresses that were blocked. ``smsc-soap serve`` exposes the same as
        ``POST /emulator/unblock`` from the local machine.
        """
        with self._lock:
            return self.guards.unblock(ip)

    def blocked(self) -> dict[str, float]:
        """Return the blocked IPs with the Unix time each block ends."""
        with self._lock:
            now = self.clock.now()
            return {
                ip: until for ip, (until, _) in self.guards.blocked_until.items() if until > now
            }

    def sizes(self) -> dict[str, int]:
        """Return how many entries each internal table holds (for tests of bounded memory)."""
        with self._lock:
            self.guards.recent_sends.expire(self.clock.now())
            sizes = dict(self.guards.sizes())
            sizes["messages"] = len(self._messages)
            sizes["ids"] = len(self._by_id)
            return sizes

    # ----- concurrency ---------------------------------------------------------------------------

    @contextmanager
    def in_flight(self, fields: Mapping[str, str | None]) -> Iterator[bool]:
        """Count a request (by its API key, else login) as in flight; yield whether it is one too many.

        The count is taken on arrival, so of 16 simultaneous requests the 15th and 16th are refused.
        Pass the yielded value to :meth:`handle` as ``crowded``.
        """
        parsed: dict[str, dict[str, str]] = {}
        key = _flight_key(fields, parsed)
        self._parsed.query = parsed.popitem() if parsed else None
        if not key:
            yield False
            return
        with self._lock:
            count = self.guards.enter(key)
        try:
            yield count >= self.limits.concurrent
        finally:
            with self._lock:
                self.guards.leave(key)

    # ----- statuses ------------------------------------------------------------------------------

    def status_of(self, message: Message, phone: str) -> tuple[int, int, float]:
        """Return (status, err, time of the last change) of ``message`` to ``phone`` right now."""
        recipient = message.recipient(phone)
        if recipient is None:
            raise KeyError(phone)
        with self._lock:
            return self._status(message, recipient, self.clock.now())

    def status_at(self, message: Message, phone: str, when: float) -> tuple[int, int, float]:
        """Return (status, err, time of the last change) of ``message`` to ``phone`` at ``when``."""
        recipient = message.recipient(phone)
        if recipient is None:
            raise KeyError(phone)
        with self._lock:
            return self._status(message, recipient, when)

    def _status(self, message: Message, recipient: Recipient, now: float) -> tuple[int, int, float]:
        return status_at(
            message,
            recipient,
            now,
            queue_delay=self.queue_delay,
            delivery_delay=self.delivery_delay,
            clicked_at=self._clicks.get((message.login, message.id, recipient.phone)),
        )

    def click_link(self, message_id: str, phone: str, *, login: str | None = None) -> None:
        """Follow the short link of a delivered ``tinyurl=1`` message: its status becomes 4 from now.

        Raises ValueError when no such message exists, it was not sent with ``tinyurl=1``, its text
        has no link, or it is not delivered (yet).
        """
        with self._lock:
            now = self.clock.now()
            target = normalize_phone(phone) or phone
            owners = [login] if login is not None else list(self.accounts)
            for owner in owners:
                for message in reversed(self._by_id.get((owner, message_id), ())):
                    recipient = message.recipient(target)
                    if recipient is None:
                        continue
                    if not message.tinyurl or not _LINK.search(message.text):
                        raise ValueError(
                            f"message {message_id} was not sent with tinyurl=1 and a link"
                        )
                    status, _, _ = self._status(message, recipient, now)
                    if status != MessageStatus.DELIVERED:
                        raise ValueError(
                            f"message {message_id} to {phone} is in status {status}, "
                            "a link is followed only once delivered (1)"
                        )
                    self._clicks[(owner, message_id, target)] = now
                    return
            raise ValueError(f"no message {message_id} to {phone}")

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
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        with self._lock:
            now = self.clock.now()
            self.guards.check_ip(ip, now)
            try:
                reply = self._dispatch(operation, fields, ip, now, crowded)
            except RequestError:
                self.guards.request_failed(ip, now)
                raise
            self.guards.request_succeeded(ip)
            return reply

    def _dispatch(
        self,
        operation: str,
        fields: Mapping[str, str | None],
        ip: str,
        now: float,
        crowded: bool,
    ) -> Reply:
        raw_query = (fields.get("query") or "") if operation in QUERY_OPERATIONS else ""
        query = self._parse_query(raw_query)
        account = self._authenticate(fields, query, ip, now)
        if crowded:
            raise TooManyRequests(f"{self.limits.concurrent}+ concurrent requests for a login")
        if operation in ("send_sms", "send_sms2"):
            return self._send(account, fields, query, now)
        if operation in ("get_sms_cost", "get_sms_cost2"):
            return self._cost(account, fields, query, raw_query, now)
        if operation in ("get_status", "get_status2"):
            return self._get_status(account, fields, now)
        self.guards.rate(("balance", account.login), self.limits.balance_per_minute, now)
        return Reply({"balance": money(account.balance)})

    def _parse_query(self, raw: str) -> dict[str, str]:
        """Return ``raw`` parsed, reusing what :meth:`in_flight` parsed of the same text on this thread."""
        parsed: tuple[str, dict[str, str]] | None = getattr(self._parsed, "query", None)
        if parsed is not None:
            self._parsed.query = None
            if parsed[0] is raw:
                return parsed[1]
        return php_parse_str(raw)

    # ----- authorisation -------------------------------------------------------------------------

    def _authenticate(
        self, fields: Mapping[str, str | None], query: Mapping[str, str], ip: str, now: float
    ) -> Account:
        apikey = fields.get("apikey") or query.get("apikey") or ""
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
        self.guards.auth_failed(ip, now)
        if apikey:
            raise BadCredentials("unknown API key")
        if not login:
            raise BadCredentials("no login and no API key")
        raise BadCredentials(f"wrong login or password for {login!r}")

    # ----- composing a message -------------------------------------------------------------------

    def _lines(
        self, fields: Mapping[str, str | None], query: Mapping[str, str], *, use_sender: bool
    ) -> list[_Draft]:
        """Return (sender, tz, phones, mes, items) of each message of the request (one, or one per
        list line); ``items`` are the split ``phones`` when reading the list needed them, else None."""
        sender = (fields.get("sender") or None) if use_sender else None
        sender = query.get("sender") or sender
        tz = query.get("tz")
        listing = query.get("list")
        if not listing:
            return [(sender, tz, fields.get("phones") or "", fields.get("mes") or "", None)]
        lines: list[_Draft] = []
        # S:121: with nl=1 texts hold real newlines. Assumed reading (the page does not say more): a
        # line that starts with a 'sender|' prefix or with recipients and ':'/';' starts a message;
        # any other line continues the previous message's text. Without nl, "\n" is a newline.
        multiline = query.get("nl") == "1"
        kind = next((k for k in ("mail", "tg") if query.get(k, "0") not in ("", "0")), None)
        for raw_line in listing.replace("\r\n", "\n").split("\n"):
            line = raw_line
            line_sender, line_tz = sender, tz
            head, bar, rest = line.partition("|")
            prefixed = bool(bar) and ":" not in head and ";" not in head
            if prefixed:
                name, _, zone = head.partition(",")
                line_sender, line_tz = name.strip() or sender, zone.strip() or tz
                line = rest
            # S:117: numbers and text are separated by a colon or a semicolon, whichever comes first.
            colon, semicolon = line.find(":"), line.find(";")
            cut = semicolon if colon < 0 or 0 <= semicolon < colon else colon
            phones = line[:cut]
            items = _split_items(phones) if cut >= 0 and not prefixed else None
            starts = prefixed or (items is not None and _recipient_list(items, kind))
            if multiline and lines and not starts:
                last = lines[-1]
                lines[-1] = (last[0], last[1], last[2], f"{last[3]}\n{raw_line}", last[4])
                continue
            if not raw_line.strip():
                continue
            if cut < 0:
                raise BadParameters(f"list line {line[:40]!r} has no 'phones:mes' separator")
            mes = line[cut + 1 :]
            if not multiline:
                mes = mes.replace("\\n", "\n")
            lines.append((line_sender, line_tz, phones, mes, items))
        if not lines:
            raise BadParameters("list is empty")
        return lines

    def _check_text(self, mes: str, query: Mapping[str, str], options: _Options) -> str:
        kind = options.kind
        blank = not mes.strip()
        if kind == "mail" and (blank or not options.subject):
            raise BadParameters("an e-mail needs a subject (subj), a text and a sender address")
        if kind == "mms" and blank and not options.subject:
            raise BadParameters("an MMS needs a subject (subj) or a text")
        if blank and kind not in ("hlr", "ping", "mms"):
            raise BadParameters("mes is empty")
        if len(mes) > MAX_MES:
            raise BadParameters(f"mes is longer than {MAX_MES} characters")
        mes = billed_text(mes, query)
        maxsms = query.get("maxsms")
        if maxsms:
            mes = truncate_to_parts(mes, int(maxsms))
        return mes

    def _recipients(
        self, account: Account, items: list[str], parts: int, kind: str | None
    ) -> list[Recipient]:
        if not items:
            raise BadParameters("phones is empty")
        recipients: list[Recipient] = []
        for item in items:
            members = account.groups.get(item) if item.startswith("G") else None
            for member in members if members is not None else (item,):
                recipients.append(self._recipient(account, member, parts, kind))
        return recipients

    @staticmethod
    def _recipient(account: Account, item: str, parts: int, kind: str | None) -> Recipient:
        if kind in ("mail", "tg"):
            value = classify_recipient(item, kind, groups=False)
            if value is None:
                return _wrong_number(item)
            phone = normalize_phone(value)
            if phone is None:  # an e-mail address, a Telegram nickname or #ID
                return Recipient(value, account.tariff.price_per_part * parts)
        else:
            phone = normalize_phone(item)
            if phone is None:
                return _wrong_number(item)
        cost = account.tariff.price(phone) * parts
        outcome = TEST_OUTCOMES.get(phone[-3:]) if phone.startswith(TEST_PREFIX) else None
        if outcome is None:
            return Recipient(phone, cost)
        if outcome[0] is not None:
            return Recipient(phone, Decimal(0), outcome[0], outcome[1])
        return Recipient(
            phone,
            cost,
            final_status=outcome[2],
            final_err=outcome[3],
            lingers=phone.endswith(LINGERING),
        )

    def _compose(
        self,
        account: Account,
        fields: Mapping[str, str | None],
        query: Mapping[str, str],
        options: _Options,
        *,
        use_sender: bool,
    ) -> list[_Line]:
        lines = []
        kind = options.kind
        for sender, tz, phones, raw_mes, items in self._lines(fields, query, use_sender=use_sender):
            text = self._check_text(raw_mes, query, options)
            parts = parts_of(text, kind)
            if items is None:
                items = _split_items(phones)
            recipients = self._recipients(account, items, parts, kind)
            lines.append(_Line(sender, tz, text, parts, recipients))
        return lines

    # ----- cost ----------------------------------------------------------------------------------

    def _cost(
        self,
        account: Account,
        fields: Mapping[str, str | None],
        query: Mapping[str, str],
        raw_query: str,
        now: float,
    ) -> Reply:
        lines = self._compose(account, fields, query, _options(query), use_sender=False)
        key = (
            "cost",
            account.login,
            fields.get("phones") or "",
            fields.get("mes") or "",
            raw_query,
        )
        self.guards.rate(key, self.limits.cost_per_minute, now)
        return _cost_reply(lines)

    # ----- send ----------------------------------------------------------------------------------

    def _send(
        self,
        account: Account,
        fields: Mapping[str, str | None],
        query: Mapping[str, str],
        now: float,
    ) -> Reply:
        # The documented default is cost=0 for every send (S:113); send_sms has no query at all.
        mode = query.get("cost", "0")
        if mode not in ("0", "1", "2", "3"):
            raise BadParameters("cost must be 0, 1, 2 or 3")
        given_id = (fields.get("id") or "").strip()
        if given_id and (
            not _ID.fullmatch(given_id)
            or (given_id.isdigit() and not 1 <= int(given_id) <= _ID_MAX)
        ):
            raise BadParameters("id must be 1..2147483647 or 1-40 of [A-Za-z0-9._-]")
        options = _options(query)
        lines = self._compose(account, fields, query, options, use_sender=True)
        key = ("send", account.login, *(str(fields.get(name) or "") for name in _SEND_FIELDS))
        if mode == "1":
            self.guards.rate(("cost", *key[1:]), self.limits.cost_per_minute, now)
            return _cost_reply(lines)
        self.guards.check_duplicate(key, now)
        message_id = given_id or str(next(self._ids))
        lines = self._admit(account, lines, options, message_id, len(lines) > 1 or "list" in query)
        send_time = fields.get("time")
        times_by_tz: dict[str | None, float] = {}  # the lines of a list mostly share one tz
        send_times = []
        for line in lines:
            send_at = times_by_tz.get(line.tz)
            if send_at is None:
                tz = parse_tz(line.tz, account.tz)
                send_at = times_by_tz[line.tz] = parse_send_time(send_time, now=now, tz=tz)
            send_times.append(send_at)
        lines = [self._flood_check(account, line, now) for line in lines]
        recipients = [r for line in lines for r in line.recipients]
        accepted = [r for r in recipients if r.rejected_status is None]
        if not accepted:
            first = recipients[0]
            assert first.rejected_status is not None
            error = _ALL_REJECTED[first.rejected_status]
            raise error(_rejection_reason(first), id=message_id)
        total = sum((r.cost for r in accepted), Decimal(0))
        if total > account.balance:
            raise NoFunds(
                f"the send costs {total}, the balance is {account.balance}", id=message_id
            )
        account.balance -= total
        for line, send_at in zip(lines, send_times, strict=True):
            self._store(account, line, message_id, options, now, send_at)
        self.guards.recent_sends.touch(key, now)
        return _send_reply(query, mode, message_id, account, lines, total)

    def _admit(
        self,
        account: Account,
        lines: list[_Line],
        options: _Options,
        message_id: str,
        listed: bool,
    ) -> list[_Line]:
        """Apply the sender and spam rules: a forbidden single message is error 6; in a list, the
        forbidden line's numbers get status 23 (err 254 sender, 253 text) and the other lines go."""
        admitted = []
        for line in lines:
            reason, err = self._forbidden(account, line, options)
            if reason is None:
                admitted.append(line)
                continue
            if not listed:
                raise Forbidden(reason, id=message_id)
            refused = [
                r
                if r.rejected_status is not None
                else Recipient(r.phone, Decimal(0), int(MessageStatus.FORBIDDEN), err)
                for r in line.recipients
            ]
            admitted.append(dataclasses.replace(line, recipients=refused))
        return admitted

    def _forbidden(
        self, account: Account, line: _Line, options: _Options
    ) -> tuple[str | None, int]:
        sender = line.sender or account.default_sender
        if options.kind == "mail":
            # The From address of an e-mail needs no registration (S:111 asks only that it is given).
            if not line.sender or not _SENDER_EMAIL.fullmatch(line.sender):
                raise BadParameters("an e-mail needs the sender's e-mail address as sender")
        elif options.kind not in ("tg", "hlr", "ping") and not account.allows_sender(sender):
            return f"sender {sender!r} is not registered", int(DeliveryError.UNREGISTERED_SENDER_ID)
        lowered = line.text.lower()
        for word in self.spam_words:
            if word in lowered:
                return "the text is refused by the spam filter", int(DeliveryError.SPAM_FILTER)
        return None, 0

    def _flood_check(self, account: Account, line: _Line, now: float) -> _Line:
        """Block, with status 23 and err 251, the numbers this account sent too many messages in a row."""
        flood, login = self.guards.flood, account.login
        checked: list[Recipient] | None = None  # a copy, made once a recipient is blocked
        for index, r in enumerate(line.recipients):
            if r.rejected_status is None and flood(f"{login} {r.phone}", now):
                if checked is None:
                    checked = line.recipients[:index]
                checked.append(
                    Recipient(
                        r.phone,
                        Decimal(0),
                        int(MessageStatus.FORBIDDEN),
                        int(DeliveryError.PER_NUMBER_LIMIT_EXCEEDED),
                    )
                )
            elif checked is not None:
                checked.append(r)
        if checked is None:
            return line
        return _Line(line.sender, line.tz, line.text, line.parts, checked)

    def _store(
        self,
        account: Account,
        line: _Line,
        message_id: str,
        options: _Options,
        now: float,
        send_at: float,
    ) -> None:
        recipients = line.recipients
        cost = Decimal(0)
        for r in recipients:
            if r.rejected_status is None:
                cost += r.cost
        message = Message(  # by position: keyword arguments make a frozen record slower still
            message_id,  # id
            account.login,  # login
            tuple(recipients),  # recipients
            line.text,  # text
            line.parts,  # parts
            cost,  # cost
            line.sender or account.default_sender,  # sender
            now,  # created_at
            send_at,  # send_at
            options.kind,  # kind
            options.valid,  # valid
            options.tinyurl,  # tinyurl
            options.subject,  # subject
        )
        self._messages.append(message)
        key = (account.login, message_id)
        bucket = self._by_id.get(key)
        if bucket is None:
            bucket = self._by_id[key] = []
        bucket.append(message)
        for listener in self.listeners:
            listener(message)
        if self.max_messages is not None and len(self._messages) > self.max_messages:
            old = self._messages.popleft()
            key = (old.login, old.id)
            bucket = self._by_id.get(key)
            if bucket:
                bucket.remove(old)
                if not bucket:
                    del self._by_id[key]
                    for phone in old.phones:
                        self._clicks.pop((old.login, old.id, phone), None)

    # ----- status --------------------------------------------------------------------------------

    def _get_status(self, account: Account, fields: Mapping[str, str | None], now: float) -> Reply:
        message_id = (fields.get("id") or "").strip()
        raw_phone = (fields.get("phone") or "").strip()
        detail = (fields.get("all") or "0").strip() or "0"
        if not message_id or not raw_phone or detail not in ("0", "1", "2"):
            raise BadParameters("get_status needs id and phone, and all of 0, 1 or 2")
        phone = normalize_phone(raw_phone) or raw_phone
        key = ("status", account.login, message_id, phone)
        self.guards.rate(key, self.limits.status_per_minute, now)
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
                cost=money(recipient.cost),
                sender_id=message.sender,
                status_name=STATUS_NAMES.get(status, str(status)),
                message=message.text,
                sms_cnt=str(message.parts),
            )
        if detail == "2":
            reply.update(operator="Emulator Mobile", region=_region(recipient.phone))
        return Reply(reply)


_SEND_FIELDS = ("phones", "mes", "id", "sender", "time", "query")


def _wrong_number(item: str) -> Recipient:
    """The recipient an item that is no number becomes: status 22, err 249, free."""
    return Recipient(
        item, Decimal(0), int(MessageStatus.WRONG_NUMBER), int(DeliveryError.INVALID_NUMBER_FORMAT)
    )


def _cost_reply(lines: list[_Line]) -> Reply:
    accepted = [
        (line.parts, r) for line in lines for r in line.recipients if r.rejected_status is None
    ]
    if not accepted:
        first = next(r for line in lines for r in line.recipients)
        assert first.rejected_status is not None
        raise _ALL_REJECTED[first.rejected_status](_rejection_reason(first))
    cost = sum((r.cost for _, r in accepted), Decimal(0))
    cnt = sum(parts for parts, _ in accepted)
    return Reply({"cost": money(cost), "cnt": str(cnt)})


def _send_reply(
    query: Mapping[str, str],
    mode: str,
    message_id: str,
    account: Account,
    lines: list[_Line],
    total: Decimal,
) -> Reply:
    reply: dict[str, str] = {"id": message_id}
    if mode == "3":
        reply["balance"] = money(account.balance)
    if mode in ("2", "3"):
        reply["cost"] = money(total)
    cnt = sum(line.parts for line in lines for r in line.recipients if r.rejected_status is None)
    reply["cnt"] = str(cnt)
    recipients = [r for line in lines for r in line.recipients]
    errors: tuple[NumberReport, ...] = ()
    if query.get("op") == "1":
        errors = tuple(_report(r) for r in recipients)
    elif query.get("err") == "1":
        errors = tuple(
            NumberReport(r.phone, str(r.rejected_status))
            for r in recipients
            if r.rejected_status is not None
        )
    return Reply(reply, errors)


def _report(recipient: Recipient) -> NumberReport:
    """The op=1 entry of a number: status 0 and its network for an accepted one, else the refusal."""
    if recipient.rejected_status is not None:
        return NumberReport(
            recipient.phone,
            str(recipient.rejected_status),
            mcc="0",
            mnc="0",
            cost="0.00",
            error=str(recipient.rejected_err),
        )
    mcc, mnc = next(((c, n) for p, c, n in _MCC if recipient.phone.startswith(p)), ("0", "0"))
    return NumberReport(recipient.phone, "0", mcc, mnc, money(recipient.cost), "0")


def _rejection_reason(recipient: Recipient) -> str:
    status = recipient.rejected_status
    if status == MessageStatus.WRONG_NUMBER:
        return f"{recipient.phone!r} is not a valid recipient (7-15 digits, optional +)"
    if recipient.rejected_err == DeliveryError.PER_NUMBER_LIMIT_EXCEEDED:
        return f"flood rule: too many messages to {recipient.phone} less than 2 minutes apart"
    return f"no recipient can receive the message (status {status})"


def _region(phone: str) -> str:
    """A plausible region for ``phone`` by its country code."""
    for prefix, region in (("380", "Україна"), ("77", "Қазақстан"), ("7", "Россия")):
        if phone.startswith(prefix):
            return region
    return "Unknown"
