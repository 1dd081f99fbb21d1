"""The documented options as the SOAP page states them: raw ``query`` keys checked like the typed
keywords, ``cost=1`` refused everywhere, ``list`` with ``nl=1``, and binary messages (S:59-63, S:114,
S:117-121)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from smsc_soap import ListMessage, SendOptions, SmscValidationError, SoapSmsc
from smsc_soap._params.arguments import cost_fields, send_fields, status_fields
from smsc_soap._params.listmsg import encode_list
from smsc_soap._params.query import php_parse_str
from smsc_soap.emulator import EmulatorServer

from ..wire import php_reply

PHONE = "79991234567"


def send(query: Any = None, mes: str = "x", phones: str = PHONE, **options: Any) -> dict[str, str]:
    opts = SendOptions(**options) if options else None
    return send_fields("send_sms2", phones, mes, None, None, None, query, opts)[0]


# ------------------------------------------------------------------ raw query keys


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"valid": "99"}, "valid"),
        ("valid=99", "valid"),
        ({"translit": 5}, "translit"),
        ({"tz": "99"}, "tz"),
        ({"maxsms": "0"}, "maxsms"),
        ({"flash": "yes"}, "flash"),
        ({"period": "1000"}, "period"),
        ({"userip": "not-an-ip"}, "userip"),
        ({"bot": "@x_bot"}, "bot"),  # bot needs tg=1: the cross-option rules apply too
        ({"freq": "5"}, "freq"),  # freq needs period
        ({"del": "1"}, "delete"),  # status only
    ],
)
def test_raw_query_option_keys_get_the_typed_checks(query: Any, field: str) -> None:
    """``send_sms2(query={"valid": "99"})`` raises as ``send_sms2(valid=99)`` does, naming the option."""
    with pytest.raises(SmscValidationError) as info:
        send(query)
    assert info.value.field == field
    assert field in str(info.value) or "del" in str(info.value)


def test_valid_raw_options_and_unknown_keys_pass() -> None:
    """Valid values pass as sent; keys that are no option (newer parameters) still pass unchecked."""
    fields = send({"valid": "01:30", "translit": "1", "period": "0.5", "freq": "5", "newer": "z"})
    assert php_parse_str(fields["query"]) == {
        "valid": "01:30",
        "translit": "1",
        "period": "0.5",
        "freq": "5",
        "newer": "z",
        "cost": "3",
    }


def test_raw_query_and_typed_options_are_checked_together() -> None:
    """A raw key and a typed option together pass the cross-option rules (freq with period)."""
    fields = send({"freq": "5"}, period=1)
    assert php_parse_str(fields["query"])["freq"] == "5"
    with pytest.raises(SmscValidationError) as info:
        send({"flash": "1"}, hlr=True)
    assert info.value.field in ("flash", "hlr")


def test_status2_raw_query_takes_only_delete() -> None:
    assert php_parse_str(status_fields("get_status2", 1, PHONE, 0, {"del": "1"})["query"]) == {
        "del": "1"
    }
    with pytest.raises(SmscValidationError) as info:
        status_fields("get_status2", 1, PHONE, 0, {"translit": "1"})
    assert info.value.field == "translit"


# ------------------------------------------------------------------ cost


@pytest.mark.parametrize(
    "call",
    [
        lambda: SendOptions(cost=1),
        lambda: send({"cost": "1"}),
        lambda: send("cost=1"),
        lambda: cost_fields("get_sms_cost2", PHONE, "x", {"cost": "1"}),
        lambda: status_fields("get_status2", 1, PHONE, 0, {"cost": "1"}),
    ],
)
def test_cost_1_is_refused_everywhere(call: Any) -> None:
    """cost=1 asks the price and sends nothing: refused with a pointer to get_sms_cost2."""
    with pytest.raises(SmscValidationError) as info:
        call()
    assert "get_sms_cost2" in str(info.value) or "cost" in str(info.value)
    assert info.value.field in ("cost", "query")


def test_send_sms2_asks_cost_3_unless_the_caller_sets_cost() -> None:
    assert php_parse_str(send()["query"]) == {"cost": "3"}
    assert php_parse_str(send(cost=0)["query"]) == {"cost": "0"}
    assert php_parse_str(send({"cost": "2"})["query"]) == {"cost": "2"}
    assert php_parse_str(send(translit=1)["query"]) == {"translit": "1", "cost": "3"}


# ------------------------------------------------------------------ list and nl


def test_nl_keeps_real_newlines_in_list_texts() -> None:
    """With nl=True a text runs over lines as it is; a backslash-n stays two characters."""
    fields = send(
        mes="",
        phones="",
        list=[ListMessage(PHONE, "line one\r\nline two"), (["79881234567"], "C:\\new")],
        nl=True,
    )
    decoded = php_parse_str(fields["query"])
    assert decoded["nl"] == "1"
    assert decoded["list"] == f"{PHONE}:line one\nline two\n79881234567:C:\\new"


@pytest.mark.parametrize("line", ["79881234567: hi", "+7 988 123-45-67;x", "Shop|tail"])
def test_nl_refuses_a_text_line_that_reads_as_another_message(line: str) -> None:
    with pytest.raises(SmscValidationError, match="line 2") as info:
        encode_list([(PHONE, f"first\n{line}")], nl=True)
    assert info.value.field == "list"


def test_nl_text_lines_that_are_not_recipients_pass() -> None:
    assert encode_list([(PHONE, "Total: 5\nSee: you")], nl=True) == f"{PHONE}:Total: 5\nSee: you"


def test_ready_list_string_with_nl_may_continue_lines() -> None:
    """A ready-made list string: with nl=True only its first line must start with 'phones:'."""
    text = f"{PHONE}:first line\nsecond line\n79881234567:other"
    assert php_parse_str(send(mes="", phones="", list=text, nl=True)["query"])["list"] == text
    with pytest.raises(SmscValidationError, match="nl=True") as info:
        SendOptions(list=text)
    assert info.value.field == "list"
    # The same through a raw query.
    raw = send({"list": text, "nl": "1"}, mes="", phones="")
    assert php_parse_str(raw["query"])["list"] == text


def test_list_through_the_emulator_with_nl(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """Multi-line texts with nl=1 reach the emulator as one message each, backslashes kept."""
    sent = smsc_client.send_sms2(
        list=[
            (PHONE, "Dear Anna,\nyour order: 42\n\nC:\\new"),
            ("79881234567", "one line"),
            ("79771234567", "Total: 5\nBye"),
        ],
        nl=True,
    )
    assert sent.cnt == 3
    texts = {m.phones: m.text for m in smsc_emulator.messages}
    assert texts == {
        (PHONE,): "Dear Anna,\nyour order: 42\n\nC:\\new",
        ("79881234567",): "one line",
        ("79771234567",): "Total: 5\nBye",
    }


# ------------------------------------------------------------------ binary messages


@pytest.mark.parametrize("mes", ["\x05\x00\x03\x01\x02\x01Hi", "\x00Hello"])
def test_bin_1_with_udh_or_zero_bytes_points_to_bin_2(mes: str) -> None:
    """bin=1 bytes with a UDH or zero bytes cannot travel in XML 1.0: the error says so."""
    with pytest.raises(SmscValidationError) as info:
        send(mes=mes, bin=1)
    text = str(info.value)
    assert info.value.field == "mes"
    assert "XML 1.0" in text and "bin=2" in text


def test_bin_1_with_printable_bytes_passes() -> None:
    assert send(mes="plain", bin=1)["mes"] == "plain"


@pytest.mark.parametrize(
    "mes",
    [
        "0048656c6c6f",
        "0048656C6C6F\n~~~\npid: 0, dcs: 4",
        "0005000301020348\n~~~\npid: 65, dcs: 245",
    ],
)
def test_bin_2_takes_hex_with_the_pid_dcs_suffix(mes: str) -> None:
    assert send(mes=mes, bin=2)["mes"] == mes


@pytest.mark.parametrize(
    "mes",
    [
        "0048656c6c6f\n~~~\npid:0, dcs:4",  # the spacing is exact
        "0048656c6c6f\n~~~\npid: 0",
        "0048656c6c6f\n~~~\npid: 0, dcs: 256",
        "0048656c6c6\n~~~\npid: 0, dcs: 4",
        "0048656c6c6f\n~~\npid: 0, dcs: 4",
    ],
)
def test_bin_2_refuses_a_malformed_suffix(mes: str) -> None:
    with pytest.raises(SmscValidationError) as info:
        send(mes=mes, bin=2)
    assert info.value.field == "mes"


def test_bin_2_suffix_reaches_the_wire_exactly(httpserver: HTTPServer) -> None:
    """The hex and its pid/dcs suffix arrive as one <mes>, newlines and spaces intact."""
    from lxml import etree

    seen: list[bytes] = []

    def handler(request: Request) -> Response:
        seen.append(request.get_data())
        return Response(php_reply("send_sms2", "<id>b-1</id><cnt>1</cnt>"), content_type="text/xml")

    httpserver.expect_request("/sys/soap.php").respond_with_handler(handler)
    mes = "0048656c6c6f\n~~~\npid: 0, dcs: 4"
    with SoapSmsc("alex", "123", endpoint=httpserver.url_for("/sys/soap.php")) as client:
        client.send_sms2(PHONE, mes, id="b-1", bin=2)
    assert etree.fromstring(seen[0]).findtext(".//mes") == mes


# ------------------------------------------------------------------ one phone rule


def test_client_and_emulator_share_the_7_to_15_digit_rule(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """A 7-digit number the client accepts is accepted by the emulator too; 6 or 16 digits by neither."""
    sent = smsc_client.send_sms("1234567", "short number", id="short-1")
    assert smsc_client.get_status(sent.id, "1234567").status is not None
    longest = smsc_client.send_sms("+" + "1" * 15, "long number", id="long-1")
    assert longest.cnt == 1
    for bad in ("123456", "1" * 16):
        with pytest.raises(SmscValidationError) as info:
            smsc_client.send_sms(bad, "x")
        assert info.value.field == "phones" and "7-15 digits" in str(info.value)
    assert [m.phones for m in smsc_emulator.messages] == [("1234567",), ("1" * 15,)]


@pytest.mark.parametrize(("query", "field"), [({"cost": 1}, "cost"), ({"valid": "99"}, "valid")])
def test_send_bulk_refuses_bad_options_before_any_batch(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, tmp_path: Any, query: Any, field: str
) -> None:
    """send_bulk's query gets the same checks up front: nothing is journaled, nothing sent."""
    from smsc_soap import send_bulk

    journal = tmp_path / "run.db"
    with pytest.raises(SmscValidationError) as info:
        send_bulk(smsc_client, [(PHONE, "a"), ("79991234568", "b")], journal=journal, query=query)
    assert info.value.field == field
    assert not journal.exists() and smsc_emulator.requests == []


def test_raw_list_error_speaks_of_lines() -> None:
    """A raw list that is no list says what a line needs, even when it looks like a number."""
    with pytest.raises(SmscValidationError, match="no ':'") as info:
        send({"list": "5"}, mes="", phones="")
    assert info.value.field == "list"
