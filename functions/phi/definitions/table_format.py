"""Stored tables and table references: how a large table lives outside the graph state.

A stored table is gzip-compressed JSON lines: a `{"columns": [...]}` header line, then one JSON array per row.
It is the format the local agent uploads its large results in (the claim check, phi_agent.results), and the one
`table` nodes write their outputs in, so every reader reads both the same way.

Graph state never holds a large table. It holds either a small table inline,

    {"columns": [...], "rows": [[...], ...], "row_count": N}              (at most INLINE_MAX_ROWS rows and
                                                                            INLINE_MAX_BYTES of JSON)
or a *table reference* to a stored table,

    {"columns": [...], "row_count": N, "truncated": false, "preview": [first rows],
     "table_ref": {"key": "tool-results/<task id>/…jsonl.gz", "bytes": <compressed size>, "format": "jsonl.gz"}}

Readers and writers work in chunks, so memory is bounded by the chunk and line sizes, never by the table: every
reader has a byte and a row limit and fails with a readable reason (TableFormatError) on malformed input."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeGuard

from phi.definitions.table import TableError
from phi.wording import without_lone_surrogates

FORMAT = "jsonl.gz"
INLINE_MAX_ROWS = 1_000
INLINE_MAX_BYTES = 64 * 1024
# Without a table store (no bucket configured) every table stays inline in the graph state: its rows are bounded
# by count (the caller's max_inline_rows) and by this, whatever text the ops derived.
INLINE_WITHOUT_STORE_MAX_BYTES = 64 * 1024 * 1024
PREVIEW_ROWS = 20
PREVIEW_MAX_BYTES = 8 * 1024
MAX_LINE_BYTES = 8 * 1024 * 1024  # one row; a longer line is refused (a one-line gzip bomb stops here)
MAX_COLUMNS = 1_000
# How deep one value of a table (a JSON column) may nest, in containers. The local agent refuses deeper values at
# the source with the same figure (phi_agent.tools.db_query.MAX_JSON_DEPTH); an inline result is held to it in
# phi.workflows.tool_results (a value sits three levels down: the result, its rows, the row). Deeper values would
# only exhaust the recursion of whatever copies or serialises the graph's state later.
MAX_VALUE_DEPTH = 61
CHUNK_BYTES = 1024 * 1024
_WRITE_BATCH_ROWS = 2_000

# What graph state can hold: its checkpoints are MessagePack, whose integers have 64 bits, and its texts are
# written as UTF-8, which has no lone surrogate half (a JSON escape "\ud800" makes one). A longer integer (a
# NUMERIC(38) key) becomes its digits as text, and a lone half U+FFFD, wherever a table or a result is read.
INT64 = range(-(2**63), 2**63)
# Cheap signs, in JSON text, of what storable() changes: 19 digits in a row (an integer that may not fit) and the
# escape of a surrogate half or of NUL. Read both as text and as bytes.
_LONG_DIGITS = r"\d{19}"
_ESCAPES_TO_CLEAN = r"\\u(?:[dD][89a-fA-F]|0000)"
_LONG_INTEGER = re.compile(_LONG_DIGITS.encode())
_TEXT_ESCAPES_TO_CLEAN = re.compile(_ESCAPES_TO_CLEAN.encode())
_LONG_INTEGER_TEXT = re.compile(_LONG_DIGITS)
_TEXT_ESCAPES_TO_CLEAN_TEXT = re.compile(_ESCAPES_TO_CLEAN)


def _integer(digits: str) -> int | str:
    if len(digits) > 20:  # past 64 bits: never turned into a number (Python refuses 4,300 digits)
        return digits
    value = int(digits)
    return value if value in INT64 else digits


def storable_text(text: str) -> str:
    """Text as graph state and PostgreSQL keep it: NUL (which PostgreSQL refuses) and lone surrogate halves become
    U+FFFD."""
    return without_lone_surrogates(text.replace("\x00", "\ufffd"))


def storable_number(value: int) -> int | str:
    """An integer as graph state keeps it: past 64 bits, its digits as text."""
    return value if isinstance(value, bool) or value in INT64 else str(value)


def storable(value: Any) -> Any:
    """`value` as graph state can keep it: texts and keys through storable_text, integers through
    storable_number (a tuple becomes a list, as JSON would write it)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, int):
        return storable_number(value)
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key) if isinstance(key, str) else key: storable(item) for key, item in value.items()}
    return value


def needs_storable(json_text: str) -> bool:
    """Whether a value, written as ASCII JSON (json.dumps' default), may hold what storable() changes: cheap, so
    the walk is made only then."""
    return bool(_LONG_INTEGER_TEXT.search(json_text) or _TEXT_ESCAPES_TO_CLEAN_TEXT.search(json_text))


def loads_storable(text: str | bytes) -> Any:
    """JSON from outside as graph state can keep it, however long its numbers (no ValueError past Python's
    4,300 digits)."""
    return _loads(text.encode() if isinstance(text, str) else text)


def _loads(text: bytes) -> Any:
    """JSON as graph state can keep it (above); the common case, no long digits and no escaped surrogate or NUL, as
    fast as json.loads."""
    parsed = json.loads(text, parse_int=_integer if _LONG_INTEGER.search(text) else None)
    return storable(parsed) if _TEXT_ESCAPES_TO_CLEAN.search(text) else parsed


# One encoder for every row (json.dumps with options builds a new encoder per call); the local agent's too.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


class TableFormatError(TableError):
    """A stored table that cannot be read (not gzip, bad JSON, ragged rows, over a limit); readable message."""


@dataclass(frozen=True)
class TableLimits:
    """Uncompressed bytes and rows a stored table may have, when read and when written."""

    max_bytes: int
    max_rows: int


def is_table(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and "columns" in value and ("rows" in value or "table_ref" in value)


def is_reference(value: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict) and isinstance(value.get("table_ref"), dict) and "columns" in value


def encode(value: Any) -> str:
    return _ENCODER.encode(value)


# --- reading ---------------------------------------------------------------------------------------------------


def read_rows(
    compressed: IO[bytes], limits: TableLimits, what: str = "The tool result"
) -> tuple[list[str], Iterator[list[Any]]]:
    """The columns, and an iterator over the rows of a stored table, decompressed and parsed chunk by chunk.
    The header is read at once (a missing or malformed one raises here); a problem further on raises
    TableFormatError while iterating. `what` names the table in messages."""
    batches = _row_batches(compressed, limits, what)
    first = next(batches, None)
    if not isinstance(first, _Header):
        raise TableFormatError(f"{what} is empty: no header line naming the columns.")
    return first.columns, (row for batch in batches if isinstance(batch, list) for row in batch)


def scan(
    compressed: IO[bytes], limits: TableLimits, what: str = "The tool result"
) -> tuple[list[str], int, list[list[Any]]]:
    """Reads a whole stored table once without keeping it: columns, row count and a small preview."""
    columns, rows = read_rows(compressed, limits, what)
    preview = Preview()
    count = 0
    for row in rows:
        count += 1
        preview.offer(row)
    return columns, count, preview.rows


@dataclass
class _Header:
    columns: list[str]


def _row_batches(compressed: IO[bytes], limits: TableLimits, what: str) -> Iterator[_Header | list[list[Any]]]:
    """The header, then the rows of each decompressed chunk (parsed as one JSON array: much faster than a parse
    per line). At most `limits.max_bytes` of uncompressed data is read, and a line is held at most whole."""
    parser = _Parser(limits.max_rows, what)
    remaining = limits.max_bytes
    carry: list[bytes] = []  # the start of a line that continues in the next chunk
    carried = 0
    try:
        with gzip.GzipFile(fileobj=compressed, mode="rb") as stream:
            while chunk := stream.read(min(CHUNK_BYTES, remaining + 1)):
                remaining -= len(chunk)
                if remaining < 0:
                    raise TableFormatError(too_large(what, limits.max_bytes))
                if b"\n" not in chunk:
                    carry.append(chunk)
                    carried += len(chunk)
                    _check_line(carried, what, parser.count)
                    continue
                lines = chunk.split(b"\n")
                if carry:
                    lines[0] = b"".join([*carry, lines[0]])
                last = lines.pop()
                carry, carried = ([last], len(last)) if last else ([], 0)
                _check_line(max(carried, *(len(line) for line in lines)), what, parser.count)
                yield from parser.add(lines)
            if carry:
                yield from parser.add([b"".join(carry)])
    except (OSError, EOFError, zlib.error, ValueError, RecursionError) as error:
        if isinstance(error, TableFormatError):
            raise
        # OSError: not gzip; EOFError: cut short; ValueError: bad JSON or UTF-8.
        raise TableFormatError(
            f"{what} is not gzip-compressed JSON lines: {type(error).__name__}: {str(error)[:200]}"
        ) from None
    if parser.columns is None:
        raise TableFormatError(f"{what} is empty: no header line naming the columns.")


def _check_line(length: int, what: str, after_row: int) -> None:
    if length > MAX_LINE_BYTES:
        raise TableFormatError(
            f"{what} has a line longer than the {MAX_LINE_BYTES:,}-byte limit (after row {after_row:,})."
        )


def too_large(what: str, max_bytes: int) -> str:
    return (
        f"{what} is larger than the {max_bytes:,}-byte limit (uncompressed); "
        "ask for fewer rows or columns, or aggregate in the query."
    )


class _Parser:
    def __init__(self, max_rows: int, what: str) -> None:
        self.max_rows, self.what = max_rows, what
        self.columns: list[str] | None = None
        self.count = 0

    def add(self, lines: list[bytes]) -> Iterator[_Header | list[list[Any]]]:
        if self.columns is None and lines:
            if not lines[0]:
                raise TableFormatError(f"{self.what} starts with an empty line instead of its header.")
            self.columns = header_columns(_loads(lines[0]), self.what)
            yield _Header(self.columns)
            lines = lines[1:]
        if not lines:
            return
        if not all(lines):
            raise TableFormatError(f"{self.what} has an empty line after row {self.count:,}.")
        text = b"[" + b",".join(lines) + b"]"
        parsed = _loads(text)
        width = len(self.columns or [])
        if len(parsed) != len(lines) or not all(isinstance(row, list) and len(row) == width for row in parsed):
            raise TableFormatError(
                f"A line after row {self.count:,} of {self.what.lower()} is not one list of {width} values."
            )
        # Each row opens one bracket: more of them, or a brace, and a value may nest (or a text holds one).
        if b"{" in text or text.count(b"[") > len(lines) + 1:
            self._refuse_deep_values(parsed)
        if self.count + len(parsed) > self.max_rows:
            raise TableFormatError(
                f"{self.what} has more than {self.max_rows:,} rows; aggregate in the query or ask for fewer."
            )
        self.count += len(parsed)
        yield parsed

    def _refuse_deep_values(self, rows: list[list[Any]]) -> None:
        for number, row in enumerate(rows, start=self.count + 1):
            if any(isinstance(value, list | dict) and nested_too_deep(value) for value in row):
                raise TableFormatError(
                    f"Row {number:,} of {self.what.lower()} holds a value nested more than {MAX_VALUE_DEPTH} levels "
                    "deep; select a part of it or cast it to text."
                )


def nested_too_deep(value: Any, limit: int = MAX_VALUE_DEPTH) -> bool:
    """Whether `value` nests more than `limit` lists and objects, walked without recursion (stops past `limit`)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, list | dict))
    return False


def header_columns(value: Any, what: str = "The tool result") -> list[str]:
    columns = value.get("columns") if isinstance(value, dict) else None
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise TableFormatError(f'{what} does not start with a {{"columns": [...]}} header line.')
    if len(columns) > MAX_COLUMNS:
        raise TableFormatError(f"{what} has {len(columns):,} columns; at most {MAX_COLUMNS:,} are read.")
    return columns


# --- writing ---------------------------------------------------------------------------------------------------


class Preview:
    """The first rows of a table, at most PREVIEW_ROWS and about PREVIEW_MAX_BYTES of JSON."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self._bytes = 0
        self._full = False

    def offer(self, row: list[Any]) -> None:
        if self._full:
            return
        size = len(encode(row))
        if len(self.rows) >= PREVIEW_ROWS or self._bytes + size > PREVIEW_MAX_BYTES:
            self._full = True
            return
        self.rows.append(row)
        self._bytes += size


class TableWriter:
    """Rows as gzip JSON lines into a binary file, refusing to write more than `limits` (so that whatever is
    written can be read back); keeps the row count and a preview for the reference."""

    def __init__(self, file: IO[bytes], columns: list[str], limits: TableLimits, what: str) -> None:
        self.file, self.columns, self.limits, self.what = file, columns, limits, what
        self.row_count = 0
        self.preview = Preview()
        self._gzip = gzip.GzipFile(fileobj=file, mode="wb", compresslevel=5)
        self._pending: list[str] = [encode({"columns": columns})]
        self._bytes = 0

    def add(self, row: list[Any]) -> None:
        if self.row_count >= self.limits.max_rows:
            raise TableFormatError(
                f"{self.what} has more than {self.limits.max_rows:,} rows; filter or aggregate earlier."
            )
        if not isinstance(row, list) or len(row) != len(self.columns):
            raise TableFormatError(
                f"{self.what}: row {self.row_count + 1:,} is not one list of {len(self.columns)} values."
            )
        line = encode(row)
        if len(line) > MAX_LINE_BYTES:
            raise TableFormatError(f"{self.what}: row {self.row_count + 1:,} is longer than {MAX_LINE_BYTES:,} bytes.")
        self._bytes += len(line) + 1
        if self._bytes > self.limits.max_bytes:
            raise TableFormatError(too_large(self.what, self.limits.max_bytes))
        self.row_count += 1
        self.preview.offer(row)
        self._pending.append(line)
        if len(self._pending) >= _WRITE_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._gzip.write(("\n".join(self._pending) + "\n").encode("utf-8"))
            self._pending = []

    def finish(self) -> int:
        """Closes the gzip stream and rewinds the file; the compressed size."""
        self._flush()
        self._gzip.close()
        size = self.file.tell()
        self.file.seek(0)
        return size

    def reference(self, key: str, compressed_bytes: int, truncated: bool = False) -> dict[str, Any]:
        return reference(self.columns, self.row_count, self.preview.rows, key, compressed_bytes, truncated)


def reference(
    columns: list[str], row_count: int, preview: list[list[Any]], key: str, compressed_bytes: int, truncated: bool
) -> dict[str, Any]:
    return {
        "columns": columns,
        "row_count": row_count,
        "truncated": truncated,
        "preview": preview,
        "table_ref": {"key": key, "bytes": compressed_bytes, "format": FORMAT},
    }


def inline_or_stored(
    columns: list[str],
    rows: Iterable[list[Any]],
    store: Callable[[list[str], Iterator[list[Any]]], dict[str, Any]] | None,
    max_inline_rows: int,
) -> dict[str, Any]:
    """A small table inline, a larger one through `store` (which writes it and returns its reference).
    Without a store (no bucket configured) tables stay inline up to `max_inline_rows`, then fail readably."""
    kept: list[list[Any]] = []
    size = len(encode(columns)) + 64
    iterator = iter(rows)
    for row in iterator:
        kept.append(row)
        size += len(encode(row)) + 1
        if store is None:
            if len(kept) > max_inline_rows:
                raise TableError(f"result larger than {max_inline_rows:,} rows; filter or aggregate earlier")
            if size > INLINE_WITHOUT_STORE_MAX_BYTES:
                raise TableError(
                    f"result larger than {INLINE_WITHOUT_STORE_MAX_BYTES:,} bytes as JSON, and no table store "
                    "(bucket) is configured to keep it; filter or aggregate earlier"
                )
            continue
        if len(kept) > INLINE_MAX_ROWS or size > INLINE_MAX_BYTES:
            return store(columns, _chain(kept, iterator))
    return {"columns": columns, "rows": kept, "row_count": len(kept)}


def _chain(first: list[list[Any]], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield from first
    first.clear()  # written: the rest streams without holding the first rows
    yield from rest
