"""The ``query`` string of send_sms2, get_sms_cost2 and get_status2: encoding, checking and parsing.

The service reads ``query`` like a URL query string (PHP ``parse_str``). We build it from a mapping with
UTF-8 form-urlencoding, so a value holding ``&``, ``=``, ``%``, ``+`` or a newline stays a value. Keys that
would override an explicit argument or a credential are refused: the official libraries append ``query``
raw, which lets any caller override ``psw`` or ``phones``.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import unquote, unquote_plus

from .._exceptions import SmscValidationError
from .text import check_text

__all__ = [
    "PreparedQuery",
    "QueryValue",
    "encode_query",
    "form_quote",
    "php_parse_str",
    "prepare_list_query",
    "prepare_query",
    "reserved_keys",
]

QueryValue = str | int | bool | Decimal

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_PAIR_VALUE = re.compile(r"(?:[A-Za-z0-9_.~!*'()\-,:;@/$+]|%[0-9A-Fa-f]{2})*\Z")

# Keys that always belong to the request itself, never to ``query``.
_ALWAYS_RESERVED = frozenset({"login", "psw", "apikey", "query", "fmt", "charset"})
_RESERVED_BY_OPERATION = {
    "send_sms2": frozenset({"phones", "mes", "id", "sender", "time"}),
    "get_sms_cost2": frozenset({"phones", "mes"}),
    "get_status2": frozenset({"phone", "id", "all"}),
}


#: What each byte becomes in a form-urlencoded value: unreserved ASCII as is, space ``+``, others ``%XX``.
_FORM_BYTES = [
    chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.-~") else f"%{b:02X}"
    for b in range(256)
]
_FORM_BYTES[0x20] = "+"


def form_quote(text: str) -> str:
    """Form-urlencode ``text`` as ``urllib.parse.quote_plus(text, safe="")`` does, in C.

    Its UTF-8 bytes, read as Latin-1 (one character per byte), go through a 256-entry table with
    ``str.translate``: no Python-level loop per byte, which is what a 10 KB ``list`` costs most.
    """
    return text.encode("utf-8").decode("latin-1").translate(_FORM_BYTES)


class PreparedQuery(str):
    """An encoded ``query`` text that carries its values too, so that nothing decodes it again.

    Made by :func:`prepare_query` only; ``send_sms2(..., query=prepared)`` sends the text as it is (it
    was checked for ``operation`` when it was made). Bulk sending encodes each batch's query once.
    """

    __slots__ = ("operation", "recipients", "values")
    operation: str
    values: dict[str, str]
    recipients: str | None


def prepare_query(
    query: Mapping[str, object], operation: str, *, recipients: str | None = None
) -> PreparedQuery:
    """Check and encode ``query`` once for ``operation``; the result can be sent any number of times.

    ``recipients`` names the numbers a ``list`` in it addresses (comma-separated), when the caller
    already knows them; otherwise they are read from the list when needed.
    """
    from .options import check_query_options  # options imports nothing from here

    reserved = reserved_keys(operation)
    values: dict[str, str] = {}
    for key, value in query.items():
        _check_key(key, reserved)
        values[key] = encode_value(key, value)
    check_query_options(values, operation, None)  # once here, not on every send
    prepared = PreparedQuery("&".join(f"{k}={form_quote(v)}" for k, v in values.items()))
    prepared.operation = operation
    prepared.values = values
    prepared.recipients = recipients
    return prepared


def prepare_list_query(
    base: Mapping[str, str], list_text: str, *, recipients: str
) -> PreparedQuery:
    """The ``send_sms2`` query of one bulk batch: ``base`` (a run's options) and then its ``list``.

    ``base`` is checked as :func:`prepare_query` checks it, once per distinct base (cached). The list
    is only encoded: it must be made of lines the bulk batcher checked one by one (each line once,
    issue 15), never text from outside. The result is what ``prepare_query({**base, "list":
    list_text}, "send_sms2", recipients=...)`` returns, without checking every line again.
    """
    head = _checked_base(tuple(base.items()))
    encoded = "list=" + form_quote(list_text)
    prepared = PreparedQuery(f"{head}&{encoded}" if head else encoded)
    prepared.operation = "send_sms2"
    prepared.values = {**head.values, "list": list_text}
    prepared.recipients = recipients
    return prepared


@functools.lru_cache(maxsize=16)
def _checked_base(items: tuple[tuple[str, str], ...]) -> PreparedQuery:
    if any(key.lower() == "list" for key, _ in items):
        raise SmscValidationError("a bulk run's query must not hold 'list'", field="query")
    return prepare_query(dict(items), "send_sms2")


def reserved_keys(operation: str) -> frozenset[str]:
    """The keys ``query`` may not hold for ``operation``."""
    return _ALWAYS_RESERVED | _RESERVED_BY_OPERATION.get(operation, frozenset())


def encode_value(key: str, value: object) -> str:
    """Return the text form of one query value (bools as 1/0, Decimals without exponent)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise SmscValidationError(f"query[{key!r}] must be a finite Decimal", field="query")
        return format(value, "f")
    if isinstance(value, str):
        return check_text(value, f"query[{key!r}]", allow_empty=True)
    raise SmscValidationError(
        f"query[{key!r}] must be str, int, bool or Decimal, not {type(value).__name__}",
        field="query",
    )


def encode_query(query: Mapping[str, object] | str | None, operation: str) -> str:
    """Encode a mapping (or check a ready ``k=v&k=v`` string) into the ``query`` text to send."""
    if query is None:
        return ""
    if isinstance(query, PreparedQuery) and query.operation == operation:
        return query
    reserved = reserved_keys(operation)
    if isinstance(query, str):
        return _check_query_string(query, reserved)
    if not isinstance(query, Mapping):
        raise SmscValidationError(
            f"query must be a mapping or a 'k=v&k=v' string, not {type(query).__name__}",
            field="query",
        )
    pairs = []
    for key, value in query.items():
        _check_key(key, reserved)
        pairs.append(f"{key}={form_quote(encode_value(key, value))}")
    return "&".join(pairs)


def _check_key(key: object, reserved: frozenset[str]) -> None:
    if not isinstance(key, str) or not _KEY.match(key):
        raise SmscValidationError(
            f"query key {key!r} is not allowed: keys are Latin letters, digits and '_', "
            "starting with a letter",
            field="query",
        )
    if key.lower() in reserved:
        raise SmscValidationError(
            f"query must not set {key!r}: it belongs to the request itself "
            f"(reserved here: {', '.join(sorted(reserved))})",
            field="query",
        )


def _check_query_string(text: str, reserved: frozenset[str]) -> str:
    if text == "":
        return ""
    seen: set[str] = set()
    for pair in text.split("&"):
        key, sep, value = pair.partition("=")
        if not sep:
            raise SmscValidationError(
                f"query is not well-formed: {pair[:40]!r} has no '='; expected 'k=v&k=v'",
                field="query",
            )
        _check_key(key, reserved)
        if not _PAIR_VALUE.match(value):
            raise SmscValidationError(
                f"query value of {key!r} is not URL-encoded (encode spaces, '&', '=', '%', '#' "
                "and non-ASCII, or pass a mapping and let the library encode it)",
                field="query",
            )
        if key in seen:
            raise SmscValidationError(f"query sets {key!r} twice", field="query")
        seen.add(key)
        try:
            unquote_plus(value, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise SmscValidationError(
                f"query value of {key!r} does not decode as UTF-8", field="query"
            ) from None
    return text


def php_parse_str(text: str) -> dict[str, str]:
    """Parse a query string the way PHP's ``parse_str`` does for flat keys (the service's reading).

    Pairs split on ``&``; ``+`` and ``%XX`` decode; a key's leading spaces go, and spaces and dots in
    it become ``_``; the last duplicate wins. Array keys (``a[]``) are kept verbatim.
    """
    result: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = _unquote_plus(raw_key).lstrip(" ")
        if not key:
            continue
        if "[" not in key:
            key = key.replace(" ", "_").replace(".", "_")
        result[key] = _unquote_plus(raw_value)
    return result


def _unquote_plus(text: str) -> str:
    """Return ``unquote_plus(text, encoding="utf-8", errors="replace")``, computed in C.

    The standard function decodes escape by escape in Python, which is most of what parsing a long
    ``list`` costs. An ASCII text whose every ``%`` starts a ``%XX`` escape is decoded by the bytes
    escape codec instead (``%`` made ``\\x``, backslashes doubled so that nothing else is an escape)
    and its bytes read as UTF-8 with the same replacement; any other text goes the standard way.
    """
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    if text.isascii():
        try:
            raw, _ = codecs.escape_decode(text.replace("\\", "\\\\").replace("%", "\\x"))
        except ValueError:  # a % that starts no %XX escape
            pass
        else:
            return raw.decode("utf-8", "replace")
    return unquote(text, encoding="utf-8", errors="replace")
