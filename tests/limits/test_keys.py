"""In-process limits key requests by what they ask about, never by bodies that hold the password."""

from __future__ import annotations

import hashlib

from smsc_soap import SoapSmsc
from smsc_soap._soap.protocol import limit_key
from smsc_soap.emulator import (
    TEST_LOGIN,
    TEST_PASSWORD,
    Emulator,
    EmulatorServer,
    ManualClock,
    default_account,
)


def test_window_keys_do_not_depend_on_the_password() -> None:
    """A status poll's window key is a function of message id and phone only, whatever the password."""
    md5 = hashlib.md5(TEST_PASSWORD.encode()).hexdigest()  # the service accepts either form
    with EmulatorServer(Emulator([default_account()], clock=ManualClock())) as server:
        keys = []
        for psw in (TEST_PASSWORD, md5):
            with SoapSmsc(TEST_LOGIN, psw, endpoint=server.url) as client:
                sent = client.send_sms("79991234567", f"hello {psw[:3]}")
                client.get_status(sent.id, "79991234567")
                keys.append(set(client._budget._status._hits))  # type: ignore[attr-defined]
        ids = [message.id for message in server.messages]
        for found, message_id in zip(keys, ids, strict=True):
            expected = limit_key("get_status", {"id": message_id, "phone": "79991234567"})
            assert found == {expected}  # a function of id and phone only
        assert all(TEST_PASSWORD not in k and md5 not in k for k in keys[0] | keys[1])


def test_limit_key_ignores_the_detail_level_of_a_status() -> None:
    """all=0/1/2 of one message and phone count against the same window, as the service counts them."""
    base = {"id": "7", "phone": "79991234567"}
    assert limit_key("get_status", {**base, "all": "2"}) == limit_key("get_status", base)
    assert limit_key("get_sms_cost", {"phones": "1", "mes": "a"}) != limit_key(
        "get_sms_cost", {"phones": "1", "mes": "b"}
    )
