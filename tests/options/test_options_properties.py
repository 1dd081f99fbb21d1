"""Property tests: any valid options encode into a query that PHP's parse_str reads back exactly."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smsc_soap import ListMessage, SendOptions, SmscValidationError
from smsc_soap._params.arguments import send_fields
from smsc_soap.lowlevel import php_parse_str

# Text the service can carry: no C0 controls but \t\n\r, no surrogates, no U+FFFE/U+FFFF.
TEXT = st.text(
    st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13))
        + "\ufffe\uffff",
    ),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "")
LINE = TEXT.filter(lambda s: "\n" not in s and "\r" not in s)
PHONE = st.from_regex(r"\+?7[0-9]{10}", fullmatch=True)

OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "translit": st.integers(0, 2),
        "tz": st.integers(-15, 11),
        "cost": st.sampled_from([0, 2, 3]),  # cost=1 is a price query, refused on a send
        "valid": st.one_of(st.integers(1, 24), st.sampled_from(["00:01", "12:30", "24:00"])),
        "maxsms": st.integers(1, 1000),
        "tinyurl": st.booleans(),
        "err": st.booleans(),
        "op": st.booleans(),
        "smsreq": st.integers(10, 999),
        "pp": st.integers(1, 10**9),
        "fileurl": st.from_regex(r"https://example\.com/[a-z0-9&=?%+#]{0,20}", fullmatch=True),
    },
)
KIND: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {},
        {"flash": True},
        {"viber": True},
        {"mms": True, "subj": LINE},
        {"call": True, "voice": "w2,de", "param": (25, 60, 3)},
        {"tg": True, "bot": "@shop_bot"},
    ]
)


@st.composite
def valid_options(draw: st.DrawFn) -> dict[str, Any]:
    """Draw the keyword arguments of a valid SendOptions."""
    values = draw(OPTIONS)
    kind = draw(KIND)
    for key, value in kind.items():
        values[key] = draw(value) if isinstance(value, st.SearchStrategy) else value
    return values


@settings(max_examples=300, deadline=None)
@given(valid_options())
def test_valid_options_round_trip_through_parse_str(kwargs: dict[str, Any]) -> None:
    """What SendOptions encodes, parse_str decodes to the same key/values, with no extra key."""
    options = SendOptions(**kwargs)
    expected = options.to_query("send_sms2")
    expected.setdefault("cost", "3")  # send_sms2's own default: the cost and the new balance
    fields, _ = send_fields("send_sms2", "79991234567", "text", None, None, None, None, options)
    assert php_parse_str(fields.get("query", "")) == expected


@settings(max_examples=300, deadline=None)
@given(LINE, TEXT)
def test_no_value_can_inject_a_key(subj: str, raw: str) -> None:
    """Any subject or raw query value stays one value: the decoded keys are exactly those sent."""
    options = SendOptions(mms=True, subj=subj)
    fields, _ = send_fields(
        "send_sms2", "79991234567", "text", None, None, None, {"x": raw}, options
    )
    decoded = php_parse_str(fields["query"])
    assert set(decoded) == {"mms", "subj", "x", "cost"}
    assert decoded["subj"] == subj and decoded["x"] == raw


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(PHONE, min_size=1, max_size=3), TEXT.filter(lambda s: "\\n" not in s)),
        min_size=1,
        max_size=5,
    )
)
def test_list_round_trip(lines: list[tuple[list[str], str]]) -> None:
    """A list decodes to one line per message, texts recovered by undoing the newline escape."""
    messages = [ListMessage(phones, mes) for phones, mes in lines]
    fields, _ = send_fields("send_sms2", "", "", None, None, None, None, SendOptions(list=messages))
    decoded = php_parse_str(fields["query"])
    assert set(decoded) == {"list", "cost"}
    got = decoded["list"].split("\n")
    assert len(got) == len(lines)
    for line, (_phones, mes) in zip(got, lines, strict=True):
        text = line.partition(":")[2].replace("\\n", "\n")
        assert text == mes.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_phones_either_refused_or_digits(raw: str) -> None:
    """Any phones text is refused with SmscValidationError or sent as clean numbers and groups."""
    try:
        fields, _ = send_fields("send_sms2", raw, "hi", None, None, None)
    except SmscValidationError:
        return
    for item in fields["phones"].split(","):
        assert item.lstrip("+").isascii() and (item.lstrip("+").isdigit() or item.startswith("G"))
