"""``smsc-soap bulk FILE.csv``: personalised messages from a spreadsheet, journaled and resumable.

The CSV is streamed (one row in memory at a time): a header row names the columns, ``--template`` fills
``{column}`` fields from each row (or ``--message-column`` holds the whole text), ``--phone-column`` the
numbers. Every row is checked in a first pass before anything is sent; any invalid row stops the run
(exit 2, with the report) unless ``--skip-invalid``. The run is journaled in SQLite (``--journal``) so
that ``--resume`` after a crash or Ctrl-C sends nothing twice and loses nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, closing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import (
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
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
from .progress import CheckProgress, Progress

if TYPE_CHECKING:
    from .._bulk.rows import CsvInput, Row
    from .._bulk.session import BulkEstimate, BulkSummary

__all__ = ["SPECS"]

_FAILED_COLUMNS = ("line", "failed_phone", "code", "meaning")


def add_bulk(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bulk``."""
    parser.description = (
        "Send personalised messages from a CSV file (header row required), packed into 'list' "
        "requests, with a crash-safe SQLite journal. Every row is checked before the first send: an "
        "invalid row stops the run with a report (exit 2) unless --skip-invalid. After a crash or "
        "Ctrl-C, run the same command with --resume: nothing is sent twice and nothing is lost."
    )
    parser.epilog = EXIT_CODES_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "file", help="the CSV file ('-' reads stdin, spooled to a private temporary file)"
    )
    text = parser.add_mutually_exclusive_group(required=True)
    text.add_argument("--template", help="message text with {column} fields, e.g. 'Hi, {name}!'")
    text.add_argument("--message-column", help="the column holding each row's whole text")
    parser.add_argument("--phone-column", default="phone", help="numbers column (default: phone)")
    parser.add_argument("--sender-column", help="a column with each row's sender name")
    parser.add_argument(
        "--delimiter",
        help="CSV delimiter, one character or 'tab' (default: found in the header among , ; tab |)",
    )
    parser.add_argument(
        "--encoding",
        help="file encoding, e.g. cp1251 (default: UTF-8, or UTF-16 by its byte-order mark)",
    )
    parser.add_argument(
        "--journal",
        help="the SQLite journal (default: FILE.journal.db next to the file)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --journal")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="send the valid rows even when some rows are invalid (they are reported, not sent)",
    )
    parser.add_argument(
        "--failed-out",
        metavar="FILE.csv",
        help="write every failed or invalid row there, with the service's code and its meaning",
    )
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
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr (a bar on a terminal, otherwise a line every 10 s)",
    )
    parser.add_argument("--no-progress", action="store_true", help=argparse.SUPPRESS)
    add_connection_arguments(parser)


def run_bulk(args: argparse.Namespace) -> int:
    """Run ``bulk``."""
    return run_command(args, _bulk)


# ------------------------------------------------------------------------------------ input


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


def _spool_stdin(ctx: Context, stack: ExitStack) -> Path:
    """Copy standard input to a temporary file readable by its owner only (0600); removed at exit."""
    import shutil
    import tempfile

    fd, name = tempfile.mkstemp(prefix="smsc-bulk-stdin-", suffix=".csv")
    path = Path(name)
    stack.callback(path.unlink, missing_ok=True)
    source = getattr(ctx.stdin, "buffer", None)
    with os.fdopen(fd, "wb") as out:
        if source is not None:
            shutil.copyfileobj(source, out, 1 << 20)
        else:  # a text stream (tests): its text as UTF-8
            for chunk in iter(lambda: ctx.stdin.read(1 << 16), ""):
                out.write(chunk.encode("utf-8"))
    return path


def _check_target(path: Path, flag: str) -> None:
    """A file the run will create: its directory must exist, and it must not be a directory."""
    from .._exceptions import SmscValidationError

    if not path.parent.is_dir():
        raise SmscValidationError(
            f"{flag} {path}: the directory {path.parent} does not exist", field=flag.lstrip("-")
        )
    if path.is_dir():
        raise SmscValidationError(f"{flag} {path} is a directory", field=flag.lstrip("-"))


def _fingerprint(args: argparse.Namespace, source: CsvInput) -> str:
    """A key of the input and the options that shape the batches, so --resume refuses another run."""
    digest = hashlib.sha256((source.digest or "").encode("ascii"))
    for value in (
        args.template,
        args.message_column,
        args.phone_column,
        args.sender_column,
        args.sender,
        source.delimiter,
        source.encoding,
        str(args.max_batch_chars),
    ):
        digest.update(b"\0" + (value or "").encode("utf-8"))
    return digest.hexdigest()


class _FailedOut:
    """The ``--failed-out`` CSV: the input's columns, then line, failed number, code and meaning."""

    def __init__(self, path: Path, source: CsvInput) -> None:
        import csv

        self.path = path
        self.width = len(source.columns)
        self.rows = 0
        # The input's own encoding and delimiter: fix the rows and run them with the same flags.
        self.handle = open(  # noqa: SIM115 - closed by close()
            path, "w", encoding=source.encoding, errors="replace", newline=""
        )
        self.writer = csv.writer(self.handle, delimiter=source.delimiter)
        self.writer.writerow([*source.columns, *_FAILED_COLUMNS])

    def write(self, row: Row, phone: str, code: int | None, meaning: str) -> None:
        fields = (row.fields + [""] * self.width)[: self.width]
        self.writer.writerow([*fields, row.line, phone, "" if code is None else code, meaning])
        self.rows += 1

    def close(self) -> None:
        self.handle.close()


def _checked_items(
    rows: Iterable[Row],
    source: CsvInput,
    failed_out: _FailedOut | None,
    progress: CheckProgress | None,
) -> Iterator[Any]:  # ListMessage | SmscValidationError
    from .._exceptions import SmscValidationError

    for count, row in enumerate(rows, 1):
        if failed_out is not None and isinstance(row.item, SmscValidationError):
            failed_out.write(row, "", None, str(row.item))
        if progress is not None and count % 256 == 0:
            progress(count, source.bytes_read)
        yield row.item


def _send_items(rows: Iterable[Row], *, skip_invalid: bool) -> Iterator[Any]:
    """The items of the sending pass; a row found invalid now (the file changed since the check)
    stops the run unless --skip-invalid: the rows before it are sent and journaled."""
    from .._exceptions import SmscValidationError

    for row in rows:
        if isinstance(row.item, SmscValidationError) and not skip_invalid:
            raise SmscValidationError(
                f"the file changed while the run was reading it ({row.item}); the run stopped: "
                "the rows before it were sent and are in the journal",
                field="file",
            )
        yield row.item


def _check_pass(
    args: argparse.Namespace, ctx: Context, source: CsvInput, failed_out: Path | None
) -> BulkEstimate:
    """Read and check every row (flat memory); write the invalid ones to ``--failed-out``."""
    from .._bulk.session import estimate_bulk

    progress = (
        None
        if args.quiet or args.no_progress
        else CheckProgress(ctx.stderr, source.file_size, terminal=_isatty(ctx.stderr))
    )
    writer = _FailedOut(failed_out, source) if failed_out is not None else None
    try:
        with closing(source.rows()) as rows:
            return estimate_bulk(
                _checked_items(rows, source, writer, progress),
                price_per_part=_price(args),
                batch_size=args.batch_size,
                max_batch_chars=args.max_batch_chars,
            )
    finally:
        if progress is not None:
            progress.close()
        if writer is not None:
            writer.close()


def _write_failures(journal: Path, source: CsvInput, path: Path) -> int:
    """Write every failed or invalid row of the run to ``path`` (journal and input read in step)."""
    from .._bulk.journal import read_failures

    writer = _FailedOut(path, source)
    try:
        with read_failures(journal) as failures, closing(source.rows()) as rows:
            pending = next(failures, None)
            for row in rows:
                while pending is not None and pending.item < row.index:
                    pending = next(failures, None)
                while pending is not None and pending.item == row.index:
                    writer.write(row, pending.phone, pending.code, pending.meaning)
                    pending = next(failures, None)
                if pending is None:
                    break
    finally:
        writer.close()
    return writer.rows


# ------------------------------------------------------------------------------------ reports


def _estimate_report(
    ctx: Context,
    args: argparse.Namespace,
    estimate: BulkEstimate,
    code: int,
    headline: str,
    failed_out: Path | None,
) -> int:
    if args.json:
        data: dict[str, Any] = {"dry_run": bool(args.dry_run), "sent": 0, **estimate.to_dict()}
        if failed_out is not None:
            data["failed_out"] = str(failed_out)
        return ctx.result(code, data)
    ctx.out(headline)
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
    for _, error in estimate.first_errors:
        ctx.out(f"  {error}")
    if failed_out is not None and estimate.valid < estimate.items:
        ctx.out(f"invalid rows written to {failed_out}")
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
    ctx: Context,
    args: argparse.Namespace,
    journal: Path,
    summary: BulkSummary,
    code: int,
    failed_out: tuple[Path, int] | None = None,
) -> int:
    """Print the run's summary (a table, or JSON with ``ok``/``exit_code``); return ``code``."""
    if args.json:
        data: dict[str, Any] = {"journal": str(journal), **summary.to_dict()}
        if failed_out is not None:
            data["failed_out"] = str(failed_out[0])
            data["failed_out_rows"] = failed_out[1]
        return ctx.result(code, data)
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
    if failed_out is not None:
        path, count = failed_out
        ctx.out(f"failed rows: {count:,} written to {path}")
    elif summary.failed_total:
        ctx.out("to list the failed rows with their codes, run again with --failed-out FILE.csv")
    if summary.stopped_by is not None:
        ctx.out(f"stopped: {type(summary.stopped_by).__name__}: {summary.stopped_by}")
    if not summary.complete:
        ctx.out("the run is not complete: fix the cause, then run the same command with --resume")
    return code


# ------------------------------------------------------------------------------------ the command


def _bulk(args: argparse.Namespace, ctx: Context) -> int:
    from .._bulk.journal import JournalError

    try:
        with ExitStack() as stack:
            return _run(args, ctx, stack)
    except JournalError as exc:
        return _fail(ctx, args, str(exc), EXIT_USAGE)
    except sqlite3.OperationalError as exc:  # the disk, not the data
        return _fail(ctx, args, f"the journal could not be read or written: {exc}", EXIT_INTERNAL)
    except sqlite3.DatabaseError as exc:
        return _fail(ctx, args, f"the journal is damaged: {exc}", EXIT_USAGE)
    except OSError as exc:  # an I/O fault reading the input or writing an output
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(ctx, args, f"I/O error{where}: {exc.strerror or exc}", EXIT_INTERNAL)


def _fail(ctx: Context, args: argparse.Namespace, message: str, code: int) -> int:
    ctx.err(f"smsc-soap: error: {message}")
    if getattr(args, "json", False):
        ctx.result(code, {"error": {"type": "BulkInputError", "message": message}})
    return code


def _run(args: argparse.Namespace, ctx: Context, stack: ExitStack) -> int:
    from .._bulk.journal import check_resumable
    from .._bulk.rows import CsvInput, check_run_request
    from .._bulk.session import BulkInterrupted, send_bulk
    from .._exceptions import SmscValidationError

    stdin = args.file == "-"
    if stdin and args.resume:
        raise SmscValidationError("--resume needs a file: stdin cannot be read again", field="file")
    if stdin and not args.journal and not args.dry_run:
        raise SmscValidationError("reading stdin needs --journal", field="journal")
    _price(args)
    # -o through SendOptions (errors name the flag), then --time, --sender and the query by the
    # library's own send checks: all before any journal exists.
    query = parse_options("send_sms2", (), args.option).as_query("send_sms2")
    check_run_request({"query": query, "sender": args.sender, "time": args.time})
    journal = Path(args.journal) if args.journal else Path(f"{args.file}.journal.db")
    if not args.dry_run:
        _check_target(journal, "--journal")
        if args.resume:
            check_resumable(journal)  # before reading any row: an empty or foreign file is refused
        elif journal.exists():
            raise SmscValidationError(
                f"the journal {journal} already exists: add --resume to continue that run, or "
                "choose another --journal",
                field="journal",
            )
    failed_out = Path(args.failed_out) if args.failed_out else None
    if failed_out is not None:
        _check_target(failed_out, "--failed-out")
        if not stdin and failed_out.resolve() == Path(args.file).resolve():
            raise SmscValidationError("--failed-out must not be the input file", field="failed_out")
    path = _spool_stdin(ctx, stack) if stdin else Path(args.file)
    source = CsvInput(
        path,
        encoding=args.encoding,
        delimiter=args.delimiter,
        phone_column=args.phone_column,
        template=args.template,
        message_column=args.message_column,
        sender_column=args.sender_column,
        sender=args.sender,
    )
    estimate = _check_pass(args, ctx, source, failed_out)
    invalid = estimate.items - estimate.valid
    refused = invalid > 0 and not args.skip_invalid
    if args.dry_run:
        headline = "dry run: nothing was sent"
        if refused:
            headline += f"; {invalid:,} invalid rows would stop the run (or add --skip-invalid)"
        return _estimate_report(
            ctx, args, estimate, EXIT_USAGE if refused else EXIT_OK, headline, failed_out
        )
    if refused:
        headline = (
            f"nothing was sent: {invalid:,} of {estimate.items:,} rows are invalid; fix them, or "
            "add --skip-invalid to send the valid rows"
        )
        return _estimate_report(ctx, args, estimate, EXIT_USAGE, headline, failed_out)
    quiet = args.quiet or args.no_progress
    show = not quiet and estimate.items > 0
    progress = Progress(ctx.stderr, estimate.items, terminal=_isatty(ctx.stderr)) if show else None
    if progress is not None:
        stack.callback(progress.close)
    client = stack.enter_context(make_client(args, ctx))
    try:
        with closing(source.rows()) as rows:
            summary = send_bulk(
                client,
                _send_items(rows, skip_invalid=args.skip_invalid),
                journal=journal,
                resume=args.resume,
                concurrency=args.concurrency,
                batch_size=args.batch_size,
                max_batch_chars=args.max_batch_chars,
                time=args.time,
                query=query,
                run_key=_fingerprint(args, source),
                on_progress=progress,
            )
    except BulkInterrupted as exc:
        if progress is not None:
            progress.close()
        written = None
        if failed_out is not None:
            written = (failed_out, _write_failures(journal, source, failed_out))
        _summary(ctx, args, journal, exc.summary, EXIT_INTERRUPTED, written)
        ctx.err("smsc-soap: interrupted; run the same command with --resume to continue")
        return EXIT_INTERRUPTED
    if progress is not None:
        progress.close()
    written = None
    if failed_out is not None:
        written = (failed_out, _write_failures(journal, source, failed_out))
    return _summary(ctx, args, journal, summary, _exit_code(summary), written)


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
