"""Method arguments -> request fields: every check that runs before a request is built.

Shared by the sync and async clients, so both validate exactly alike. Each function returns the
string fields of one SOAP request (credentials excluded) or raises SmscValidationError naming the
argument; nothing here performs I/O.

``options`` (a :class:`SendOptions`) and the raw ``query`` (a mapping or a ready ``k=v&k=v`` string, kept
for parameters newer than this library) merge into the one ``query`` element; a key given in both is
refused. The message kind they choose (hlr, mail, tg, …) decides what ``phones``, ``mes`` and ``sender``
may hold. With ``list``, ``phones`` and ``mes`` must be empty and are sent as empty elements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .._exceptions import SmscValidationError
from .listmsg import ListMessage
from .options import SendOptions, check_query_options, query_kind
from .query import PreparedQuery, encode_query, php_parse_str
from .timefmt import is_absolute_time
from .validation import (
    check_all,
    check_binary_mes,
    check_hex_mes,
    check_id,
    check_mes,
    check_phone_list,
    check_phones,
    check_sender,
    check_time,
)

__all__ = [
    "SEND_COST_DEFAULT",
    "Phones",
    "QueryArg",
    "cost_fields",
    "recipients_of",
    "send_fields",
    "status_fields",
    "with_query",
]

#: What send_sms2 asks for unless the caller sets ``cost``: the cost and the new balance (as SMSC's own
#: PHP library does), so that SendResult.cost and .balance are filled.
SEND_COST_DEFAULT = "cost=3"

#: The operations without a ``query`` element, and their twin that has one (for ``apikey=``).
QUERY_TWINS = {
    "send_sms": "send_sms2",
    "get_sms_cost": "get_sms_cost2",
    "get_status": "get_status2",
}

Phones = str | Iterable[str]
QueryArg = Mapping[str, Any] | str | None


class _Merged:
    """The merged ``query`` of one request and what it says about the message."""

    def __init__(
        self, operation: str, options: SendOptions | None, query: QueryArg, extra: dict[str, str]
    ) -> None:
        if options is not None and not isinstance(options, SendOptions):
            raise SmscValidationError(
                f"options must be a SendOptions, not {type(options).__name__}", field="options"
            )
        own = options.to_query(operation) if options is not None else {}
        own.update(extra)
        raw = encode_query(query, operation)
        if isinstance(raw, PreparedQuery):  # checked when it was prepared
            raw_values = raw.values
            if options is not None:
                check_query_options(raw_values, operation, options)
        else:
            raw_values = php_parse_str(raw)
            check_query_options(raw_values, operation, options)
        clash = sorted({k.lower() for k in own} & {k.lower() for k in raw_values})
        if clash:
            raise SmscValidationError(
                f"query key {clash[0]!r} is also set by options: give each parameter once",
                field="query",
            )
        parts = [p for p in (encode_query(own, operation), raw) if p]
        self.text = parts[0] if len(parts) == 1 else "&".join(parts)  # a PreparedQuery stays one
        self.values = {**own, **raw_values}
        kinds = query_kind(self.values)
        if len(kinds) > 1:
            raise SmscValidationError(
                f"message kinds {', '.join(kinds)} exclude each other: choose one",
                field=kinds[1],
            )
        self.kind = kinds[0] if kinds else None
        self.has_list = "list" in self.values
        self.options = options


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple):
        return len(value) == 0
    return False


def _phones_and_mes(merged: _Merged, phones: object, mes: object) -> dict[str, str]:
    """Check ``phones`` and ``mes`` for the message kind (both empty with ``list``)."""
    kind = merged.kind
    if merged.has_list:
        for name, value in (("phones", phones), ("mes", mes)):
            if not _is_empty(value):
                raise SmscValidationError(
                    f"{name} must be empty when 'list' gives the recipients and texts",
                    field=name,
                )
        return {"phones": "", "mes": ""}
    fields = {"phones": check_phones(phones, kind=kind)}
    has_subject = bool(merged.values.get("subj", "").strip())
    if kind == "mms" and has_subject and _is_empty(mes):
        fields["mes"] = check_mes(mes, kind="hlr")  # allowed empty: the subject carries the MMS
    elif kind == "mms" and not has_subject and _is_empty(mes):
        raise SmscValidationError("an MMS needs a text (mes) or a subject (subj)", field="mes")
    elif merged.values.get("bin") == "1":
        fields["mes"] = check_binary_mes(mes)
    else:
        fields["mes"] = check_mes(mes, kind=kind)
    if merged.values.get("bin") == "2":
        check_hex_mes(fields["mes"])
    return fields


def _time_extra(
    operation: str, time: object, options: SendOptions | None, query: QueryArg
) -> dict[str, str]:
    """``tz=0`` for an aware datetime (it is converted to Moscow time), unless tz is already 0."""
    if not isinstance(time, datetime) or operation != "send_sms2":
        return {}
    tz_given = options is not None and options.tz is not None
    if tz_given:
        assert options is not None
        if options.to_query().get("tz") != "0":
            raise SmscValidationError(
                "tz must be 0 or unset when time is a datetime: it is sent in Moscow time",
                field="tz",
            )
        return {}
    raw_keys = php_parse_str(query) if isinstance(query, str) else dict(query or {})
    if "tz" in raw_keys:
        raise SmscValidationError(
            "query must not set tz when time is a datetime: it is sent in Moscow time",
            field="tz",
        )
    return {"tz": "0"}


def _check_operation(operation: str, options: SendOptions | None, query: QueryArg) -> None:
    if not operation.endswith("2") and (options is not None or query is not None):
        raise SmscValidationError(
            f"{operation} takes no options or query; use {operation}2", field="options"
        )


def send_fields(
    operation: str,
    phones: Phones | None,
    mes: str | None,
    id: int | str | None,
    sender: str | None,
    time: object,
    query: QueryArg = None,
    options: SendOptions | None = None,
) -> tuple[dict[str, str], str | None]:
    """Fields of send_sms/send_sms2 and the message id the caller gave (None: the client derives one).

    send_sms2's ``query`` asks for ``cost=3`` unless the caller set ``cost``.
    """
    _check_operation(operation, options, query)
    merged = _Merged(operation, options, query, _time_extra(operation, time, options, query))
    if merged.values.get("cost") == "1":
        # cost=1 turns a send into a price query: nothing is sent and no message id comes back.
        raise SmscValidationError(
            "cost=1 sends nothing; ask the price with get_sms_cost2 (cost 0, 2 or 3 send)",
            field="cost",
        )
    fields = _phones_and_mes(merged, phones, mes)
    message_id = None if id is None else check_id(id)
    if message_id is not None:
        fields["id"] = message_id
    if sender is not None:
        fields["sender"] = check_sender(sender, kind=merged.kind)
    elif merged.kind == "mail" and operation == "send_sms2":
        raise SmscValidationError(
            "sender (the From address) is required for an e-mail (mail=True)", field="sender"
        )
    if time is not None:
        if isinstance(time, datetime) and operation == "send_sms":
            # No query, so no tz=0: send the zone-free Unix-time form instead.
            check_time(time)
            fields["time"] = f"0{int(time.timestamp())}"
        else:
            fields["time"] = check_time(time)
    if merged.has_list and options is not None and options.list is not None:
        _check_list_tz(options, time)
    if operation == "send_sms2":
        has_cost = "cost" in {k.lower() for k in merged.values}
        text = merged.text if has_cost else "&".join(filter(None, [merged.text, SEND_COST_DEFAULT]))
        fields["query"] = text
    return fields, message_id


def with_query(operation: str, fields: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Return ``operation`` as its ``*2`` twin, which has a ``query`` to carry ``apikey=``.

    send_sms, get_sms_cost and get_status mean the same as send_sms2, get_sms_cost2 and get_status2
    with no extra parameters; the send gets the same ``cost`` default as a direct send_sms2. Other
    operations come back unchanged.
    """
    twin = QUERY_TWINS.get(operation)
    if twin is None:
        return operation, dict(fields)
    routed = dict(fields)
    routed["query"] = SEND_COST_DEFAULT if twin == "send_sms2" else ""
    return twin, routed


def _check_list_tz(options: SendOptions, time: object) -> None:
    """Per-line tz in a list counts only with an absolute time: refuse it otherwise."""
    lines = options.list
    if isinstance(lines, str) or lines is None:
        return
    has_tz = any(_line_tz(line) is not None for line in lines)
    if has_tz and (time is None or isinstance(time, datetime) or not is_absolute_time(time)):
        raise SmscValidationError(
            "a per-line tz in 'list' counts only with time as a DDMMYYhhmm or 'DD.MM.YY hh:mm' "
            "string",
            field="list",
        )


def _line_tz(line: object) -> object:
    if isinstance(line, ListMessage):
        return line.tz
    if isinstance(line, tuple) and len(line) >= 4:
        return line[3]
    return None


def cost_fields(
    operation: str,
    phones: Phones | None,
    mes: str | None,
    query: QueryArg = None,
    options: SendOptions | None = None,
) -> dict[str, str]:
    """Fields of get_sms_cost/get_sms_cost2 (``query`` is required by the WSDL in cost2)."""
    _check_operation(operation, options, query)
    merged = _Merged(operation, options, query, {})
    if "cost" in {k.lower() for k in merged.values}:
        raise SmscValidationError(
            "query must not set 'cost' in get_sms_cost2: cost=2 or 3 would send the message",
            field="query",
        )
    fields = _phones_and_mes(merged, phones, mes)
    if operation == "get_sms_cost2":
        fields["query"] = merged.text
    return fields


def status_fields(
    operation: str,
    id: int | str,
    phone: str,
    all: int,
    query: QueryArg = None,
    options: SendOptions | None = None,
) -> dict[str, str]:
    """Fields of get_status/get_status2 (``query`` is required by the WSDL in status2)."""
    _check_operation(operation, options, query)
    merged = _Merged(operation, options, query, {})
    phones = check_phone_list(phone, "phone", kind="any", groups=False, dedupe=False)
    if len(phones) != 1:
        # The SOAP reply holds one status: one id, one phone per call.
        raise SmscValidationError(
            f"phone must be one number (or e-mail address, Telegram nick or #ID), not a list of "
            f"{len(phones)}: a status call asks about one message to one recipient",
            field="phone",
        )
    fields = {"phone": phones[0], "id": check_id(id), "all": check_all(all)}
    if operation == "get_status2":
        fields["query"] = merged.text
    return fields


_LIST_SEPARATOR = re.compile(r"[:;]")


def recipients_of(fields: Mapping[str, str]) -> str:
    """The numbers a send goes to: its ``phones``, or for a ``list`` send the numbers of its lines.

    A send whose outcome is unknown is looked up with ``get_status(id, first number)``, so a list
    send (empty ``phones``) must still name the numbers it addressed.
    """
    if fields.get("phones"):
        return fields["phones"]
    query = fields.get("query", "")
    if isinstance(query, PreparedQuery):
        if query.recipients is not None:
            return query.recipients
        text = query.values.get("list", "")
    else:
        text = php_parse_str(query).get("list", "")
    numbers: list[str] = []
    for line in text.split("\n"):
        head = _LIST_SEPARATOR.split(line, maxsplit=1)[0]
        if "|" in head:  # "sender,tz|phones:mes"
            head = head.split("|", 1)[1]
        numbers.extend(p.strip() for p in head.split(",") if p.strip())
    return ",".join(numbers)
