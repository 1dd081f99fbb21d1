"""The list option: lines encoded as [sender[,tz]|]phones:mes, with newlines escaped."""

from __future__ import annotations

from typing import Any

import pytest

from smsc_soap import ListMessage, SendOptions, SmscValidationError
from smsc_soap._params.arguments import send_fields
from smsc_soap.lowlevel import encode_list, php_parse_str


def test_pairs_encode_one_line_each() -> None:
    """(phones, mes) pairs become phones:mes lines joined by newlines."""
    text = encode_list([("79991234567", "Hi"), (["+7 999 000-11-22", "79881234567"], "a:b")])
    assert text == "79991234567:Hi\n+79990001122,79881234567:a:b"


def test_newlines_in_texts_are_escaped() -> None:
    """A newline inside a text is written as backslash-n (CR dropped)."""
    assert encode_list([("79991234567", "a\r\nb\nc")]) == "79991234567:a\\nb\\nc"


def test_sender_and_tz_per_line() -> None:
    """A line with its own sender (and tz) is written sender,tz|phones:mes."""
    lines = [
        ListMessage("79991234567", "x", sender="Shop", tz=-1),
        ListMessage("79881234567", "y", "Shop"),
    ]
    assert encode_list(lines) == "Shop,-1|79991234567:x\nShop|79881234567:y"


def test_tz_without_sender_is_refused() -> None:
    """A per-line tz needs a sender in this format."""
    with pytest.raises(SmscValidationError, match="sender"):
        encode_list([ListMessage("79991234567", "x", tz=2)])


@pytest.mark.parametrize("sender", ["A,B", "A|B", "A:B"])
def test_sender_with_list_separators_is_refused(sender: str) -> None:
    """A sender holding , | or : would break the line format."""
    with pytest.raises(SmscValidationError, match=r"list\[0\]"):
        encode_list([ListMessage("79991234567", "x", sender=sender)])


def test_bad_line_is_named() -> None:
    """A bad phone or empty text names its line."""
    with pytest.raises(SmscValidationError, match=r"list\[1\]\.phones"):
        encode_list([("79991234567", "x"), ("abc", "y")])
    with pytest.raises(SmscValidationError, match=r"list\[0\]\.mes"):
        encode_list([("79991234567", "")])


def test_empty_or_wrong_list_is_refused() -> None:
    """An empty list, a bare string of lines without ':', or other objects are refused."""
    bad: Any
    for bad in ([], [42], [("1",)]):
        with pytest.raises(SmscValidationError, match="list"):
            SendOptions(list=bad)
    with pytest.raises(SmscValidationError, match="list"):
        SendOptions(list="79991234567 hello")


def test_ready_string_is_passed_through() -> None:
    """A ready-made list string with phones:mes lines is sent as is."""
    assert SendOptions(list="79991234567:a\n79881234567;b").to_query()["list"].startswith("7999")


def test_list_send_sends_empty_phones_and_mes() -> None:
    """With list, phones and mes must be empty and go as empty elements."""
    options = SendOptions(list=[("79991234567", "a&b=c\nd")])
    fields, _ = send_fields("send_sms2", "", "", None, None, None, None, options)
    assert fields["phones"] == "" and fields["mes"] == ""
    assert php_parse_str(fields["query"])["list"] == "79991234567:a&b=c\\nd"
    with pytest.raises(SmscValidationError) as info:
        send_fields("send_sms2", "79991234567", "", None, None, None, None, options)
    assert info.value.field == "phones"
    with pytest.raises(SmscValidationError) as info:
        send_fields("send_sms2", None, "text", None, None, None, None, options)
    assert info.value.field == "mes"


def test_list_per_line_tz_needs_absolute_time() -> None:
    """A per-line tz is refused unless time is a DDMMYYhhmm string."""
    options = SendOptions(list=[ListMessage("79991234567", "a", "Shop", 2)])
    with pytest.raises(SmscValidationError, match="tz"):
        send_fields("send_sms2", "", "", None, None, "+5", None, options)
    fields, _ = send_fields("send_sms2", "", "", None, None, "0201251030", None, options)
    assert fields["time"] == "0201251030"


def test_list_kind_checks_recipients() -> None:
    """List lines follow the kind: e-mail addresses with mail."""
    assert encode_list([("a@example.com", "x")], kind="mail") == "a@example.com:x"
    with pytest.raises(SmscValidationError):
        encode_list([("a@example.com", "x")])


def test_literal_backslash_n_is_refused() -> None:
    """A text holding a literal backslash-n is refused: the service would turn it into a newline."""
    with pytest.raises(SmscValidationError, match="backslash"):
        encode_list([("79991234567", "C:\\new")])
