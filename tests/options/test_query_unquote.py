"""php_parse_str decodes ``query`` values exactly as ``urllib.parse.unquote_plus`` (UTF-8, replace)."""

from __future__ import annotations

from urllib.parse import quote_from_bytes, unquote_plus

from hypothesis import example, given
from hypothesis import strategies as st

from smsc_soap._params.query import _unquote_plus, php_parse_str

# Escapes good and bad, backslashes (the fast decoder's own escape character), plus signs, and
# non-ASCII characters, which send a text the standard way.
_PIECES = st.one_of(
    st.sampled_from(["%", "%4", "%41", "%e2%82%ac", "%D0%B6", "%d0", "%B6", "%zz", "%%41", "%0A"]),
    st.sampled_from(["\\", "\\x41", "\\n", "+", "a", "Z", "0", "x", ":", "&", "=", " ", "\n"]),
    st.sampled_from(["ж", "€", "😀", "\x00", "\x7f"]),
    st.binary(max_size=6).map(quote_from_bytes),  # any bytes escaped: invalid UTF-8 included
)


@given(st.lists(_PIECES, max_size=30).map("".join))
@example("79991234567%3AHello%2C+world%21%0A79991234568%3A%D0%9F%D1%80%D0%B8")
@example("%ff%fe")
@example("%E2%82")
@example("%E2%82a%AC")
@example("a\\x41%41")
@example("100%")
def test_values_decode_as_unquote_plus_does(text: str) -> None:
    """The fast decoding gives what the standard function gives, replacement characters included."""
    assert _unquote_plus(text) == unquote_plus(text, encoding="utf-8", errors="replace")


def test_a_query_decodes_keys_and_values() -> None:
    """Keys and values both decode; a bad escape stays as it is, as PHP and urllib leave it."""
    assert php_parse_str("list=7999%3Ahi%2C+%D0%B6&a%62c=%zz+1&%20sp.ace=\\x41") == {
        "list": "7999:hi, ж",
        "abc": "%zz 1",
        "sp_ace": "\\x41",
    }
