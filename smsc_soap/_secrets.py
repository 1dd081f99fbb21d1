"""Credentials kept out of every repr, log line, exception and traceback.

A :class:`Secret` holds the password or API key; its ``repr`` and ``str`` are ``'***'`` so that traceback
locals, dataclass reprs and f-strings never show it. :class:`Scrubber` removes known secrets (in their raw,
XML-escaped and URL-encoded spellings) from text that could carry them: what came back from a server, or
a value taken from a request. It is the one scrubber of the package (the command line uses it too).

Apply it to such text only, never to our own message templates: a short password that is also a common
word ("or", "wrong") would otherwise mask letters of "wrong login or password". For the same reason a
short secret (under :data:`WHOLE_WORD_BELOW` characters) is masked only where it stands as a whole token,
not inside a longer word; a longer one is masked wherever it appears.
"""

from __future__ import annotations

import re
from typing import NoReturn
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "WHOLE_WORD_BELOW", "Scrubber", "Secret"]

MASK = "***"

#: Secrets shorter than this are masked only as whole tokens (not inside a longer word).
WHOLE_WORD_BELOW = 8


def _xml_escape(text: str, *, quote: bool) -> str:
    # html.escape's rules, without importing html (and html.entities) at start-up.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        text = text.replace('"', "&quot;").replace("'", "&#x27;")
    return text


class Secret:
    """A credential whose value is only available through :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value; call it only where the value goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("smsc_soap secrets cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self


class Scrubber:
    """Replace every spelling of the given secrets in a text with ``***`` and cut it to a bound."""

    __slots__ = ("_needles", "_pattern")

    def __init__(self, *secrets: Secret | str | None) -> None:
        needles: set[str] = set()
        for secret in secrets:
            if secret is None or not secret:
                continue
            raw = secret.reveal() if isinstance(secret, Secret) else secret
            needles.update(
                {
                    raw,
                    _xml_escape(raw, quote=False),
                    _xml_escape(raw, quote=True),
                    quote(raw, safe=""),
                    quote_plus(raw, safe=""),
                    quote(raw),
                }
            )
        # Longest first, so that an escaped spelling is not half-replaced by a shorter one.
        self._needles = tuple(sorted((n for n in needles if n), key=len, reverse=True))
        self._pattern = (
            re.compile("|".join(_token(n) for n in self._needles)) if self._needles else None
        )

    def __call__(self, text: str, limit: int | None = 200) -> str:
        """Return ``text`` without secrets, shortened to ``limit`` characters (None: no limit)."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        if limit is not None and len(text) > limit:
            text = text[:limit] + "…"
            # A secret cut in half by the limit could survive as a prefix; scrub the cut text again.
            for needle in self._needles:
                for size in range(len(needle) - 1, 3, -1):
                    if text.endswith(needle[:size] + "…"):
                        text = text[: -size - 1] + MASK + "…"
                        break
        return text

    def __repr__(self) -> str:
        return f"Scrubber({len(self._needles)} patterns)"


def _token(needle: str) -> str:
    """The pattern of one spelling: anywhere when long, else not inside a longer word."""
    pattern = re.escape(needle)
    if len(needle) >= WHOLE_WORD_BELOW:
        return pattern
    before = r"(?<!\w)" if re.match(r"\w", needle[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", needle[-1]) else ""
    return f"{before}{pattern}{after}"
