"""Method arguments -> request fields: every check that runs before a request is built.

Shared by the sync and async clients, so both validate exactly alike. Each function returns the
string fields of one SOAP request (credentials excluded) or raises SmscValidationError naming the
argument; nothing here performs I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._query import encode_query
from ._validation import (
    check_all,
    check_id,
    check_mes,
    check_phones,
    check_sender,
    check_time,
    new_message_id,
)

__all__ = ["Phones", "QueryArg", "cost_fields", "send_fields", "status_fields"]

Phones = str | Iterable[str]
QueryArg = Mapping[str, Any] | str | None


def send_fields(
    operation: str,
    phones: Phones,
    mes: str,
    id: int | str | None,
    sender: str | None,
    time: object,
    query: QueryArg = None,
) -> tuple[dict[str, str], str]:
    """Fields of send_sms/send_sms2 and the message id they carry (assigned here when not given)."""
    message_id = new_message_id() if id is None else check_id(id)
    fields = {"phones": check_phones(phones), "mes": check_mes(mes), "id": message_id}
    if sender is not None:
        fields["sender"] = check_sender(sender)
    if time is not None:
        fields["time"] = check_time(time)
    if operation == "send_sms2":
        encoded = encode_query(query, operation)
        if encoded:
            fields["query"] = encoded
    return fields, message_id


def cost_fields(operation: str, phones: Phones, mes: str, query: QueryArg = None) -> dict[str, str]:
    """Fields of get_sms_cost/get_sms_cost2 (``query`` is required by the WSDL in cost2)."""
    fields = {"phones": check_phones(phones), "mes": check_mes(mes)}
    if operation == "get_sms_cost2":
        fields["query"] = encode_query(query, operation)
    return fields


def status_fields(
    operation: str, id: int | str, phone: str, all: int, query: QueryArg = None
) -> dict[str, str]:
    """Fields of get_status/get_status2 (``query`` is required by the WSDL in status2)."""
    fields = {"phone": check_phones(phone, "phone"), "id": check_id(id), "all": check_all(all)}
    if operation == "get_status2":
        fields["query"] = encode_query(query, operation)
    return fields
