"""Rules between options, per operation, and the merge of options with the raw query."""

from __future__ import annotations

from typing import Any

import pytest

from smsc_soap import SendOptions, SmscValidationError
from smsc_soap._params.arguments import cost_fields, send_fields, status_fields
from smsc_soap._params.options import KINDS, make_options
from smsc_soap.lowlevel import php_parse_str

PHONE = "79991234567"


def send(phones: Any = PHONE, mes: Any = "hi", *, sender: Any = None, time: Any = None,
         query: Any = None, **options: Any) -> dict[str, str]:  # fmt: skip
    """Return the send_sms2 fields for these arguments and options."""
    opts = SendOptions(**options) if options else None
    fields, _ = send_fields("send_sms2", phones, mes, None, sender, time, query, opts)
    return fields


@pytest.mark.parametrize(
    "pair", [("flash", "hlr"), ("viber", "whatsapp"), ("mail", "tg"), ("bin", "push")]
)
def test_message_kinds_exclude_each_other(pair: tuple[str, str]) -> None:
    """Two message kinds in one SendOptions are refused, naming the second."""
    values: dict[str, Any] = {k: (1 if k == "bin" else True) for k in pair}
    with pytest.raises(SmscValidationError) as info:
        SendOptions(**values, subj="s")
    assert info.value.field == pair[1]


def test_kind_switched_off_does_not_count() -> None:
    """A kind set to False or bin=0 is not a kind."""
    assert SendOptions(flash=False, bin=0, hlr=True).kind == "hlr"


def test_kind_in_options_and_raw_query_conflict() -> None:
    """A kind in options and another in the raw query are refused."""
    with pytest.raises(SmscValidationError, match="exclude"):
        send(query={"viber": 1}, flash=True)


def test_key_in_options_and_query_is_refused() -> None:
    """A parameter given both as an option and in query is refused."""
    with pytest.raises(SmscValidationError, match="cost") as info:
        send(query={"cost": 2}, cost=3)
    assert info.value.field == "query"
    with pytest.raises(SmscValidationError, match="valid"):
        send(query="valid=2", valid=3)


def test_options_and_query_merge() -> None:
    """Options come first, raw query keys after, in one encoded query."""
    fields = send(query={"newparam": "a&b=c"}, cost=3, err=True)
    assert php_parse_str(fields["query"]) == {"cost": "3", "err": "1", "newparam": "a&b=c"}


@pytest.mark.parametrize("kind", ["hlr", "ping"])
def test_mes_may_be_empty_for_hlr_and_ping(kind: str) -> None:
    """hlr and ping do not use the text, so mes may be empty."""
    assert send(mes="", **{kind: True})["mes"] == ""


@pytest.mark.parametrize("kind", ["flash", "viber", "call", "soc", "whatsapp", "tg"])
def test_mes_required_for_other_kinds(kind: str) -> None:
    """Other kinds need a text."""
    with pytest.raises(SmscValidationError) as info:
        send(mes=" ", **{kind: True})
    assert info.value.field == "mes"


def test_mes_required_for_plain_sms() -> None:
    """A plain SMS needs a text."""
    with pytest.raises(SmscValidationError, match="mes"):
        send(mes="")


def test_mes_limit_is_1000_characters() -> None:
    """mes of 1000 characters (even astral ones) passes; 1001 is refused."""
    assert send(mes="😀" * 1000)["mes"] == "😀" * 1000
    with pytest.raises(SmscValidationError, match="1001"):
        send(mes="a" * 1001)


def test_mms_needs_subject_or_text() -> None:
    """An MMS with neither text nor subject is refused; either one suffices."""
    with pytest.raises(SmscValidationError, match="subj"):
        send(mes="", mms=True)
    assert send(mes="", mms=True, subj="Photo")["mes"] == ""
    assert send(mes="text", mms=True)["mes"] == "text"


def test_mail_needs_subject() -> None:
    """An e-mail without subj is refused."""
    with pytest.raises(SmscValidationError) as info:
        SendOptions(mail=True)
    assert info.value.field == "subj"


def test_mail_needs_sender_address() -> None:
    """An e-mail send needs a From address as sender, and refuses a sender name."""
    with pytest.raises(SmscValidationError) as info:
        send("a@example.com", "text", mail=True, subj="S")
    assert info.value.field == "sender"
    with pytest.raises(SmscValidationError):
        send("a@example.com", "text", sender="Ivan", mail=True, subj="S")
    fields = send("a@example.com", "text", sender="me@example.org", mail=True, subj="S")
    assert fields["sender"] == "me@example.org"


def test_push_needs_link_and_title() -> None:
    """A WAP-push text is the link, a newline and the title."""
    with pytest.raises(SmscValidationError, match="push"):
        send(mes="https://example.com", push=True)
    assert send(mes="https://example.com\nTitle", push=True)["mes"].endswith("Title")


def test_bin_2_needs_hex() -> None:
    """bin=2 takes the message as pairs of hex digits."""
    assert send(mes="0005000301020348656c6c6f", bin=2)["mes"].startswith("00")
    with pytest.raises(SmscValidationError, match="hex"):
        send(mes="hello", bin=2)
    with pytest.raises(SmscValidationError, match="hex"):
        send(mes="abc", bin=2)


def test_bot_needs_tg() -> None:
    """bot without tg=True is refused."""
    with pytest.raises(SmscValidationError) as info:
        SendOptions(bot="@my_bot")
    assert info.value.field == "bot"


def test_status2_takes_only_delete() -> None:
    """get_status2 refuses send options, naming the first one."""
    with pytest.raises(SmscValidationError) as info:
        status_fields("get_status2", 1, PHONE, 0, None, SendOptions(cost=2))
    assert info.value.field == "cost"
    fields = status_fields("get_status2", 1, PHONE, 0, None, SendOptions(delete=True))
    assert fields["query"] == "del=1"


def test_delete_is_refused_in_send() -> None:
    """delete applies to get_status2 only."""
    with pytest.raises(SmscValidationError) as info:
        send(delete=True)
    assert info.value.field == "delete"


def test_cost2_refuses_cost_option_and_query() -> None:
    """get_sms_cost2 refuses cost (cost=2/3 would send) as option and as raw query."""
    with pytest.raises(SmscValidationError) as info:
        cost_fields("get_sms_cost2", PHONE, "x", None, SendOptions(cost=2))
    assert info.value.field == "cost"
    with pytest.raises(SmscValidationError, match="cost"):
        cost_fields("get_sms_cost2", PHONE, "x", {"cost": 2})


def test_cost2_takes_kind_options() -> None:
    """get_sms_cost2 sends kind options and checks phones and mes for the kind."""
    fields = cost_fields("get_sms_cost2", PHONE, "", None, SendOptions(hlr=True))
    assert fields == {"phones": PHONE, "mes": "", "query": "hlr=1"}


@pytest.mark.parametrize("operation", ["send_sms", "get_sms_cost"])
def test_operations_without_query_refuse_options(operation: str) -> None:
    """send_sms and get_sms_cost have no query element, so options are refused."""
    with pytest.raises(SmscValidationError, match=f"{operation}2"):
        if operation == "send_sms":
            send_fields(operation, PHONE, "x", None, None, None, None, SendOptions(cost=2))
        else:
            cost_fields(operation, PHONE, "x", None, SendOptions(cost=2))


def test_options_must_be_sendoptions() -> None:
    """A dict passed as options is refused with a hint."""
    with pytest.raises(SmscValidationError, match="SendOptions"):
        send_fields("send_sms2", PHONE, "x", None, None, None, None, {"cost": 1})  # type: ignore[arg-type]


def test_misspelled_option_lists_valid_names_without_values() -> None:
    """A misspelled option raises TypeError naming valid options and never the value."""
    with pytest.raises(TypeError) as info:
        SendOptions(vaild="S3cr3t-value")  # type: ignore[call-arg]
    text = str(info.value)
    assert "'valid'" in text and "maxsms" in text and "S3cr3t" not in text


def test_positional_arguments_are_refused() -> None:
    """SendOptions takes keywords only."""
    with pytest.raises(TypeError):
        SendOptions(1)  # type: ignore[call-arg]


def test_make_options_from_keywords() -> None:
    """make_options builds from keywords, merges into given options and refuses a repeat."""
    assert make_options() is None
    assert make_options(cost=2) == SendOptions(cost=2)
    assert make_options(SendOptions(cost=2), err=True) == SendOptions(cost=2, err=True)
    with pytest.raises(SmscValidationError) as info:
        make_options(SendOptions(cost=2), cost=3)
    assert info.value.field == "cost"
    with pytest.raises(TypeError, match="did you mean 'maxsms'"):
        make_options(maxsm=3)


def test_all_kinds_are_fields() -> None:
    """Every message kind is an option of its own."""
    assert set(KINDS) <= set(SendOptions.__dataclass_fields__)
