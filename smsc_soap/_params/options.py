"""``SendOptions``: every extra parameter of send_sms2, get_sms_cost2 and get_status2, typed and checked.

Each field is one parameter of the service's ``query`` string, under the same name (``delete`` is sent as
``del``). ``None`` means "not sent", so the service's (or the account's) default applies. Values are checked
when the object is built, so a mistake raises :class:`SmscValidationError` naming the option before any
request exists; rules that depend on the operation are checked by :meth:`SendOptions.validate`.
"""

from __future__ import annotations

import builtins
import functools
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import urlsplit

from .._exceptions import SmscValidationError
from .listmsg import ListMessage, encode_list
from .text import check_text
from .timefmt import format_tz, format_valid

__all__ = ["KINDS", "SendOptions", "check_query_options", "make_options", "query_kind"]

#: The message kinds; at most one may be chosen per request (``bin`` counts when 1 or 2).
KINDS: Final = (
    "flash",
    "bin",
    "push",
    "hlr",
    "ping",
    "mms",
    "mail",
    "call",
    "viber",
    "whatsapp",
    "soc",
    "tg",
)
VOICES: Final = ("m", "m2", "m3", "m4", "w", "w2", "w3", "w4")

_VOICE = re.compile(r"(m|m2|m3|m4|w|w2|w3|w4)(?:, ?([a-z]{2}))?\Z")
_PARAM = re.compile(r"(\d{1,2}),(\d{1,4}),(\d)\Z")
_BOT = re.compile(r"@[A-Za-z][A-Za-z0-9_]{1,29}[Bb][Oo][Tt]\Z")
_IMGCODE = re.compile(r"[A-Za-z0-9]{1,32}\Z")
_PP = re.compile(r"[1-9][0-9]{0,18}\Z")
_MAX_URL = 2000
_MAX_SUBJ = 1000

ListArg = str | Sequence[ListMessage | tuple[Any, ...]]
ParamArg = str | tuple[int, int, int]
Number = int | float | Decimal

_STATUS_ONLY: Final = frozenset({"delete"})
_NOT_FOR_COST: Final = frozenset({"cost"})


def _fail(name: str, allowed: str) -> SmscValidationError:
    return SmscValidationError(f"option {name!r} must be {allowed}", field=name)


def _flag(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) and value in (0, 1):
        return str(value)
    raise _fail(name, "True/False (or 0/1)")


def _choice(name: str, value: object, low: int, high: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(name, f"an int from {low} to {high}")
    return str(value)


def _period(value: object) -> str:
    if isinstance(value, timedelta):
        value = Decimal(str(value.total_seconds())) / 3600
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _fail("period", "a number of hours from 0.1 to 720 (or a timedelta)")
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:  # pragma: no cover - every int/float/Decimal converts
        raise _fail("period", "a number of hours from 0.1 to 720") from None
    if not number.is_finite() or not Decimal("0.1") <= number <= 720:
        raise _fail("period", "a number of hours from 0.1 to 720")
    text = format(number.normalize(), "f")
    if len(text.partition(".")[2]) > 4:
        raise _fail("period", "a number of hours from 0.1 to 720 with at most 4 decimals")
    return text


def _freq(value: object) -> str:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds % 60:
            raise _fail("freq", "whole minutes from 1 to 1440")
        value = int(seconds) // 60
    return _choice("freq", value, 1, 1440)


def _voice(value: object) -> str:
    text = check_text(value, "voice", single_line=True) if isinstance(value, str) else None
    match = _VOICE.match(text.strip()) if text is not None else None
    if match is None:
        raise _fail(
            "voice",
            f"one of {', '.join(VOICES)}, optionally with a two-letter language ('m,en', 'w,fr')",
        )
    voice, language = match.groups()
    return voice if language is None else f"{voice},{language}"


def _param(value: object) -> str:
    if isinstance(value, str):
        match = _PARAM.match(value.replace(" ", ""))
        parts: tuple[object, ...] = tuple(int(g) for g in match.groups()) if match else ()
    elif isinstance(value, tuple):
        parts = value
    else:
        parts = ()
    allowed = "'w,i,n' or (w, i, n): wait 0..99 s, retry interval 0..3600 s, attempts 0..9"
    if len(parts) != 3 or any(isinstance(p, bool) or not isinstance(p, int) for p in parts):
        raise _fail("param", allowed)
    wait, interval, attempts = parts
    assert isinstance(wait, int) and isinstance(interval, int) and isinstance(attempts, int)
    if not (0 <= wait <= 99 and 0 <= interval <= 3600 and 0 <= attempts <= 9):
        # Out-of-range values make the service silently reset all three to its defaults.
        raise _fail("param", allowed)
    return f"{wait},{interval},{attempts}"


def _url(value: object) -> str:
    text = check_text(value, "fileurl", single_line=True, max_length=_MAX_URL)
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in text)
    ):
        raise _fail("fileurl", "an absolute http:// or https:// URL without spaces")
    return text


def _userip(value: object) -> str:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            pass
    raise _fail("userip", "an IPv4 or IPv6 address")


def _pp(value: object) -> str:
    if isinstance(value, bool):
        raise _fail("pp", "a partner id (a positive integer)")
    text = str(value) if isinstance(value, int) else value
    if not isinstance(text, str) or not _PP.match(text):
        raise _fail("pp", "a partner id (a positive integer)")
    return text


def _cost(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value == 1:
        raise SmscValidationError(
            "option 'cost' must be 0, 2 or 3: cost=1 only asks the price and sends nothing; "
            "ask it with get_sms_cost2",
            field="cost",
        )
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 2, 3):
        raise _fail("cost", "0, 2 or 3 (1 sends nothing: ask the price with get_sms_cost2)")
    return str(value)


def _text_option(name: str, value: object, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _fail(name, allowed)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class SendOptions:
    """The typed extra parameters of send_sms2 / get_sms_cost2 / get_status2; ``None`` means "not sent"."""

    translit: int | None = None
    """0 as is, 1 transliterate to Latin ("translit"), 2 to Latin "MPOPOBO" style."""
    tz: int | timedelta | None = None
    """Zone of an absolute ``time`` in hours relative to Moscow (-15..11), or a timedelta UTC offset."""
    period: Number | timedelta | None = None
    """Spread the mailing over this many hours (0.1..720); used with ``freq``."""
    freq: int | timedelta | None = None
    """Minutes (1..1440) between the batches of a spread mailing; requires ``period``."""
    flash: bool | None = None
    """Flash SMS, shown at once on the screen."""
    bin: int | None = None
    """Binary SMS: 1 raw bytes in ``mes`` (with UDH), 2 the same as a hex string."""
    push: bool | None = None
    """WAP-push: ``mes`` holds the link, a newline, then the title."""
    hlr: bool | None = None
    """HLR request per number instead of an SMS (``mes`` is not used)."""
    ping: bool | None = None
    """Invisible ping SMS to check reachability (``mes`` is not used)."""
    mms: bool | None = None
    """MMS; needs ``subj`` or a text."""
    mail: bool | None = None
    """E-mail: recipients are e-mail addresses; needs ``subj``, a text and a sender address."""
    soc: bool | None = None
    """Message to social-network users (Odnoklassniki, VKontakte, Mail.Ru Agent)."""
    viber: bool | None = None
    """Viber message."""
    whatsapp: bool | None = None
    """WhatsApp message."""
    tg: bool | None = None
    """Telegram message carrying the code in ``mes``; recipients may be phones, nicknames or #ID."""
    bot: str | None = None
    """Telegram bot to send from, ``@name_bot``; needs ``tg``."""
    smsreq: int | None = None
    """Days (10..999) after the last phone confirmation before the text is hidden behind a warning."""
    fileurl: str | None = None
    """Full http(s) URL of a file (at least 101 bytes) the service downloads and attaches."""
    call: bool | None = None
    """Voice call reading the text (or playing attached files)."""
    voice: str | None = None
    """Voice for ``call``: m, m2, m3 (default), m4, w, w2, w3, w4, optionally ',<language>' ('w,fr')."""
    param: ParamArg | None = None
    """Voice call settings (wait 0..99 s, retry interval 0..3600 s, attempts 0..9); needs ``call``."""
    subj: str | None = None
    """Subject of an MMS or e-mail."""
    cost: int | None = None
    """0 send, 2 send and return the cost, 3 (send_sms2's default) also return the new balance.

    1 ("only ask the cost, send nothing") is refused: a send must send; ask with get_sms_cost2."""
    list: ListArg | None = None
    """Different texts for different numbers: ListMessage items, (phones, mes) pairs, or a ready string."""
    valid: int | str | timedelta | None = None
    """Lifetime of the SMS: 1..24 hours, or 'hh:mm' from 00:01 to 24:00."""
    tinyurl: bool | None = None
    """Shorten links in the text (and count clicks)."""
    maxsms: int | None = None
    """Cut a long text so that it takes at most this many SMS parts (>= 1)."""
    imgcode: str | None = None
    """The captcha code the end user typed (anti-spam check); needs ``userip``."""
    userip: str | None = None
    """The end user's IP address, for the per-IP daily limit of the account."""
    err: bool | None = None
    """Add the list of failed numbers to the reply."""
    op: bool | None = None
    """Add every number with its status, operator codes and cost to the reply."""
    pp: int | str | None = None
    """Partner id to credit this one request to."""
    nl: bool | None = None
    """Multi-line mode for a ready-made ``list`` string whose texts hold real newlines."""
    delete: bool | None = None
    """get_status2 only: delete the message after reading its status (sent as ``del``)."""
    _query_cache: dict[str, str] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.list, builtins.list):
            object.__setattr__(self, "list", tuple(self.list))
        self._encoded()  # every per-option check
        chosen = self.kinds()
        if len(chosen) > 1:
            raise SmscValidationError(
                f"options {', '.join(repr(k) for k in chosen)} are message kinds and exclude each "
                f"other: choose one of {', '.join(KINDS)}",
                field=chosen[1],
            )
        kind = chosen[0] if chosen else None
        if self.freq is not None and self.period is None:
            raise SmscValidationError(
                "option 'freq' needs 'period': without it the service ignores freq",
                field="freq",
            )
        if self.imgcode is not None and self.userip is None:
            raise SmscValidationError("option 'imgcode' needs 'userip'", field="imgcode")
        for name in ("voice", "param"):
            if getattr(self, name) is not None and kind != "call":
                raise SmscValidationError(
                    f"option {name!r} applies to voice messages only: set call=True", field=name
                )
        if self.bot is not None and kind != "tg":
            raise SmscValidationError(
                "option 'bot' applies to Telegram messages only: set tg=True", field="bot"
            )
        if self.subj is not None and kind not in ("mms", "mail"):
            raise SmscValidationError(
                "option 'subj' applies to MMS and e-mail only: set mms=True or mail=True",
                field="subj",
            )
        if self.nl and self.list is None:
            raise SmscValidationError("option 'nl' applies to 'list' only", field="nl")
        if kind == "mail" and self.subj is None:
            raise SmscValidationError(
                "option 'subj' is required for e-mail (mail=True)", field="subj"
            )

    def kinds(self) -> builtins.list[str]:
        """Return the message kinds switched on (at most one in a valid object)."""
        chosen = []
        for name in KINDS:
            value = getattr(self, name)
            if value is not None and value is not False and value != 0:
                chosen.append(name)
        return chosen

    @property
    def kind(self) -> str | None:
        """The message kind switched on (``"hlr"``, ``"mail"``, …), or None for a plain SMS."""
        chosen = self.kinds()
        return chosen[0] if chosen else None

    def validate(self, operation: str) -> None:
        """Check the rules that depend on the operation (send_sms2, get_sms_cost2 or get_status2)."""
        set_names = [name for name in OPTION_NAMES if getattr(self, name) is not None]
        if operation == "get_status2":
            bad = [n for n in set_names if n not in _STATUS_ONLY]
        elif operation == "get_sms_cost2":
            bad = [n for n in set_names if n in _STATUS_ONLY or n in _NOT_FOR_COST]
        elif operation == "send_sms2":
            bad = [n for n in set_names if n in _STATUS_ONLY]
        else:
            raise SmscValidationError(
                f"{operation} takes no options; use send_sms2, get_sms_cost2 or get_status2",
                field="options",
            )
        if bad:
            why = {
                "get_status2": "only 'delete' applies to a status request",
                "get_sms_cost2": "a cost request always asks the cost (cost=2/3 would send)",
                "send_sms2": "'delete' applies to get_status2 only",
            }[operation]
            raise SmscValidationError(
                f"option {bad[0]!r} is not allowed in {operation}: {why}", field=bad[0]
            )

    def to_query(self, operation: str | None = None) -> dict[str, str]:
        """Return the options as ``query`` key/values in the service's text forms (checked first)."""
        if operation is not None:
            self.validate(operation)
        return self._encoded()

    def _encoded(self) -> dict[str, str]:
        # Encoded once (validation in __post_init__ already did the work; a list can be large).
        cached = self._query_cache
        if cached is None:
            cached = {}
            kind = self.kind
            for name in OPTION_NAMES:
                value = getattr(self, name)
                if value is not None:
                    if name == "list":
                        cached[name] = _list(value, kind, nl=bool(self.nl))
                    else:
                        cached["del" if name == "delete" else name] = _ENCODERS[name](value, kind)
            object.__setattr__(self, "_query_cache", cached)
        return dict(cached)

    def __repr__(self) -> str:
        set_fields = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.init and getattr(self, f.name) is not None
        )
        return f"SendOptions({set_fields})"


def _list(value: object, kind: str | None, nl: bool = False) -> str:
    if isinstance(value, str):
        text = check_text(value, "list")
        lines = text.split("\n")
        # With nl=1 a text may run over several lines: only the first must start a message.
        for number, line in enumerate(lines[:1] if nl else lines, 1):
            if ":" not in line and ";" not in line:
                hint = "" if nl else "; texts with real newlines need nl=True"
                raise _fail("list", f"lines 'phones:mes' (line {number} has no ':'{hint})")
        return text
    if not isinstance(value, Sequence):
        raise _fail("list", "a sequence of ListMessage or (phones, mes) pairs, or a string")
    return encode_list(value, kind, nl=nl)


_Encoder = Any
_ENCODERS: dict[str, _Encoder] = {
    "translit": lambda v, k: _choice("translit", v, 0, 2),
    "tz": lambda v, k: format_tz(v, field="tz"),
    "period": lambda v, k: _period(v),
    "freq": lambda v, k: _freq(v),
    "bin": lambda v, k: _choice("bin", v, 0, 2),
    "bot": lambda v, k: _text_option("bot", v, _BOT, "a Telegram bot name '@name_bot'"),
    "smsreq": lambda v, k: _choice("smsreq", v, 10, 999),
    "fileurl": lambda v, k: _url(v),
    "voice": lambda v, k: _voice(v),
    "param": lambda v, k: _param(v),
    "subj": lambda v, k: check_text(v, "subj", single_line=True, max_length=_MAX_SUBJ),
    "cost": lambda v, k: _cost(v),
    "list": _list,
    "valid": lambda v, k: format_valid(v, field="valid"),
    "maxsms": lambda v, k: _choice("maxsms", v, 1, 1000),
    "imgcode": lambda v, k: _text_option(
        "imgcode", v, _IMGCODE, "the captcha code: 1 to 32 Latin letters and digits"
    ),
    "userip": lambda v, k: _userip(v),
    "pp": lambda v, k: _pp(v),
}
for _name in (*KINDS, "tinyurl", "err", "op", "nl", "delete"):
    if _name != "bin":
        _ENCODERS[_name] = functools.partial(lambda name, v, k: _flag(name, v), _name)
del _name

OPTION_NAMES: Final = tuple(f.name for f in fields(SendOptions) if f.init)


def _unknown_option_error(unknown: builtins.list[str]) -> TypeError:
    hints = []
    for name in unknown:
        import difflib  # only on this error path: keeps import time down

        close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return TypeError(
        f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
        f"valid options: {', '.join(OPTION_NAMES)}"
    )


_dataclass_init = SendOptions.__init__


@functools.wraps(_dataclass_init)
def _init(self: SendOptions, *args: Any, **kwargs: Any) -> None:
    if args:
        raise TypeError("SendOptions takes keyword arguments only")
    unknown = sorted(set(kwargs) - set(OPTION_NAMES))
    if unknown:
        raise _unknown_option_error(unknown) from None
    _dataclass_init(self, **kwargs)


SendOptions.__init__ = _init  # type: ignore[method-assign]


def make_options(options: SendOptions | None = None, /, **kwargs: Any) -> SendOptions | None:
    """Return ``options`` updated with keyword options (names checked), or None when there are none."""
    if not kwargs:
        return options
    unknown = sorted(set(kwargs) - set(OPTION_NAMES))
    if unknown:
        raise _unknown_option_error(unknown)
    if options is None:
        return SendOptions(**kwargs)
    clash = sorted(n for n in kwargs if getattr(options, n) is not None)
    if clash:
        raise SmscValidationError(
            f"option {clash[0]!r} is given both in options= and as a keyword", field=clash[0]
        )
    merged = {name: getattr(options, name) for name in OPTION_NAMES}
    merged.update(kwargs)
    return SendOptions(**merged)


_INT_TEXT = re.compile(r"[+-]?[0-9]{1,12}\Z")
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]{1,12}\.[0-9]{1,12}\Z")


def _typed_candidates(text: str) -> builtins.list[object]:
    """The Python values a raw ``query`` value may stand for, most specific first."""
    stripped = text.strip()
    if _INT_TEXT.match(stripped):
        return [int(stripped), text]
    if _DECIMAL_TEXT.match(stripped):
        return [Decimal(stripped), text]
    return [text]


def check_query_options(
    values: dict[str, str], operation: str, options: SendOptions | None
) -> None:
    """Check the keys of a raw ``query`` that are SendOptions fields as the typed keywords are checked.

    ``values`` is the decoded raw query (``del`` stands for ``delete``). Each such value must pass
    its option's check, and together with ``options`` the set must pass the cross-option rules and
    the rules of ``operation``; keys that are not options (parameters newer than this library) pass.
    """
    typed: dict[str, object] = {}
    for key, text in values.items():
        name = "delete" if key == "del" else key
        if name not in _ENCODERS or key == "delete":
            continue
        error: SmscValidationError | None = None
        nl = values.get("nl", "").strip() == "1"
        for candidate in _typed_candidates(text):
            try:
                if name == "list":
                    _list(candidate, None, nl=nl)
                else:
                    _ENCODERS[name](candidate, None)
            except SmscValidationError as exc:
                # A list is text: its own error says more than "not a sequence" for a number.
                error = exc if error is None or name == "list" else error
                continue
            typed[name] = candidate
            error = None
            break
        if error is not None:
            error.message = f"query[{key!r}]: {error.message}"
            error.args = (error.message,)
            raise error
    if not typed:
        return
    merged = {} if options is None else {n: getattr(options, n) for n in OPTION_NAMES}
    merged.update(typed)
    SendOptions(**{n: v for n, v in merged.items() if v is not None}).validate(operation)


def query_kind(query: dict[str, str]) -> builtins.list[str]:
    """Return the message kinds a decoded ``query`` switches on (a value other than empty or 0)."""
    return [k for k in KINDS if query.get(k, "0").strip() not in ("", "0")]
