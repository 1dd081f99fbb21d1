"""Message splitting: GSM-7 with its extension table, UCS-2 with surrogate pairs, and the cost estimate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from smsc_soap import Segments, estimate_cost, segments
from smsc_soap._params.segments import truncate_to_parts


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
