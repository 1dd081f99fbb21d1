"""Recipients, sender and id: normalised or refused according to the message kind."""

from __future__ import annotations

from typing import Any

import pytest

from smsc_soap import SendOptions, SmscValidationError
from smsc_soap._params.arguments import send_fields, status_fields
from smsc_soap._params.recipients import mask, normalise_recipients
from smsc_soap._params.validation import check_id, check_sender


def phones_for(phones: Any, **options: Any) -> str:
    """Return the phones field send_sms2 would send."""
    opts = SendOptions(**options) if options else None
    sender = "me@example.org" if options.get("mail") else None
    return send_fields("send_sms2", phones, "hi", None, sender, None, None, opts)[0]["phones"]


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("+7 (999) 123-45-67", "+79991234567"),
        ("8(999)123.45.67", "89991234567"),
        ("79991234567", "79991234567"),
        (["+380 44 123 4567"], "+380441234567"),
        ("1234567", "1234567"),
        ("+" + "9" * 15, "+" + "9" * 15),
    ],
)
def test_phone_numbers_are_normalised(raw: Any, sent: str) -> None:
    """Spaces, brackets, dots and dashes go; a leading + stays."""
    assert phones_for(raw) == sent


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "+7 999 12",
        "+0000",
        "9" * 16,
        "123456",
        "７９９９１２３４５６７",
        "+7999x234567",
        "7++999",
    ],
)
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    """Letters, too few or too many digits, full-width digits and +0 are refused."""
    with pytest.raises(SmscValidationError) as info:
        phones_for(raw)
    assert info.value.field == "phones"


@pytest.mark.parametrize("raw", ["", " ", ",", ";;", [], [""], None])
def test_empty_recipients_are_refused(raw: Any) -> None:
    """No recipient at all is refused."""
    with pytest.raises(SmscValidationError, match="phones"):
        phones_for(raw)


def test_separators_and_duplicates() -> None:
    """Commas and semicolons both separate; duplicates (also with/without +) are dropped."""
    assert phones_for("+79991234567;79991234567, 79881234567;") == "+79991234567,79881234567"


def test_bad_item_is_named_by_position_and_masked() -> None:
    """The error names the bad item's position and only a short form of it."""
    with pytest.raises(SmscValidationError) as info:
        phones_for("79991234567,79881234567,notaphonenumber-secret")
    assert "#3" in str(info.value)
    assert "secret" not in str(info.value)
    assert mask("notaphonenumber-secret") == "nota…et"


def test_groups_are_allowed() -> None:
    """A group G<n> is sent as is (it fans out to the group's numbers)."""
    assert phones_for("G12,79991234567") == "G12,79991234567"


def test_groups_can_be_refused() -> None:
    """normalise_recipients refuses groups when asked."""
    with pytest.raises(SmscValidationError, match="#1"):
        normalise_recipients("G1", groups=False)


@pytest.mark.parametrize("raw", ["a@example.com", "#123", "@someone_x"])
def test_email_and_telegram_refused_in_plain_sms(raw: str) -> None:
    """E-mail and Telegram recipients are refused without mail/tg."""
    with pytest.raises(SmscValidationError, match="mail=True"):
        phones_for(raw)


def test_email_recipients_with_mail() -> None:
    """With mail=True recipients are e-mail addresses, de-duplicated case-insensitively."""
    assert (
        phones_for("a@example.com; A@example.com,b@x.org", mail=True, subj="S")
        == "a@example.com,b@x.org"
    )
    with pytest.raises(SmscValidationError, match="e-mail"):
        phones_for("79991234567", mail=True, subj="S")


def test_telegram_recipients_with_tg() -> None:
    """With tg=True recipients may be phones, nicknames or #ID."""
    assert (
        phones_for("@some_user,#123456,+79991234567", tg=True) == "@some_user,#123456,+79991234567"
    )
    with pytest.raises(SmscValidationError):
        phones_for("@ab", tg=True)


def test_recipients_refuse_wrong_types() -> None:
    """A dict or a number as phones is refused."""
    with pytest.raises(SmscValidationError, match="dict"):
        phones_for({"a": 1})
    with pytest.raises(SmscValidationError, match="int"):
        phones_for(79991234567)


def test_recipients_refuse_crlf_and_surrogates() -> None:
    """CR/LF and lone surrogates in phones are refused."""
    for raw in ("79991234567\r\n79881234567", "7999\ud8001234567"):
        with pytest.raises(SmscValidationError):
            phones_for(raw)


@pytest.mark.parametrize("phone", ["+7 (999) 123-45-67", "a@b.cc", "#5", "@nick_name"])
def test_status_phone_accepts_one_recipient_of_any_kind(phone: str) -> None:
    """A status asks about one recipient: a phone (normalised), an e-mail address, a #ID or nick."""
    for operation in ("get_status", "get_status2"):
        fields = status_fields(operation, 1, phone, 0)
        assert fields["phone"] == ("+79991234567" if phone.startswith("+") else phone)


@pytest.mark.parametrize(
    "phone", ["79991234567,79991234568", "79991234567;a@b.cc", ["79991234567", "79991234568"]]
)
def test_status_refuses_a_list_of_phones(phone: object) -> None:
    """One id, one phone: a comma list (or a list) in get_status/get_status2 is refused."""
    for operation in ("get_status", "get_status2"):
        with pytest.raises(SmscValidationError, match="one message to one recipient") as info:
            status_fields(operation, 1, phone, 0)  # type: ignore[arg-type]
        assert info.value.field == "phone"


def test_status_refuses_groups() -> None:
    """A group is many numbers: refused in a status call."""
    with pytest.raises(SmscValidationError):
        status_fields("get_status2", 1, "G1", 0)


@pytest.mark.parametrize("value", [1, 2147483647, "abc.DEF_1-2", "x" * 40, "17"])
def test_id_accepts_documented_forms(value: object) -> None:
    """id is 1..2147483647 or 1-40 of [A-Za-z0-9._-]."""
    assert check_id(value) == str(value)


@pytest.mark.parametrize(
    "value", [0, -1, 2147483648, 2**70, "a b", "a,b", "ид", "x" * 41, "", True, "0"]
)
def test_id_refuses_others(value: object) -> None:
    """id out of range or with other characters is refused."""
    with pytest.raises(SmscValidationError) as info:
        check_id(value)
    assert info.value.field == "id"


@pytest.mark.parametrize("value", ["SmscTest", "A" * 11, "1" * 15, "+79991234567", "My Shop"])
def test_sender_accepts_names_and_digits(value: str) -> None:
    """sender is up to 11 Latin characters or 15 digits."""
    assert check_sender(value) == value


@pytest.mark.parametrize("value", ["A" * 12, "1" * 16, "Магазин", "a\r\nb", "", "a\x00"])
def test_sender_refuses_others(value: str) -> None:
    """Long, non-Latin, multi-line or control-character senders are refused."""
    with pytest.raises(SmscValidationError) as info:
        check_sender(value)
    assert info.value.field == "sender"
