"""One test per option: accepted values encode as the service expects, refused values name the option."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from smsc_soap import SendOptions, SmscValidationError
from smsc_soap._params.options import KINDS


def encoded(**kwargs: Any) -> dict[str, str]:
    """Return the query pairs of SendOptions(**kwargs)."""
    return SendOptions(**kwargs).to_query()


def refused(name: str, **kwargs: Any) -> SmscValidationError:
    """Assert SendOptions(**kwargs) is refused with an error that names ``name``."""
    with pytest.raises(SmscValidationError) as info:
        SendOptions(**kwargs)
    assert info.value.field == name
    assert name in str(info.value)
    return info.value


def test_no_options_encode_to_nothing() -> None:
    """An empty SendOptions sends no parameter at all."""
    assert encoded() == {}


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (1, "1"), (2, "2")])
def test_translit_accepts_0_1_2(value: int, text: str) -> None:
    """translit is sent as 0, 1 or 2."""
    assert encoded(translit=value) == {"translit": text}


@pytest.mark.parametrize("value", [3, -1, True, "1", 1.0])
def test_translit_refuses_others(value: object) -> None:
    """translit refuses anything but the ints 0, 1, 2."""
    refused("translit", translit=value)


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (-3, "-3"), (11, "11"), (-15, "-15"), (timedelta(hours=5), "2")]
)
def test_tz_accepts_hours_from_moscow(value: object, text: str) -> None:
    """tz takes whole hours relative to Moscow, or a UTC offset as a timedelta."""
    assert encoded(tz=value) == {"tz": text}


@pytest.mark.parametrize("value", [12, -16, 1.5, timedelta(hours=5, minutes=30), True, "x"])
def test_tz_refuses_out_of_range(value: object) -> None:
    """tz refuses offsets outside -15..11 and half-hour zones."""
    refused("tz", tz=value)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.1, "0.1"), (720, "720"), (Decimal("2.50"), "2.5"), (timedelta(minutes=90), "1.5")],
)
def test_period_accepts_hours(value: object, text: str) -> None:
    """period takes 0.1..720 hours, written without an exponent."""
    assert encoded(period=value)["period"] == text


@pytest.mark.parametrize("value", [0.09, 0, 720.5, float("nan"), float("inf"), True, "5"])
def test_period_refuses_out_of_range(value: object) -> None:
    """period refuses values outside 0.1..720 hours and non-numbers."""
    refused("period", period=value)


@pytest.mark.parametrize(("value", "text"), [(1, "1"), (1440, "1440"), (timedelta(hours=1), "60")])
def test_freq_accepts_minutes_with_period(value: object, text: str) -> None:
    """freq takes 1..1440 minutes when period is given."""
    assert encoded(period=1, freq=value)["freq"] == text


@pytest.mark.parametrize("value", [0, 1441, 2.5, timedelta(seconds=90)])
def test_freq_refuses_out_of_range(value: object) -> None:
    """freq refuses values outside 1..1440 whole minutes."""
    refused("freq", period=1, freq=value)


def test_freq_without_period_is_refused() -> None:
    """freq alone is refused, since the service would ignore it."""
    error = refused("freq", freq=10)
    assert "period" in str(error)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "bin"])
def test_kind_flags_encode_as_1_and_0(kind: str) -> None:
    """Every message-kind flag is sent as 1 when True and 0 when False."""
    extra = {"subj": "s"} if kind == "mail" else {}
    assert encoded(**{kind: True}, **extra)[kind] == "1"
    assert encoded(**{kind: False})[kind] == "0"


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "bin"])
def test_kind_flags_refuse_non_bool(kind: str) -> None:
    """A kind flag refuses values other than True/False/0/1."""
    refused(kind, **{kind: "yes"})
    refused(kind, **{kind: 2})


@pytest.mark.parametrize("value", [0, 1, 2])
def test_bin_accepts_0_1_2(value: int) -> None:
    """bin is 0 (text), 1 (binary) or 2 (hex)."""
    assert encoded(bin=value) == {"bin": str(value)}


@pytest.mark.parametrize("value", [3, True, "2"])
def test_bin_refuses_others(value: object) -> None:
    """bin refuses anything but 0, 1, 2."""
    refused("bin", bin=value)


@pytest.mark.parametrize("name", ["tinyurl", "err", "op"])
def test_plain_flags_encode_as_1_and_0(name: str) -> None:
    """tinyurl, err and op are sent as 1/0."""
    assert encoded(**{name: True}) == {name: "1"}
    assert encoded(**{name: 0}) == {name: "0"}
    refused(name, **{name: "1"})


@pytest.mark.parametrize("value", ["@my_bot", "@SmscTestBot", "@ab_bot"])
def test_bot_accepts_bot_names(value: str) -> None:
    """bot takes a Telegram bot name '@name_bot' with tg."""
    assert encoded(tg=True, bot=value)["bot"] == value


@pytest.mark.parametrize(
    "value", ["my_bot", "@my_user", "@_bot", "@a b_bot", "@" + "x" * 40 + "bot"]
)
def test_bot_refuses_other_names(value: str) -> None:
    """bot refuses names without '@' or the 'bot' ending."""
    refused("bot", tg=True, bot=value)


@pytest.mark.parametrize("value", [10, 999])
def test_smsreq_accepts_10_to_999(value: int) -> None:
    """smsreq takes 10..999 days."""
    assert encoded(smsreq=value) == {"smsreq": str(value)}


@pytest.mark.parametrize("value", [9, 1000, "30"])
def test_smsreq_refuses_out_of_range(value: object) -> None:
    """smsreq refuses values outside 10..999."""
    refused("smsreq", smsreq=value)


def test_fileurl_accepts_http_urls() -> None:
    """fileurl takes an absolute http(s) URL."""
    url = "https://example.com/a.jpg?x=1&y=2"
    assert encoded(mms=True, fileurl=url)["fileurl"] == url


@pytest.mark.parametrize("value", ["ftp://x/a", "example.com/a", "https:///a", "http://a b/c", ""])
def test_fileurl_refuses_others(value: str) -> None:
    """fileurl refuses other schemes, relative URLs and spaces."""
    refused("fileurl", fileurl=value)


@pytest.mark.parametrize(
    ("value", "text"), [("m", "m"), ("w4", "w4"), ("m,en", "m,en"), ("w, fr", "w,fr")]
)
def test_voice_accepts_documented_voices(value: str, text: str) -> None:
    """voice takes m, m2..m4, w, w2..w4, optionally with a language."""
    assert encoded(call=True, voice=value)["voice"] == text


@pytest.mark.parametrize("value", ["m5", "x", "m,english", "M", "m,EN", ""])
def test_voice_refuses_others(value: str) -> None:
    """voice refuses undocumented voices and malformed languages."""
    refused("voice", call=True, voice=value)


def test_voice_needs_call() -> None:
    """voice without call=True is refused."""
    refused("voice", voice="m")


@pytest.mark.parametrize(
    ("value", "text"), [("25,60,3", "25,60,3"), ((10, 3600, 9), "10,3600,9"), ("0, 0, 0", "0,0,0")]
)
def test_param_accepts_w_i_n(value: object, text: str) -> None:
    """param takes wait 0..99, interval 0..3600, attempts 0..9."""
    assert encoded(call=True, param=value)["param"] == text


@pytest.mark.parametrize(
    "value", ["100,60,3", "25,3601,3", "25,60,10", "25,60", (1, 2), (1, 2, True)]
)
def test_param_refuses_out_of_range(value: object) -> None:
    """param refuses values the service would silently reset to its defaults."""
    refused("param", call=True, param=value)


def test_param_needs_call() -> None:
    """param without call=True is refused."""
    refused("param", param="25,60,3")


def test_subj_accepted_for_mms_and_mail() -> None:
    """subj is sent for MMS and e-mail."""
    assert encoded(mms=True, subj="Hello")["subj"] == "Hello"
    assert encoded(mail=True, subj="Hello")["subj"] == "Hello"


@pytest.mark.parametrize("value", ["", "a\nb", 5])
def test_subj_refuses_bad_text(value: object) -> None:
    """subj refuses empty, multi-line and non-text values."""
    refused("subj", mms=True, subj=value)


def test_subj_without_mms_or_mail_is_refused() -> None:
    """subj on a plain SMS is refused."""
    refused("subj", subj="Hello")


@pytest.mark.parametrize("value", [0, 2, 3])
def test_cost_accepts_0_2_3(value: int) -> None:
    """cost takes 0, 2 and 3 (all of them send)."""
    assert encoded(cost=value) == {"cost": str(value)}


@pytest.mark.parametrize("value", [1, 4, -1, True])
def test_cost_refuses_others(value: object) -> None:
    """cost refuses 1 (a price query that sends nothing) and values outside 0..3."""
    refused("cost", cost=value)


def test_cost_1_points_to_get_sms_cost2() -> None:
    """cost=1 is refused wherever it is given, with a pointer to get_sms_cost2."""
    with pytest.raises(SmscValidationError, match="get_sms_cost2") as info:
        SendOptions(cost=1)
    assert info.value.field == "cost"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (24, "24"),
        ("00:01", "00:01"),
        ("24:00", "24:00"),
        ("12", "12"),
        (timedelta(minutes=90), "01:30"),
    ],
)
def test_valid_accepts_hours_and_hhmm(value: object, text: str) -> None:
    """valid takes 1..24 hours or hh:mm from 00:01 to 24:00."""
    assert encoded(valid=value) == {"valid": text}


@pytest.mark.parametrize(
    "value", [0, 25, "00:00", "24:01", "12:60", "1:30", True, timedelta(hours=25)]
)
def test_valid_refuses_out_of_range(value: object) -> None:
    """valid refuses lifetimes outside 1 minute .. 24 hours."""
    refused("valid", valid=value)


@pytest.mark.parametrize("value", [1, 5, 1000])
def test_maxsms_accepts_positive(value: int) -> None:
    """maxsms takes a number of parts >= 1."""
    assert encoded(maxsms=value) == {"maxsms": str(value)}


@pytest.mark.parametrize("value", [0, -1, True, "3"])
def test_maxsms_refuses_zero_and_non_ints(value: object) -> None:
    """maxsms refuses 0, negatives and non-ints."""
    refused("maxsms", maxsms=value)


def test_imgcode_needs_userip() -> None:
    """imgcode without userip is refused; with it both are sent."""
    refused("imgcode", imgcode="ab12")
    assert encoded(imgcode="ab12", userip="10.0.0.1") == {"imgcode": "ab12", "userip": "10.0.0.1"}


@pytest.mark.parametrize("value", ["", "a b", "x" * 33, "код"])
def test_imgcode_refuses_bad_codes(value: str) -> None:
    """imgcode refuses empty, spaced, long or non-Latin codes."""
    refused("imgcode", imgcode=value, userip="10.0.0.1")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:DB8::1", "2001:db8::1"),
        (ipaddress.ip_address("10.1.2.3"), "10.1.2.3"),
    ],
)
def test_userip_accepts_addresses(value: object, text: str) -> None:
    """userip takes an IPv4 or IPv6 address."""
    assert encoded(userip=value) == {"userip": text}


@pytest.mark.parametrize("value", ["256.1.1.1", "host", "", 1])
def test_userip_refuses_others(value: object) -> None:
    """userip refuses anything but an IP address."""
    refused("userip", userip=value)


@pytest.mark.parametrize(("value", "text"), [(1, "1"), ("12345", "12345")])
def test_pp_accepts_partner_ids(value: object, text: str) -> None:
    """pp takes a positive partner id."""
    assert encoded(pp=value) == {"pp": text}


@pytest.mark.parametrize("value", [0, -5, "abc", "01", True])
def test_pp_refuses_others(value: object) -> None:
    """pp refuses non-positive and non-numeric ids."""
    refused("pp", pp=value)


def test_nl_needs_list() -> None:
    """nl applies to list only."""
    refused("nl", nl=True)
    assert encoded(nl=True, list="79991234567:a")["nl"] == "1"


def test_delete_is_sent_as_del() -> None:
    """delete (get_status2) is sent under the service's name 'del'."""
    assert SendOptions(delete=True).to_query("get_status2") == {"del": "1"}


def test_every_documented_parameter_is_a_field() -> None:
    """Every parameter the SOAP page documents for query has a field."""
    documented = {
        "tz", "period", "freq", "flash", "bin", "push", "hlr", "ping", "mms", "mail", "soc",
        "viber", "whatsapp", "tg", "bot", "smsreq", "fileurl", "call", "voice", "param", "subj",
        "cost", "list", "valid", "tinyurl", "maxsms", "imgcode", "userip", "err", "op", "pp", "nl",
        "translit",
    }  # fmt: skip
    assert documented <= set(SendOptions.__dataclass_fields__)


def test_options_are_frozen_and_hashable() -> None:
    """SendOptions cannot be changed after creation and can be hashed (a list becomes a tuple)."""
    options = SendOptions(list=[("79991234567", "a")])
    with pytest.raises(AttributeError):
        options.cost = 1  # type: ignore[misc]
    assert isinstance(options.list, tuple)
    assert hash(options) == hash(SendOptions(list=[("79991234567", "a")]))


def test_repr_shows_only_set_options() -> None:
    """The repr lists only the options that are set."""
    assert repr(SendOptions(cost=2)) == "SendOptions(cost=2)"
