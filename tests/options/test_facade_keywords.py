"""The facade's typed options: keywords and options= reach the service; mistakes send nothing."""

from __future__ import annotations

import pytest

import smsc_soap as s
from smsc_soap import SendOptions, SoapSmsc
from smsc_soap.emulator import EmulatorServer
from smsc_soap.lowlevel import php_parse_str


def _query_of(server: EmulatorServer) -> str:
    from lxml import etree

    (record,) = server.requests
    return etree.fromstring(record.body).findtext(".//query") or ""


def test_keyword_options_are_encoded_into_query(
    smsc_emulator: EmulatorServer, smsc_client: SoapSmsc
) -> None:
    """send_sms2(..., translit=1, valid='01:00', cost=3) arrives as typed query parameters."""
    result = smsc_client.send_sms2("+79990000001", "Hello", translit=1, valid="01:00", cost=3)
    assert result.balance is not None and result.cost is not None
    query = php_parse_str(_query_of(smsc_emulator))
    assert query["translit"] == "1" and query["valid"] == "01:00" and query["cost"] == "3"


def test_options_object_and_keywords_merge(
    smsc_emulator: EmulatorServer, smsc_client: SoapSmsc
) -> None:
    """An options object and extra keywords combine; the same option twice is refused."""
    smsc_client.send_sms2("+79990000001", "Hello", options=SendOptions(maxsms=2), tinyurl=True)
    query = php_parse_str(_query_of(smsc_emulator))
    assert (query["maxsms"], query["tinyurl"]) == ("2", "1")
    smsc_emulator.reset()
    with pytest.raises(s.SmscValidationError, match="maxsms"):
        smsc_client.send_sms2("+79990000001", "x", options=SendOptions(maxsms=2), maxsms=3)
    assert smsc_emulator.requests == []


def test_misspelled_keyword_is_a_type_error_and_sends_nothing(
    smsc_emulator: EmulatorServer, smsc_client: SoapSmsc
) -> None:
    """A misspelled option raises TypeError naming valid options, without echoing the value."""
    with pytest.raises(TypeError) as info:
        smsc_client.send_sms2("+79990000001", "Hello", transilt="SECRET-VALUE")
    assert "translit" in str(info.value) and "SECRET-VALUE" not in str(info.value)
    assert smsc_emulator.requests == []


def test_cost2_and_status2_take_options(
    smsc_emulator: EmulatorServer, smsc_client: SoapSmsc
) -> None:
    """get_sms_cost2 and get_status2 accept typed options too."""
    cost = smsc_client.get_sms_cost2("+79990000001", "Привет", translit=1)
    assert cost.cnt == 1
    sent = smsc_client.send_sms2("+79990000001", "Hello")
    status = smsc_client.get_status2(sent.id, "+79990000001", all=1)
    assert status.status in {s.MessageStatus.WAITING, s.MessageStatus.TRANSFERRED}


def test_cost_1_on_a_send_points_to_get_sms_cost2(
    smsc_emulator: EmulatorServer, smsc_client: SoapSmsc
) -> None:
    """cost=1 would make send_sms2 a price query with no message id: refused before sending."""
    for call in (
        lambda: smsc_client.send_sms2("+79990000001", "Hello", cost=1),
        lambda: smsc_client.send_sms2("+79990000001", "Hello", query={"cost": 1}),
    ):
        with pytest.raises(s.SmscValidationError, match="get_sms_cost2") as info:
            call()
        assert info.value.field == "cost"
    assert smsc_emulator.requests == []
