"""Input checks of issue 2: UTF-8 text, the query encoding, hosts and endpoints, credentials."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

import smsc_soap as s
from smsc_soap import SoapSmsc
from smsc_soap._params.query import encode_query, reserved_keys
from smsc_soap.lowlevel import php_parse_str

LOCAL = "http://127.0.0.1:9/sys/soap.php"


@pytest.fixture
def client(httpserver: HTTPServer) -> SoapSmsc:
    """A client aimed at a server that must receive nothing."""
    return SoapSmsc("alex", "123", endpoint=httpserver.url_for("/sys/soap.php"))


# ----------------------------------------------------------------- UTF-8 enforcement

BAD_TEXT = [
    ("a\ud800b", "surrogate"),
    ("a\x00b", "control"),
    ("a\x07b", "control"),
    ("a\x1bb", "control"),
    ("\ufffe", "control"),
    (b"\xff\xfe", "UTF-8"),
    (123, "must be"),
]


@pytest.mark.parametrize(("value", "says"), BAD_TEXT)
@pytest.mark.parametrize("argument", ["mes", "phones", "sender"])
def test_bad_text_is_refused_before_io(
    httpserver: HTTPServer, client: SoapSmsc, argument: str, value: object, says: str
) -> None:
    """Lone surrogates, control characters and non-UTF-8 bytes fail naming the argument."""
    args: dict[str, object] = {"phones": "79999999999", "mes": "hi", "sender": "ivan"}
    args[argument] = value
    with pytest.raises(s.SmscValidationError) as info:
        client.send_sms(args["phones"], args["mes"], sender=args["sender"])  # type: ignore[arg-type]
    assert info.value.field == argument and argument in str(info.value)
    assert says in str(info.value)
    assert isinstance(info.value, ValueError)
    assert httpserver.log == []


def test_utf8_bytes_tab_newline_are_accepted(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """UTF-8 bytes decode; tab, CR and LF are allowed in the message."""
    from .wire import php_reply

    httpserver.expect_request("/sys/soap.php").respond_with_data(
        php_reply("send_sms", "<id>1</id><cnt>1</cnt>"), content_type="text/xml"
    )
    client.send_sms("79999999999", "Привет\tмир\r\n".encode(), id=1)  # type: ignore[arg-type]
    assert "Привет\tмир\r\n" in httpserver.log[0][0].get_data(as_text=True).replace("&#13;", "\r")


def test_message_length_limit(client: SoapSmsc) -> None:
    """mes is at most 1000 characters (code points); a 10 MB text fails fast."""
    with pytest.raises(s.SmscValidationError, match="1001 characters"):
        client.send_sms("79999999999", "x" * 1001)
    with pytest.raises(s.SmscValidationError, match="at most 1000"):
        client.send_sms("79999999999", "x" * 10_000_000)


@pytest.mark.parametrize("phones", ["", " ", ",", [], ";;"])
def test_empty_phones(client: SoapSmsc, phones: object) -> None:
    """No recipient at all is refused."""
    with pytest.raises(s.SmscValidationError) as info:
        client.send_sms(phones, "hi")  # type: ignore[arg-type]
    assert info.value.field == "phones"


# ----------------------------------------------------------------- query


def test_query_values_are_encoded_never_injected() -> None:
    """&, =, %, + and newlines stay inside their value."""
    query = {"subj": "a&psw=x", "param": "1=2", "text": "100% + more\nline", "flag": True}
    encoded = encode_query(query, "send_sms2")
    assert php_parse_str(encoded) == {
        "subj": "a&psw=x",
        "param": "1=2",
        "text": "100% + more\nline",
        "flag": "1",
    }


def test_query_value_types() -> None:
    """Values are str, int, bool or Decimal; floats are refused with a hint."""
    assert encode_query({"a": 5, "b": False, "c": Decimal("0.10")}, "send_sms2") == "a=5&b=0&c=0.10"
    with pytest.raises(s.SmscValidationError, match="Decimal"):
        encode_query({"a": 0.1}, "send_sms2")
    with pytest.raises(s.SmscValidationError, match="finite"):
        encode_query({"a": Decimal("NaN")}, "send_sms2")


@pytest.mark.parametrize("operation", ["send_sms2", "get_sms_cost2", "get_status2"])
def test_reserved_keys_refused(operation: str) -> None:
    """Keys that would override explicit arguments or credentials are refused, in any case."""
    for key in reserved_keys(operation):
        for spelled in (key, key.upper()):
            with pytest.raises(s.SmscValidationError, match="must not set"):
                encode_query({spelled: "x"}, operation)
            with pytest.raises(s.SmscValidationError, match="must not set"):
                encode_query(f"{spelled}=x", operation)
    assert {"login", "psw", "apikey"} <= reserved_keys(operation)


@pytest.mark.parametrize(
    "text",
    [
        "cost",
        "cost=1&",
        "a=1&&b=2",
        "a=b c",
        "a=1&a=2",
        "a=%zz",
        "a=x&b=y#z",
        "=1",
        "1a=2",
        "a.b=1",
    ],
)
def test_malformed_query_strings(text: str) -> None:
    """A ready string must be well-formed, URL-encoded k=v&k=v with distinct keys."""
    with pytest.raises(s.SmscValidationError):
        encode_query(text, "send_sms2")


def test_ready_query_string_passes_through() -> None:
    """A well-formed string is sent as given."""
    assert encode_query("cost=3&subj=%D0%9F%D1%80%D0%B8+x", "send_sms2") == (
        "cost=3&subj=%D0%9F%D1%80%D0%B8+x"
    )


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
            lambda k: k.lower() not in reserved_keys("send_sms2")
        ),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff")
        ).filter(lambda t: not any(0 < ord(c) < 32 and c not in "\t\n\r" for c in t)),
        max_size=6,
    )
)
def test_parse_str_of_what_we_send_gives_back_the_mapping(query: dict[str, str]) -> None:
    """For any mapping, PHP-style parse_str of the encoded query gives exactly that mapping."""
    assert php_parse_str(encode_query(query, "send_sms2")) == query


def test_php_parse_str_reads_like_php() -> None:
    """Our reference parse_str decodes + and %XX, maps dots and spaces in keys, last one wins."""
    assert php_parse_str("a+b.c=1+2&x=%D0%AF&x=2&&=3&e") == {"a_b_c": "1 2", "x": "2", "e": ""}
    assert php_parse_str(f"m={quote_plus('&=')}") == {"m": "&="}


# ----------------------------------------------------------------- hosts and endpoints


def test_host_presets() -> None:
    """Four presets, https endpoints, smsc.ua keeping its http namespace; smsc.ru by default."""
    assert set(s.HOSTS) == {"smsc.ru", "smsc.ua", "smsc.kz", "smscentre.com"}
    assert s.HOSTS["smsc.ua"].namespace == "http://smsc.ua/sys/soap.php"
    assert s.HOSTS["smsc.ua"].endpoint == "https://smsc.ua/sys/soap.php"
    client = SoapSmsc("alex", "123")
    assert client.endpoint == "https://smsc.ru/sys/soap.php" and client.host == "smsc.ru"


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://smsc.ru/sys/soap.php",
        "http://10.0.0.5/sys/soap.php",
        "ftp://127.0.0.1/",
        "https://user:pw@smsc.ru/sys/soap.php",
        "not a url",
        "",
    ],
)
def test_bad_endpoints_refused(endpoint: str) -> None:
    """Plain http only to loopback; no credentials in the URL; a real http(s) URL."""
    with pytest.raises(s.SmscConfigurationError) as info:
        SoapSmsc("alex", "123", endpoint=endpoint)
    assert info.value.field == "endpoint"


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8080/sys/soap.php",
        "http://localhost/x",
        "http://[::1]:1/x",
        "https://proxy.corp/soap",
    ],
)
def test_good_endpoints(endpoint: str) -> None:
    """Loopback http and any https URL are accepted."""
    assert SoapSmsc("alex", "123", endpoint=endpoint).endpoint == endpoint


def test_unknown_host_preset() -> None:
    """An unknown preset names the presets and points at endpoint=."""
    with pytest.raises(s.SmscConfigurationError, match=r"smsc\.kz.*endpoint="):
        SoapSmsc("alex", "123", host="example.com")


# ----------------------------------------------------------------- credentials and repr


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"login": "alex"}, "login"),
        ({"login": "", "psw": "S3cr3t-PSW"}, "login"),
        ({"login": "alex", "psw": ""}, "psw"),
        ({"login": "alex", "psw": "S3cr3t-PSW\r\n"}, "psw"),
        ({"login": "alex", "psw": 12345}, "psw"),
        ({"login": "alex", "psw": "S3cr3t-PSW", "apikey": "K"}, "apikey"),
        ({}, "login"),
    ],
)
def test_bad_credentials(kwargs: dict[str, object], field: str) -> None:
    """Credentials are checked at construction; the error names the field, never the value."""
    with pytest.raises(s.SmscConfigurationError) as info:
        SoapSmsc(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert "S3cr3t" not in str(info.value) and "12345" not in str(info.value)


def test_repr_shows_no_secret(sentinel_psw: str) -> None:
    """repr and str of a client show the login and endpoint, not the password or key."""
    client = SoapSmsc("alex", sentinel_psw, endpoint=LOCAL)
    keyed = SoapSmsc(apikey=sentinel_psw, endpoint=LOCAL)
    for text in (repr(client), str(client), repr(keyed), repr(client._credentials)):
        assert sentinel_psw not in text
    assert "alex" in repr(client) and "apikey=***" in repr(keyed)


def test_context_manager_closes(httpserver: HTTPServer) -> None:
    """After the with block the client refuses calls without touching the network."""
    with SoapSmsc("alex", "123", endpoint=httpserver.url_for("/sys/soap.php")) as client:
        pass
    with pytest.raises(s.ClientClosedError):
        client.get_balance()
    assert httpserver.log == []


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_form_quote_is_quote_plus(text: str) -> None:
    """The table-driven encoder writes exactly what urllib's quote_plus(safe="") writes."""
    from smsc_soap._params.query import form_quote

    assert form_quote(text) == quote_plus(text, safe="")


def test_form_quote_refuses_what_quote_plus_refuses() -> None:
    """A lone surrogate cannot be UTF-8: both raise (the text checks refuse it before, by name)."""
    from smsc_soap._params.query import form_quote

    for encode in (form_quote, lambda t: quote_plus(t, safe="")):
        with pytest.raises(UnicodeEncodeError):
            encode("a\ud800b")
    assert form_quote(" +%&=\n~._-Aa0я👋") == "+%2B%25%26%3D%0A~._-Aa0%D1%8F%F0%9F%91%8B"
