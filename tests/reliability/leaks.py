"""Where a secret could hide after a failed call, and a scan of all of it."""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Callable, Iterable
from typing import Any


def run(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run ``call``, returning its result or the exception (caught here, away from test locals)."""
    try:
        return call(), None
    except Exception as exc:  # every failure is examined by the caller
        return None, exc


def chain(error: BaseException | None) -> list[BaseException]:
    """The error, its causes, contexts and ``reason`` attributes, each once."""
    seen: list[BaseException] = []
    todo: list[Any] = [error]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is x for x in seen):
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
    return seen


def error_texts(error: BaseException | None) -> Iterable[str]:
    """Everything an error shows: str, repr, args, attributes and the traceback with locals."""
    for item in chain(error):
        yield str(item)
        yield repr(item)
        yield repr(item.args)
        yield repr(getattr(item, "__dict__", {}))
    if error is not None:
        rendered = traceback.TracebackException(
            type(error), error, error.__traceback__, capture_locals=True
        )
        _library_locals_only(rendered)
        yield "".join(rendered.format())


def _library_locals_only(rendered: traceback.TracebackException) -> None:
    """Keep captured locals only for smsc_soap's frames: the test's own frames hold the password."""
    todo: list[traceback.TracebackException | None] = [rendered]
    while todo:
        item = todo.pop()
        if item is None:
            continue
        for frame in item.stack:
            if "smsc_soap" not in frame.filename:
                frame.locals = None
        todo.extend([item.__cause__, item.__context__])


def record_texts(records: Iterable[logging.LogRecord]) -> Iterable[str]:
    """Every log record's message, raw message, args and exception text."""
    formatter = logging.Formatter()
    for record in records:
        yield record.getMessage()
        yield str(record.msg)
        yield repr(record.args)
        if record.exc_info:
            yield formatter.formatException(record.exc_info)
        if record.exc_text:
            yield record.exc_text


def find(
    secret: str,
    *,
    error: BaseException | None = None,
    records: Iterable[logging.LogRecord] = (),
    caught: Iterable[warnings.WarningMessage] = (),
    objects: Iterable[object] = (),
) -> list[str]:
    """The places (texts, shortened) where ``secret`` shows up; empty when it is nowhere."""
    texts = [*error_texts(error), *record_texts(records)]
    texts += [str(w.message) for w in caught]
    for obj in objects:
        texts += [repr(obj), str(obj)]
    return [t[:300] for t in texts if secret in t]
