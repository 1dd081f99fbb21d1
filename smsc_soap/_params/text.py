"""UTF-8 enforcement for every text argument, before any I/O.

The service takes UTF-8 only. A text must be a ``str`` of valid Unicode (no lone surrogates) without
control characters other than tab, newline and carriage return (XML 1.0 cannot carry them either), or
``bytes`` that decode as UTF-8.
"""

from __future__ import annotations

import re

from .._exceptions import SmscValidationError

__all__ = ["check_text"]

# C0 controls but \t \n \r, DEL..C1 are allowed by XML but never meant; surrogates; U+FFFE/U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_text(
    value: object,
    field: str,
    *,
    allow_empty: bool = False,
    max_length: int | None = None,
    single_line: bool = False,
) -> str:
    """Return ``value`` as a checked ``str`` or raise :class:`SmscValidationError` naming ``field``."""
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SmscValidationError(
                f"{field} is bytes that are not valid UTF-8 (bad byte at offset {exc.start})",
                field=field,
            ) from None
    if not isinstance(value, str):
        raise SmscValidationError(
            f"{field} must be str (or UTF-8 bytes), not {type(value).__name__}", field=field
        )
    if max_length is not None and len(value) > max_length:
        # Checked before the scan below, so a 10 MB text fails in microseconds.
        raise SmscValidationError(
            f"{field} is {len(value)} characters long; at most {max_length} are allowed",
            field=field,
        )
    bad = _FORBIDDEN.search(value)
    if bad is not None:
        char = bad.group()
        kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
        raise SmscValidationError(
            f"{field} contains {kind} (U+{ord(char):04X}) at position {bad.start()}; only valid "
            "Unicode text with tab, newline and carriage return is allowed",
            field=field,
        )
    if single_line and ("\n" in value or "\r" in value):
        raise SmscValidationError(f"{field} must be a single line (no CR or LF)", field=field)
    if not allow_empty and not value.strip():
        raise SmscValidationError(f"{field} must not be empty", field=field)
    return value
