"""``smsc-soap bulk FILE.csv``: personalised messages from a spreadsheet, journaled and resumable.

The CSV is streamed (one row in memory at a time): a header row names the columns, ``--template`` fills
``{column}`` fields from each row (or ``--message-column`` holds the whole text), ``--phone-column`` the
numbers. The run is journaled in SQLite (``--journal``) so that ``--resume`` after a crash or Ctrl-C sends
nothing twice and loses nothing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import string
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNKNOWN,
    EXIT_USAGE,
    Context,
    add_connection_arguments,
    exit_code_for,
    make_client,
    parse_options,
    run_command,
    table,
)

if TYPE_CHECKING:
    from .._bulk.session import BulkProgress, BulkSummary

__all__ = ["SPECS"]


class _CountingReader(io.RawIOBase):
    """A raw binary reader that counts the bytes read, for the progress bar."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self._handle = handle
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size

    def close(self) -> None:
        self._handle.close()
        super().close()


class _Template:
    """A ``{column}`` template: only plain column names, no attribute or index lookups."""

    def __init__(self, text: str, columns: list[str]) -> None:
        from .._exceptions import SmscValidationError

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

    def render(self, row: dict[str, str]) -> str:
        return self.text.format_map({name: row.get(name) or "" for name in self.fields})


def add_bulk(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bulk``."""
    parser.description = (
        "Send personalised messages from a CSV file (header row required), packed into 'list' "
        "requests, with a crash-safe SQLite journal. After a crash or Ctrl-C, run the same command "
        "with --resume: nothing is sent twice and nothing is lost."
    )
    parser.epilog = EXIT_CODES_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", help="the CSV file (UTF-8; '-' reads stdin, without --resume)")
    text = parser.add_mutually_exclusive_group(required=True)
    text.add_argument("--template", help="message text with {column} fields, e.g. 'Hi, {name}!'")
    text.add_argument("--message-column", help="the column holding each row's whole text")
    parser.add_argument("--phone-column", default="phone", help="numbers column (default: phone)")
    parser.add_argument("--sender-column", help="a column with each row's sender name")
    parser.add_argument("--delimiter", default=",", help="CSV delimiter (default ',')")
    parser.add_argument("--encoding", default="utf-8-sig", help="file encoding (default UTF-8)")
    parser.add_argument(
        "--journal",
        help="the SQLite journal (default: FILE.journal.db next to the file)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --journal")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate every row and estimate parts and cost; send nothing, need no credentials",
    )
    parser.add_argument(
        "--price", help="price per SMS part, for the --dry-run cost estimate (e.g. 1.95)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="requests in flight at once, 1..14 (default 4; the service refuses 15 per login)",
    )
    parser.add_argument("--batch-size", type=int, default=100, help="rows per request (100)")
    parser.add_argument(
        "--max-batch-chars", type=int, default=20_000, help="list characters per request (20000)"
    )
    parser.add_argument("--sender", help="sender name for every row (unless --sender-column)")
    parser.add_argument("--time", help="send time for every request (DDMMYYhhmm, h+N, ...)")
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="any service parameter added to every request (repeatable), e.g. -o translit=1",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (shown only on a terminal)"
    )
    add_connection_arguments(parser)


def run_bulk(args: argparse.Namespace) -> int:
    """Run ``bulk``."""
    return run_command(args, _bulk)


def _open(args: argparse.Namespace, ctx: Context) -> tuple[io.TextIOWrapper, _CountingReader, int]:
    if args.file == "-":
        raw = _CountingReader(sys.stdin.buffer)  # type: ignore[arg-type]
        size = 0
    else:
        handle = open(args.file, "rb")  # noqa: SIM115 - closed by the caller
        raw = _CountingReader(handle)
        size = os.fstat(handle.fileno()).st_size
    text = io.TextIOWrapper(io.BufferedReader(raw), encoding=args.encoding, newline="")
    return text, raw, size


def _rows(args: argparse.Namespace, stream: io.TextIOWrapper) -> Iterator[Any]:
    """Yield one ListMessage per CSV row (or an SmscValidationError for a bad row)."""
    from .._exceptions import SmscValidationError
    from .._params.listmsg import ListMessage

    reader = csv.DictReader(stream, delimiter=args.delimiter)
    columns = list(reader.fieldnames or [])
    if args.phone_column not in columns:
        raise SmscValidationError(
            f"the file has no {args.phone_column!r} column (columns: {', '.join(columns)}); "
            "name it with --phone-column",
            field="phone_column",
        )
    for name, flag in (
        (args.message_column, "--message-column"),
        (args.sender_column, "--sender-column"),
    ):
        if name is not None and name not in columns:
            raise SmscValidationError(f"{flag} {name!r} is not a column of the file", field=flag)
    template = _Template(args.template, columns) if args.template is not None else None
    for row in reader:
        if None in row:
            yield SmscValidationError("the row has more fields than the header", field="row")
            continue
        phones = (row.get(args.phone_column) or "").strip()
        mes = template.render(row) if template is not None else row.get(args.message_column) or ""
        sender = (row.get(args.sender_column) or "").strip() if args.sender_column else ""
        yield ListMessage(phones, mes, sender or args.sender or None)


def _fingerprint(args: argparse.Namespace) -> str:
    """A key of the input and the options that shape the batches, so --resume refuses another run."""
    digest = hashlib.sha256()
    with open(args.file, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    for value in (
        args.template,
        args.message_column,
        args.phone_column,
        args.sender_column,
        args.sender,
        args.delimiter,
        args.encoding,
        str(args.max_batch_chars),
    ):
        digest.update(b"\0" + (value or "").encode("utf-8"))
    return digest.hexdigest()


class _Progress:
    """A one-line progress bar on stderr (terminal only)."""

    def __init__(self, ctx: Context, raw: _CountingReader, size: int) -> None:
        self.ctx = ctx
        self.raw = raw
        self.size = size

    def __call__(self, progress: BulkProgress) -> None:
        width = 30
        if self.size:
            fraction = min(1.0, self.raw.count / self.size)
            filled = int(fraction * width)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}"
        else:
            bar = "[streaming]"
        self.ctx.stderr.write(
            f"\r{bar}  rows {progress.items_read:,}  sent {progress.items_sent:,}  "
            f"failed {progress.items_failed:,}  in flight {progress.in_flight}   "
        )
        self.ctx.stderr.flush()

    def done(self) -> None:
        self.ctx.stderr.write("\n")


def _price(args: argparse.Namespace) -> Decimal | None:
    from .._exceptions import SmscValidationError

    if args.price is None:
        return None
    try:
        price = Decimal(args.price)
    except InvalidOperation:
        raise SmscValidationError("--price must be a number such as 1.95", field="price") from None
    if not price.is_finite() or price < 0:
        raise SmscValidationError("--price must be a non-negative number", field="price")
    return price


def _dry_run(args: argparse.Namespace, ctx: Context) -> int:
    from .._bulk.session import estimate_bulk

    price = _price(args)
    stream, _, _ = _open(args, ctx)
    with stream:
        estimate = estimate_bulk(
            _rows(args, stream),
            price_per_part=price,
            batch_size=args.batch_size,
            max_batch_chars=args.max_batch_chars,
        )
    code = EXIT_OK if estimate.valid == estimate.items else EXIT_PARTIAL
    if args.json:
        return ctx.result(code, {"dry_run": True, **estimate.to_dict()})
    else:
        ctx.out("dry run: nothing was sent")
        table(
            ctx,
            [
                ("rows", f"{estimate.items:,}"),
                ("valid", f"{estimate.valid:,}"),
                ("invalid", f"{estimate.items - estimate.valid:,}"),
                ("recipients", f"{estimate.recipients:,}"),
                ("SMS parts", f"{estimate.parts:,}"),
                ("requests", f"{estimate.batches:,}"),
                ("estimated cost", estimate.cost),
            ],
        )
        for reason, count in sorted(estimate.invalid.items()):
            ctx.out(f"  {reason}: {count:,}")
        for item, error in estimate.first_errors:
            ctx.out(f"  row {item + 2}: {error}")
    return code


def _exit_code(summary: BulkSummary) -> int:
    from .._exceptions import Delivery

    stopped_by = summary.stopped_by
    if stopped_by is not None and not (summary.unknown and stopped_by.delivery is Delivery.UNKNOWN):
        return exit_code_for(stopped_by)
    if summary.unknown:  # the run stopped on an outcome it could not settle: 8, not "transport"
        return EXIT_UNKNOWN
    if summary.failed_total:
        return EXIT_PARTIAL
    return EXIT_OK


def _summary(
    ctx: Context, args: argparse.Namespace, journal: Path, summary: BulkSummary, code: int
) -> int:
    """Print the run's summary (a table, or JSON with ``ok``/``exit_code``); return ``code``."""
    if args.json:
        return ctx.result(code, {"journal": str(journal), **summary.to_dict()})
    table(
        ctx,
        [
            ("journal", str(journal)),
            ("rows", f"{summary.items:,}"),
            ("sent", f"{summary.sent:,}"),
            ("failed", f"{summary.failed_total:,}"),
        ],
    )
    for reason, count in sorted(summary.failed.items()):
        ctx.out(f"  {reason}: {count:,}")
    table(
        ctx,
        [
            ("outcome unknown", f"{summary.unknown:,}" if summary.unknown else None),
            ("not sent yet", f"{summary.held:,}" if summary.held else None),
            ("requests", f"{summary.batches:,}"),
            ("reconciled", f"{summary.reconciled:,}" if summary.reconciled else None),
            ("SMS parts", f"{summary.parts:,}"),
            (
                "cost",
                f"{summary.cost}"
                + (
                    f" (+{summary.uncosted_batches} requests without a reported cost)"
                    if summary.uncosted_batches
                    else ""
                ),
            ),
            ("balance", summary.balance),
        ],
    )
    if summary.stopped_by is not None:
        ctx.out(f"stopped: {type(summary.stopped_by).__name__}: {summary.stopped_by}")
    if not summary.complete:
        ctx.out("the run is not complete: fix the cause, then run the same command with --resume")
    return code


def _bulk(args: argparse.Namespace, ctx: Context) -> int:
    from .._bulk.journal import JournalError
    from .._bulk.session import BulkInterrupted, send_bulk
    from .._exceptions import SmscValidationError

    query = parse_options("send_sms2", (), args.option).as_query("send_sms2")  # checked first
    if args.dry_run:
        return _dry_run(args, ctx)
    if args.file == "-" and args.resume:
        raise SmscValidationError("--resume needs a file: stdin cannot be read again", field="file")
    journal = Path(args.journal) if args.journal else Path(f"{args.file}.journal.db")
    if args.file == "-" and not args.journal:
        raise SmscValidationError("reading stdin needs --journal", field="journal")
    if not args.resume and journal.exists():
        raise SmscValidationError(
            f"the journal {journal} already exists: add --resume to continue that run, or choose "
            "another --journal",
            field="journal",
        )
    run_key = None if args.file == "-" else _fingerprint(args)
    stream, raw, size = _open(args, ctx)
    show = not args.no_progress and not args.json and _isatty(ctx.stderr)
    progress = _Progress(ctx, raw, size) if show else None
    with stream, make_client(args, ctx) as client:
        try:
            summary = send_bulk(
                client,
                _rows(args, stream),
                journal=journal,
                resume=args.resume,
                concurrency=args.concurrency,
                batch_size=args.batch_size,
                max_batch_chars=args.max_batch_chars,
                time=args.time,
                query=query,
                run_key=run_key,
                on_progress=progress,
            )
        except JournalError as exc:
            ctx.err(f"smsc-soap: error: {exc}")
            return EXIT_USAGE
        except BulkInterrupted as exc:
            if progress is not None:
                progress.done()
            _summary(ctx, args, journal, exc.summary, EXIT_INTERRUPTED)
            ctx.err("smsc-soap: interrupted; run the same command with --resume to continue")
            return EXIT_INTERRUPTED
    if progress is not None:
        progress.done()
    return _summary(ctx, args, journal, summary, _exit_code(summary))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


#: (name, help, add_arguments, run), for the table in ``cli.py``.
SPECS: list[
    tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = [
    (
        "bulk",
        "send personalised messages from a CSV file (journaled, resumable)",
        add_bulk,
        run_bulk,
    ),
]
