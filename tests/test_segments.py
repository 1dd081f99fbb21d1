"""Message splitting: GSM-7 with its extension table, UCS-2 with surrogate pairs, and the cost estimate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smsc_soap import Segments, estimate_cost, segments
from smsc_soap._params.segments import count_parts, truncate_to_parts


def test_empty_text_takes_no_parts() -> None:
    """An empty text is 0 parts with the whole single-part room left."""
    assert segments("") == Segments("gsm7", 0, 0, 160, 160)


@pytest.mark.parametrize(
    ("length", "parts", "per_part", "left"),
    [(1, 1, 160, 159), (160, 1, 160, 0), (161, 2, 153, 145), (306, 2, 153, 0), (307, 3, 153, 152)],
)
def test_gsm7_boundaries(length: int, parts: int, per_part: int, left: int) -> None:
    """GSM-7 takes 160 septets in one SMS and 153 per part beyond."""
    assert segments("a" * length) == Segments("gsm7", length, parts, per_part, left)


@pytest.mark.parametrize(
    ("length", "parts", "per_part", "left"),
    [(70, 1, 70, 0), (71, 2, 67, 63), (134, 2, 67, 0), (135, 3, 67, 66)],
)
def test_ucs2_boundaries(length: int, parts: int, per_part: int, left: int) -> None:
    """Cyrillic goes UCS-2: 70 in one SMS, 67 per part beyond."""
    assert segments("ж" * length) == Segments("ucs2", length, parts, per_part, left)


def test_extension_characters_count_double() -> None:
    """€ and the other extension-table characters take two septets each."""
    assert segments("€" * 80) == Segments("gsm7", 160, 1, 160, 0)
    assert segments("€" * 81).parts == 2
    assert segments("{}[]~|^\\\f").length == 18


def test_escape_pair_is_never_cut_between_parts() -> None:
    """A two-septet character that would straddle a part boundary moves to the next part."""
    text = "a" * 152 + "€" + "a" * 10
    result = segments(text)
    assert (result.parts, result.length) == (2, 164)
    assert result.chars_left_in_part == 153 - 12


def test_gsm_basic_specials_stay_gsm7() -> None:
    """Accented letters of the basic table (é, ñ, Ä, £, Δ) keep GSM-7; ç (lowercase) does not."""
    assert segments("éñÄ£Δ@").encoding == "gsm7"
    assert segments("ç").encoding == "ucs2"


def test_emoji_counts_two_utf16_units() -> None:
    """An emoji is a surrogate pair: two UCS-2 units, never split across parts."""
    assert segments("😀") == Segments("ucs2", 2, 1, 70, 68)
    result = segments("ж" * 66 + "😀" + "ж")
    assert (result.length, result.parts, result.chars_left_in_part) == (69, 1, 1)
    split = segments("ж" * 66 + "😀" + "ж" * 4)
    assert (split.parts, split.chars_left_in_part) == (2, 67 - 6)


def test_truncate_to_parts_keeps_the_longest_fitting_prefix() -> None:
    """maxsms truncation keeps as much text as fits the allowed parts."""
    assert truncate_to_parts("a" * 400, 2) == "a" * 306
    assert truncate_to_parts("ж" * 100, 1) == "ж" * 70
    assert truncate_to_parts("short", 1) == "short"
    with pytest.raises(ValueError):
        truncate_to_parts("x", 0)


def test_estimate_cost_multiplies_parts_recipients_and_price() -> None:
    """The estimate is parts × recipients × price per part, exact in Decimal."""
    assert estimate_cost("ж" * 71, 3, Decimal("1.95")) == Decimal("11.70")
    assert estimate_cost("", 3, Decimal("1.95")) == Decimal("0")
    with pytest.raises(ValueError):
        estimate_cost("x", -1, Decimal(1))


# ----- the fast count against a plain reference, on random texts ---------------------------------

_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION = "\f^{}\\[~]|€"


def _reference(mes: str) -> Segments:
    """Segments counted one character at a time, the way the rules read (no shortcuts)."""
    if all(char in _BASIC or char in _EXTENSION for char in mes):
        encoding, single, multi = "gsm7", 160, 153
        widths = [2 if char in _EXTENSION else 1 for char in mes]
    else:
        encoding, single, multi = "ucs2", 70, 67
        widths = [len(char.encode("utf-16-le", "surrogatepass")) // 2 for char in mes]
    length = sum(widths)
    if length == 0:
        return Segments(encoding, 0, 0, single, single)  # type: ignore[arg-type]
    if length <= single:
        return Segments(encoding, length, 1, single, single - length)  # type: ignore[arg-type]
    parts, used = 1, 0
    for width in widths:  # a wide character that does not fit starts the next part
        if used + width > multi:
            parts, used = parts + 1, 0
        used += width
    return Segments(encoding, length, parts, multi, multi - used)  # type: ignore[arg-type]


_TEXT_CHARS = st.one_of(
    st.sampled_from(_BASIC),
    st.sampled_from(_EXTENSION),
    st.sampled_from("жЁїç"),
    st.sampled_from("😀🎉"),
    st.sampled_from("\ud800\udfff"),  # lone surrogates: one UCS-2 unit each
    st.characters(),
)


@given(
    st.one_of(
        st.text(st.sampled_from(_BASIC), max_size=700),
        st.text(st.one_of(st.sampled_from(_BASIC), st.sampled_from(_EXTENSION)), max_size=700),
        st.text(st.one_of(st.sampled_from(_BASIC), st.sampled_from("жЁ😀")), max_size=400),
        st.text(_TEXT_CHARS, max_size=400),
    )
)
@example("a" * 152 + "€" + "a" * 10)
@example("€" * 81)
@example("€" * 200)
@example("ж" * 66 + "😀" + "ж" * 4)
@example("😀" * 36)
@example("ж" * 134)
@example("a" * 306)
def test_segments_match_a_character_by_character_count(mes: str) -> None:
    """The fast count gives exactly what counting each character's units and packing gives."""
    expected = _reference(mes)
    assert segments(mes) == expected
    assert count_parts(mes) == expected.parts
