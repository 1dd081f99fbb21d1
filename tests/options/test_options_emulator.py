"""Through the real client against the emulator: invalid input sends nothing, valid options arrive intact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from smsc_soap import SendOptions, SendResult, SmscValidationError, SoapSmsc, segments
from smsc_soap.emulator import EmulatorServer

PHONE = "+79991234567"


def send2(
    client: SoapSmsc, phones: Any, mes: Any, options: SendOptions | None = None, **kw: Any
) -> SendResult:
    """Send through the public facade with typed options."""
    return client.send_sms2(phones, mes, options=options, **kw)


INVALID_CALLS: list[tuple[str, Callable[[SoapSmsc], object]]] = [
    ("empty phones", lambda c: c.send_sms2("", "hi")),
    ("letters as phone", lambda c: c.send_sms2("abc", "hi")),
    ("16 digits", lambda c: c.send_sms2("9" * 16, "hi")),
    ("e-mail in plain SMS", lambda c: c.send_sms2("a@b.cc", "hi")),
    ("telegram id in plain SMS", lambda c: c.send_sms2("#123", "hi")),
    ("long sender", lambda c: c.send_sms2(PHONE, "hi", sender="A" * 12)),
    ("id out of range", lambda c: c.send_sms2(PHONE, "hi", id=2**70)),
    ("empty mes", lambda c: c.send_sms2(PHONE, "")),
    ("1001 characters", lambda c: c.send_sms2(PHONE, "a" * 1001)),
    ("bad time", lambda c: c.send_sms2(PHONE, "hi", time="tomorrow")),
    ("reserved key in query", lambda c: c.send_sms2(PHONE, "hi", query={"psw": "x"})),
    ("valid 25", lambda c: send2(c, PHONE, "hi", SendOptions(valid=25))),
    ("two kinds", lambda c: send2(c, PHONE, "hi", SendOptions(flash=True, viber=True))),
    ("hlr in options, viber in query", lambda c: send2(c, PHONE, "", SendOptions(hlr=True), query={"viber": 1})),
    ("key twice", lambda c: send2(c, PHONE, "hi", SendOptions(cost=3), query={"cost": 1})),
    ("mail without subj", lambda c: send2(c, "a@b.cc", "hi", SendOptions(mail=True))),
    ("list with phones", lambda c: send2(c, PHONE, "", SendOptions(list=[(PHONE, "x")]))),
    ("cost in cost2", lambda c: c.get_sms_cost2(PHONE, "x", query={"cost": 2})),
]  # fmt: skip


@pytest.mark.parametrize("call", [c for _, c in INVALID_CALLS], ids=[n for n, _ in INVALID_CALLS])
def test_invalid_call_sends_nothing(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, call: Callable[[SoapSmsc], object]
) -> None:
    """An invalid call raises SmscValidationError and the emulator sees no request at all."""
    with pytest.raises(SmscValidationError):
        call(smsc_client)
    assert smsc_emulator.requests == []


def test_misspelled_option_sends_nothing(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """A misspelled option is a TypeError before anything is sent."""
    with pytest.raises(TypeError, match="valid options"):
        send2(smsc_client, PHONE, "hi", SendOptions(maxsm=1))  # type: ignore[call-arg]
    assert smsc_emulator.requests == []


def test_options_reach_the_emulator(smsc_client: SoapSmsc, smsc_emulator: EmulatorServer) -> None:
    """A send with options is accepted and billed by the emulator."""
    result = send2(
        smsc_client,
        "+7 (999) 123-45-67",
        "Hello",
        SendOptions(valid="01:30", cost=3, err=True, translit=0),
    )
    assert result.cnt == 1
    assert len(smsc_emulator.requests) == 1
    assert b"valid=01%3A30" in smsc_emulator.requests[0].body


def test_list_send_through_emulator(smsc_client: SoapSmsc, smsc_emulator: EmulatorServer) -> None:
    """A list send with empty phones/mes is accepted, one message per line."""
    options = SendOptions(
        list=[("+79991234567", "first\nline"), ("+79881234567,+79771234567", "second")]
    )
    result = send2(smsc_client, "", "", options)
    assert result.cnt == 3
    texts = sorted(m.text for m in smsc_emulator.messages)
    assert texts == ["first\nline", "second"]


def test_hlr_with_empty_text_through_emulator(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """An HLR request with an empty text goes out, is accepted and billed once per number."""
    result = send2(smsc_client, PHONE, "", SendOptions(hlr=True))
    assert len(smsc_emulator.requests) == 1
    assert result.cnt == 1


_CYR = "ж"
_EXT = "€"
CORPUS = [
    "",
    "a" * 160, "a" * 161, "a" * 306, "a" * 307, "a" * 459, "a" * 460,
    _CYR * 70, _CYR * 71, _CYR * 134, _CYR * 135, _CYR * 201, _CYR * 202,
    "a" * 69 + _CYR, "a" * 70 + _CYR, "a" * 133 + _CYR, "a" * 134 + _CYR,
    _EXT * 80, _EXT * 81, "a" * 159 + _EXT, "a" * 158 + _EXT, "a" * 152 + _EXT + "a" * 10,
    "{}[]~|^\\" * 20,
    "😀" * 35, "😀" * 36, "a" * 66 + "😀" + "a", "😀" * 500,
    "Hello, мир! 👋", "a\n" * 80, "a\n" * 80 + "a", "@£$¥" * 40, "@£$¥" * 40 + "a",
]  # fmt: skip


@pytest.mark.parametrize(
    "mes", [m for m in CORPUS if m], ids=lambda m: f"{segments(m).encoding}-{segments(m).length}"
)
def test_segments_agree_with_emulator_cnt(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, mes: str
) -> None:
    """smsc_soap segments() predicts the cnt the emulator bills, around every part boundary."""
    result = smsc_client.get_sms_cost(PHONE, mes)
    assert result.cnt == segments(mes).parts
