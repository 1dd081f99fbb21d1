"""The rows of a bulk run read from a CSV file: encoding, delimiter, columns, and a check of every row.

:class:`CsvInput` reads a file with a header row, streaming (one row in memory at a time, each physical
line capped), as many times as asked: once to check every row before anything is sent, again to send.
Each record becomes a :class:`Row` whose ``item`` is the :class:`ListMessage` to send or the
:class:`SmscValidationError` that makes it invalid: bytes the encoding cannot decode, a field over
128 KiB, more or fewer fields than the header, an empty text, a bad number or sender (checked by the
library's own ``list`` line check). A bad row never stops the reading.

The encoding is detected from a byte-order mark (UTF-8, UTF-16 LE/BE) unless given; the delimiter is
sniffed from the header line among ``,`` ``;`` TAB and ``|`` unless given. Messages name the command
line's flags, since that is where a person fixes them.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import string
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from .._exceptions import SmscValidationError
from .._params.listmsg import ListMessage
from .._params.listmsg import _line as _check_line

__all__ = [
    "MAX_FIELD",
    "CsvInput",
    "Row",
    "check_run_request",
    "resolve_delimiter",
    "resolve_encoding",
]

#: The longest field a row may hold (the csv module's own default limit): 128 KiB.
MAX_FIELD: Final = 128 * 1024
#: The longest physical line read into memory; a longer one makes its row invalid.
MAX_LINE: Final = 8 * MAX_FIELD
_DELIMITERS: Final = ",;\t|"
_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UNDECODED = re.compile("[\udc00-\udcff]")
_BAD_BYTES: Final = "smsc-soap-bad-bytes"


def _bad_bytes(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: each byte the codec cannot decode becomes U+DC00 + its value.

    Like ``surrogateescape``, but for every byte value (UTF-16's bad bytes may be below 0x80), so a
    bad byte never raises: the row that holds it is reported invalid instead.
    """
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(_BAD_BYTES, _bad_bytes)
_LIST_PREFIX = re.compile(r"list\[\d+\]\.?")
_LIST_FIELD = re.compile(r"list\[\d+\]\.(\w+)")
_ENCODING_HINT = (
    "if the file was saved by Excel in Russia, try --encoding cp1251 (or the encoding it was "
    "saved in)"
)


def check_run_request(base_request: Mapping[str, Any]) -> None:
    """Check a bulk run's shared request (time, sender, query) with the library's own send checks."""
    from .._params.arguments import send_fields

    query = dict(base_request.get("query") or {})
    query["list"] = "0:-"  # a list makes empty phones and mes valid, as in every batch
    send_fields(
        "send_sms2", "", "", None, base_request.get("sender"), base_request.get("time"), query
    )


def resolve_encoding(name: str) -> str:
    """Return the codec name for ``--encoding``, or raise naming the flag."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        raise SmscValidationError(
            f"--encoding {name[:40]!r} is not a known text encoding (e.g. utf-8, cp1251, utf-16)",
            field="encoding",
        ) from None
    try:
        codecs.getincrementaldecoder(info.name)
    except LookupError:  # pragma: no cover - every text codec has one
        raise SmscValidationError(
            f"--encoding {name!r} cannot decode text", field="encoding"
        ) from None
    if not info._is_text_encoding:
        raise SmscValidationError(
            f"--encoding {name!r} is not a text encoding (e.g. utf-8, cp1251, utf-16)",
            field="encoding",
        )
    return info.name


def resolve_delimiter(value: str) -> str:
    """Return the one-character ``--delimiter`` (``tab`` or ``\\t`` for TAB), or raise naming the flag."""
    if value.lower() in ("tab", "\\t"):
        return "\t"
    if len(value) != 1 or value in '"\r\n' or value.isalnum():
        raise SmscValidationError(
            f"--delimiter must be one character such as , ; | or tab (not {value[:10]!r})",
            field="delimiter",
        )
    return value


class _Template:
    """A ``{column}`` template: only plain column names, no attribute or index lookups."""

    def __init__(self, text: str, columns: list[str]) -> None:
        self.text = text
        fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise SmscValidationError(f"--template is not valid: {exc}", field="template") from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name == "" or any(c in name for c in ".[]") or spec or conversion:
                raise SmscValidationError(
                    f"--template field {{{name}}} must be a plain column name (no format spec, "
                    "attributes or indexes)",
                    field="template",
                )
            if name not in columns:
                raise SmscValidationError(
                    f"--template uses column {name!r}, which the file does not have "
                    f"(columns: {', '.join(columns)})",
                    field="template",
                )
            fields.append(name)
        self.fields = fields

    def render(self, row: Mapping[str, str]) -> str:
        return self.text.format_map({name: row.get(name) or "" for name in self.fields})


@dataclass(frozen=True, slots=True)
class Row:
    """One record of the file: its item index, first line, fields, and the message or why it is invalid."""

    index: int
    line: int
    fields: list[str]
    item: ListMessage | SmscValidationError


class _LineTooLong(Exception):
    """A physical line longer than MAX_LINE (its rest has been skipped)."""


class _Lines:
    """Physical lines of a text stream, each at most ``limit`` characters; an iterator that survives errors.

    A longer line is skipped to its end and reported by raising :class:`_LineTooLong` from ``__next__``;
    the next call goes on with the following line (the csv reader starts a new record then).
    """

    def __init__(self, stream: IO[str], limit: int = MAX_LINE) -> None:
        self.stream = stream
        self.limit = limit
        self.count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.stream.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) > self.limit and not line.endswith(("\n", "\r")):
            while True:
                rest = self.stream.readline(self.limit)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            raise _LineTooLong
        return line


class _HashingReader:
    """A binary reader that hashes and counts what it reads."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def closed(self) -> bool:
        return bool(self.handle.closed)

    def close(self) -> None:
        self.handle.close()

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    def flush(self) -> None:
        pass


def _open_binary(path: Path) -> IO[bytes]:
    """Open the input file, turning the usual mistakes into validation errors (exit 2)."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise SmscValidationError(f"{path}: no such file", field="file") from None
    except IsADirectoryError:
        raise SmscValidationError(f"{path} is a directory, not a CSV file", field="file") from None
    except PermissionError:
        raise SmscValidationError(
            f"{path} cannot be read: permission denied", field="file"
        ) from None


class CsvInput:
    """A CSV file of a bulk run: its detected format and columns, read row by row as often as needed.

    Opening checks what applies to the whole file (it exists, is readable, has a header with the
    phone, message and sender columns, the template's fields); :meth:`rows` then yields every record.
    ``digest`` is the SHA-256 of the file's bytes, known after :meth:`rows` has read it to the end.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        phone_column: str = "phone",
        template: str | None = None,
        message_column: str | None = None,
        sender_column: str | None = None,
        sender: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.given_encoding = None if encoding is None else resolve_encoding(encoding)
        self.given_delimiter = None if delimiter is None else resolve_delimiter(delimiter)
        self.phone_column = phone_column
        self.message_column = message_column
        self.sender_column = sender_column
        self.sender = sender
        self.digest: str | None = None
        self.size = 0
        self._reader: _HashingReader | None = None
        with _open_binary(self.path) as handle:
            head = handle.read(4)
            #: The file's size when opened, for progress.
            self.file_size = os.fstat(handle.fileno()).st_size
        self.encoding = self._encoding(head)
        self.delimiter, self.columns = self._header()
        if not self.columns:
            raise SmscValidationError(
                f"{self.path} is empty: a header row naming the columns is required", field="file"
            )
        self._check_columns()
        self.template = _Template(template, self.columns) if template is not None else None

    def _encoding(self, head: bytes) -> str:
        detected = next((name for bom, name in _BOMS if head.startswith(bom)), None)
        given = self.given_encoding
        if given is None:
            return detected or "utf-8"
        if given == "utf-8" and detected == "utf-8-sig":
            return "utf-8-sig"  # the BOM is not part of the first column's name
        return given

    def _text(self, raw: Any) -> IO[str]:
        """Decode ``raw`` (a binary file or a :class:`_HashingReader`); bad bytes become lone surrogates."""
        import io

        return io.TextIOWrapper(
            raw,
            encoding=self.encoding,
            errors=_BAD_BYTES,
            newline="",
        )

    def _header(self) -> tuple[str, list[str]]:
        with _open_binary(self.path) as handle, self._text(handle) as text:
            lines = _Lines(text)
            try:
                first = next(lines, "")
            except _LineTooLong:
                raise SmscValidationError(
                    f"the header line of {self.path} is longer than {MAX_LINE} characters",
                    field="file",
                ) from None
            except UnicodeError as exc:
                raise SmscValidationError(
                    f"the header of {self.path} cannot be decoded as {self.encoding}: {exc}",
                    field="encoding",
                ) from None
            bad = _UNDECODED.search(first)
            if bad is not None:
                raise SmscValidationError(
                    f"the header of {self.path} is not valid {self.encoding} (byte "
                    f"0x{ord(bad.group()) - 0xDC00:02X}); {_ENCODING_HINT}",
                    field="encoding",
                )
            delimiter = self.given_delimiter or _sniff(first)
            try:
                header = next(csv.reader([first], delimiter=delimiter), [])
            except csv.Error as exc:
                raise SmscValidationError(
                    f"the header of {self.path} is not valid CSV: {exc}", field="file"
                ) from None
        if header:  # a BOM kept by an explicit --encoding (utf-16-le, say) is not part of a name
            header[0] = header[0].lstrip("\ufeff")
        return delimiter, [name.strip() for name in header]

    def _check_columns(self) -> None:
        columns = self.columns
        if self.phone_column not in columns:
            hint = "name it with --phone-column"
            others = [d for d in _DELIMITERS if d != self.delimiter and d in "".join(columns)]
            if others:
                shown = "tab" if others[0] == "\t" else others[0]
                hint = f"is the delimiter {shown!r}? Pass --delimiter {shown!r}; or " + hint
            raise SmscValidationError(
                f"the file has no {self.phone_column!r} column (columns: "
                f"{', '.join(repr(c) for c in columns)}); {hint}",
                field="phone_column",
            )
        for name, flag in (
            (self.message_column, "--message-column"),
            (self.sender_column, "--sender-column"),
        ):
            if name is not None and name not in columns:
                raise SmscValidationError(
                    f"{flag} {name!r} is not a column of the file (columns: {', '.join(columns)})",
                    field=flag.lstrip("-").replace("-", "_"),
                )

    def rows(self) -> Generator[Row, None, None]:
        """Yield every record after the header, valid or not; blank lines are skipped.

        Close the iterator (or read it to the end) to close the file.
        """
        width = len(self.columns)
        index = 0
        with _open_binary(self.path) as handle:
            raw = self._reader = _HashingReader(handle)
            with self._text(raw) as text:
                lines = _Lines(text)
                next(lines, None)  # the header, checked when the input was opened
                reader = csv.reader(lines, delimiter=self.delimiter)
                while True:
                    start = lines.count + 1
                    fields: list[str] = []
                    error: SmscValidationError | None
                    try:
                        fields = next(reader)
                    except StopIteration:
                        break
                    except _LineTooLong:
                        error = SmscValidationError(
                            f"line {start}: longer than {MAX_LINE:,} characters", field="row"
                        )
                    except csv.Error as exc:
                        error = SmscValidationError(
                            f"line {start}: {_csv_message(exc)}", field="row"
                        )
                    else:
                        if not fields:
                            continue
                        error = None
                    line = start
                    if error is None:
                        yield Row(index, line, fields, self._item(line, fields, width))
                    else:
                        yield Row(index, line, fields, error)
                    index += 1
            self.digest = raw.digest.hexdigest()
            self.size = raw.count

    @property
    def bytes_read(self) -> int:
        """How many bytes of the file :meth:`rows` has read so far (decoding reads ahead a little)."""
        return 0 if self._reader is None else self._reader.count

    def _item(self, line: int, fields: list[str], width: int) -> ListMessage | SmscValidationError:
        """The message of one record, or why it is invalid (the library's own line check)."""
        for column, value in enumerate(fields):
            bad = _UNDECODED.search(value)
            if bad is not None:
                name = self.columns[column] if column < width else f"field {column + 1}"
                return SmscValidationError(
                    f"line {line}: column {name!r} is not valid {self.encoding} (byte "
                    f"0x{ord(bad.group()) - 0xDC00:02X}); {_ENCODING_HINT}",
                    field="encoding",
                )
        if any(len(value) > MAX_FIELD for value in fields):  # whatever csv.field_size_limit() is
            return SmscValidationError(
                f"line {line}: a field is longer than {MAX_FIELD // 1024} KiB", field="row"
            )
        if len(fields) != width:
            more = "more" if len(fields) > width else "fewer"
            return SmscValidationError(
                f"line {line}: the row has {more} fields ({len(fields)}) than the header ({width})",
                field="row",
            )
        row = dict(zip(self.columns, fields, strict=True))
        phones = row[self.phone_column].strip()
        if self.template is not None:
            mes = self.template.render(row)
        else:
            assert self.message_column is not None
            mes = row[self.message_column]
        sender = row[self.sender_column].strip() if self.sender_column else ""
        message = ListMessage(phones, mes, sender or self.sender or None)
        try:
            _check_line(0, message, None)
        except SmscValidationError as exc:
            named = _LIST_FIELD.search(str(exc)) or _LIST_FIELD.search(getattr(exc, "field", ""))
            field = named.group(1) if named is not None else "row"
            return SmscValidationError(
                f"line {line}: {_LIST_PREFIX.sub('', str(exc))}", field=field
            )
        return message


def _sniff(header: str) -> str:
    """The header line's delimiter among , ; TAB |  (',' when it has one column)."""
    try:
        return csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _csv_message(error: csv.Error) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return f"a field is longer than {MAX_FIELD // 1024} KiB"
    return f"not valid CSV ({text})"
