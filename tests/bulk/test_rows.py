"""CsvInput: encodings and BOMs, the delimiter, bad bytes, long fields and short rows as invalid rows."""

from __future__ import annotations

import codecs
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from smsc_soap import SmscValidationError
from smsc_soap._bulk.rows import MAX_FIELD, MAX_LINE, CsvInput, Row
from smsc_soap._params.listmsg import ListMessage

TEXT = "phone,name\n79120000001,Иван\n79120000002,Пётр\n"


def _rows(path: Path, **options: Any) -> list[Row]:
    source = CsvInput(path, template="Привет, {name}!", **options)
    with closing(source.rows()) as rows:
        return list(rows)


def _messages(rows: list[Row]) -> list[tuple[str, str]]:
    return [(row.item.phones, row.item.mes) for row in rows if isinstance(row.item, ListMessage)]  # type: ignore[misc]


EXPECTED = [("79120000001", "Привет, Иван!"), ("79120000002", "Привет, Пётр!")]


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"],
)
def test_byte_order_marks_choose_the_encoding(tmp_path: Path, data: bytes) -> None:
    """UTF-8 with or without a BOM and UTF-16 of either order read alike; the BOM is no column name."""
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    assert _messages(_rows(path)) == EXPECTED


def test_cp1251_bytes_are_invalid_rows_with_a_hint(tmp_path: Path) -> None:
    """Windows-1251 text read as UTF-8: each such row is invalid and names --encoding cp1251."""
    path = tmp_path / "people.csv"
    path.write_bytes(TEXT.encode("cp1251"))
    rows = _rows(path)
    assert [type(row.item) for row in rows] == [SmscValidationError, SmscValidationError]
    message = str(rows[0].item)
    assert message.startswith("line 2: column 'name' is not valid utf-8")
    assert "--encoding cp1251" in message
    assert _messages(_rows(path, encoding="cp1251")) == EXPECTED


def test_bad_bytes_in_one_row_leave_the_others_valid(tmp_path: Path) -> None:
    """A bad byte in the middle of the file invalidates that row only; reading goes on."""
    path = tmp_path / "people.csv"
    path.write_bytes(b"phone,name\n79120000001,A\n79120000002,B\xff\xfe\n79120000003,C\n")
    rows = _rows(path)
    assert [isinstance(row.item, ListMessage) for row in rows] == [True, False, True]
    assert rows[1].line == 3 and "byte 0xFF" in str(rows[1].item)


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("phone;name", ";"), ("phone\tname", "\t"), ("phone|name", "|"), ("phone,name", ",")],
)
def test_the_delimiter_is_sniffed_from_the_header(
    tmp_path: Path, header: str, delimiter: str
) -> None:
    """A semicolon (Excel in Russia), tab or pipe file is read without --delimiter."""
    path = tmp_path / "people.csv"
    body = "".join(
        f"{p}{delimiter}{n}\n" for p, n in (("79120000001", "Иван"), ("79120000002", "Пётр"))
    )
    path.write_text(f"{header}\n{body}", encoding="utf-8")
    source = CsvInput(path, template="Привет, {name}!")
    assert source.delimiter == delimiter and source.columns == ["phone", "name"]
    assert _messages(_rows(path)) == EXPECTED


def test_a_wrong_delimiter_hints_at_the_flag(tmp_path: Path) -> None:
    """Forcing ',' on a semicolon file: no 'phone' column, and the message suggests --delimiter ';'."""
    path = tmp_path / "people.csv"
    path.write_text("phone;name\n79120000001;Иван\n", encoding="utf-8")
    with pytest.raises(SmscValidationError, match=r"--delimiter ';'") as info:
        CsvInput(path, template="x", delimiter=",")
    assert info.value.field == "phone_column"


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"delimiter": ";;"}, "delimiter", "one character"),
        ({"delimiter": ""}, "delimiter", "one character"),
        ({"encoding": "bogus"}, "encoding", "not a known text encoding"),
        ({"encoding": "rot13"}, "encoding", "not a text encoding"),
    ],
)
def test_bad_flags_are_named(
    tmp_path: Path, options: dict[str, str], field: str, message: str
) -> None:
    """--delimiter ';;' and --encoding bogus are validation errors naming the flag."""
    path = tmp_path / "people.csv"
    path.write_text(TEXT, encoding="utf-8")
    with pytest.raises(SmscValidationError, match=message) as info:
        CsvInput(path, template="x", **options)
    assert info.value.field == field


def test_tab_is_accepted_by_name(tmp_path: Path) -> None:
    """--delimiter tab (or \\t as typed in a shell) means a TAB."""
    path = tmp_path / "people.csv"
    path.write_text("phone\tname\n79120000001\tИван\n", encoding="utf-8")
    assert CsvInput(path, template="x", delimiter="tab").delimiter == "\t"
    assert CsvInput(path, template="x", delimiter="\\t").delimiter == "\t"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "is empty"),
    ],
    ids=["missing", "directory", "empty"],
)
def test_unusable_files_are_validation_errors(tmp_path: Path, make: Any, message: str) -> None:
    """A missing file, a directory or an empty file: a clear message, field 'file'."""
    path = tmp_path / "people.csv"
    make(path)
    with pytest.raises(SmscValidationError, match=message) as info:
        CsvInput(path, template="x")
    assert info.value.field == "file"


def test_rows_with_fewer_or_more_fields_are_invalid(tmp_path: Path) -> None:
    """Rows short of the header's fields are invalid exactly like rows with too many; blank lines skip."""
    path = tmp_path / "people.csv"
    path.write_text(
        "phone,name\n79120000001\n\n79120000002,Пётр,extra\n79120000003,Анна\n", encoding="utf-8"
    )
    rows = _rows(path)
    assert len(rows) == 3 and [row.index for row in rows] == [0, 1, 2]
    assert "fewer fields (1) than the header (2)" in str(rows[0].item)
    assert "more fields (3)" in str(rows[1].item) and rows[1].line == 4
    assert getattr(rows[0].item, "field", None) == "row"
    assert _messages(rows) == [("79120000003", "Привет, Анна!")]


def test_a_field_over_128_kib_is_an_invalid_row(tmp_path: Path) -> None:
    """A quoted field beyond the limit invalidates its row; the rows after it are read normally."""
    path = tmp_path / "people.csv"
    huge = "я" * (MAX_FIELD + 1)
    path.write_text(f'phone,name\n79120000001,"{huge}"\n79120000002,Пётр\n', encoding="utf-8")
    rows = _rows(path)
    assert "longer than 128 KiB" in str(rows[0].item)
    assert _messages(rows) == [("79120000002", "Привет, Пётр!")]


def test_a_line_over_the_cap_is_skipped_without_being_held(tmp_path: Path) -> None:
    """A physical line longer than MAX_LINE is never held whole: an invalid row, and the next row reads."""
    path = tmp_path / "people.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("phone,name\n")
        handle.write("79120000001," + ",".join(["x" * 1000] * (MAX_LINE // 1000 + 5)) + "\n")
        handle.write("79120000002,Пётр\n")
    rows = _rows(path)
    assert "longer than" in str(rows[0].item) and rows[0].line == 2
    assert rows[1].line == 3 and _messages(rows) == [("79120000002", "Привет, Пётр!")]


def test_phone_text_and_sender_use_the_library_checks(tmp_path: Path) -> None:
    """Bad numbers, empty texts and a sender with a list separator are invalid rows, by field."""
    path = tmp_path / "people.csv"
    path.write_text(
        "phone,text,from\n12ab,hello,\n79120000001,,\n79120000002,hi,a|b\n79120000003,ok,\n",
        encoding="utf-8",
    )
    source = CsvInput(path, message_column="text", sender_column="from")
    with closing(source.rows()) as iterator:
        rows = list(iterator)
    fields = [getattr(row.item, "field", None) for row in rows]
    assert fields == ["phones", "mes", "sender", None]
    assert "list[" not in str(rows[0].item) and str(rows[0].item).startswith("line 2: ")
    assert source.digest is not None and source.size == path.stat().st_size


def test_an_explicit_encoding_keeps_the_bom_out_of_the_header(tmp_path: Path) -> None:
    """--encoding utf-16-le on a file with a BOM: the first column is still 'phone'."""
    path = tmp_path / "people.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"))
    source = CsvInput(path, template="x", encoding="utf-16-le")
    assert source.columns == ["phone", "name"] and source.encoding == "utf-16-le"
    assert _messages(_rows(path, encoding="utf-16-le")) == EXPECTED


def test_bad_utf16_is_an_invalid_row_not_a_crash(tmp_path: Path) -> None:
    """A lone surrogate and a truncated last code unit in UTF-16: invalid rows, never an exception."""
    path = tmp_path / "people.csv"
    good = "phone,name\n79120000001,Иван\n".encode("utf-16-le")
    lone = "79120000002,П".encode("utf-16-le") + b"\x00\xd8" + "\n".encode("utf-16-le")
    tail = "79120000003,Анна\n".encode("utf-16-le") + b"7"  # an odd byte at the end
    path.write_bytes(codecs.BOM_UTF16_LE + good + lone + tail)
    rows = _rows(path)
    assert isinstance(rows[0].item, ListMessage)
    assert "is not valid utf-16" in str(rows[1].item) and "byte 0x00" in str(rows[1].item)
    assert isinstance(rows[2].item, ListMessage)
    assert len(rows) == 4 and "not valid utf-16" in str(rows[3].item)


def test_a_cp1251_header_hints_at_the_encoding(tmp_path: Path) -> None:
    """Cyrillic column names saved as Windows-1251: the header itself is refused, naming --encoding."""
    path = tmp_path / "people.csv"
    path.write_bytes("телефон;имя\n79120000001;Иван\n".encode("cp1251"))
    with pytest.raises(SmscValidationError, match="--encoding cp1251") as info:
        CsvInput(path, template="x", phone_column="телефон")
    assert info.value.field == "encoding"
    source = CsvInput(path, template="{имя}", phone_column="телефон", encoding="cp1251")
    assert source.delimiter == ";" and source.columns == ["телефон", "имя"]


def test_the_field_limit_holds_whatever_the_csv_module_allows(tmp_path: Path) -> None:
    """A program that raised csv.field_size_limit still gets 128 KiB fields refused."""
    import csv

    path = tmp_path / "people.csv"
    path.write_text(f"phone,name\n79120000001,{'я' * (MAX_FIELD + 1)}\n", encoding="utf-8")
    old = csv.field_size_limit(10 * MAX_FIELD)
    try:
        rows = _rows(path)
    finally:
        csv.field_size_limit(old)
    assert "longer than 128 KiB" in str(rows[0].item)
