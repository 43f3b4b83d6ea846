"""`file.read`: a CSV or Excel file under the configured base folder, and nothing outside it."""

from __future__ import annotations

import codecs
import csv
import errno
import io
import os
import re
import stat
import threading
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import time as time_of_day
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO, NamedTuple, cast

from pydantic import BaseModel, ConfigDict, Field

from phi_agent.config import FileReadSettings
from phi_agent.errors import ToolError
from phi_agent.tools.base import CappedRows, TabularResult, check_deadline, effective_max_rows, parse_args

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 20
_DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"[^"]*"')
_MAX_ZIP_MEMBERS = 10_000
_RATIO_CHECK_MIN_BYTES = 1024 * 1024


class FileReadArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096)
    sheet: str | None = None
    columns: list[str] | None = None
    max_rows: int | None = Field(default=None, ge=0)


def resolve_under(base_dir: Path, requested: str) -> Path:
    """The real path of `requested` inside `base_dir`; `..`, outside paths and escaping symlinks fail."""
    if "\x00" in requested:
        raise ToolError("Tool.PathNotAllowed", "the path contains a NUL character")
    parts = set(PurePosixPath(requested).parts) | set(PureWindowsPath(requested).parts)
    if ".." in parts:
        raise ToolError("Tool.PathNotAllowed", f"'{requested}': '..' is not allowed in paths")
    base = base_dir.resolve()
    candidate = Path(requested)
    if not candidate.is_absolute():
        candidate = base / candidate
    real = Path(os.path.realpath(candidate))
    if not real.is_relative_to(base):
        raise ToolError("Tool.PathNotAllowed", f"'{requested}' is outside the agent's base folder")
    try:
        exists, is_file = real.exists(), real.is_file()
    except OSError as error:  # a name too long for the system, a folder the agent's user may not search…
        # …named by its reason alone: the error's own text holds the resolved path, the machine's folders included.
        raise ToolError(
            "Tool.FileNotFound", f"'{requested}' cannot be looked up ({os.strerror(error.errno or 0)})"
        ) from None
    if not exists:
        raise ToolError("Tool.FileNotFound", f"'{requested}' does not exist in the agent's base folder")
    if not is_file:
        raise ToolError("Tool.FileNotFound", f"'{requested}' is not a file")
    return real


# Read-only, without following a symlink in the last part of the path, without waiting for a writer should the file
# have become a FIFO, never becoming the controlling terminal, and never inherited by a child process.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | _NONBLOCK
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
# What open() says of a symlink it was told not to follow: ELOOP (Linux, macOS), EMLINK (FreeBSD), EFTYPE (NetBSD).
_FOLLOWED_A_SYMLINK = frozenset(
    code for code in (errno.ELOOP, getattr(errno, "EMLINK", None), getattr(errno, "EFTYPE", None)) if code is not None
)
_NOT_PERMITTED = frozenset({errno.EACCES, errno.EPERM})
_COPY_CHUNK_BYTES = 1024 * 1024


def _open_descriptor(real: Path) -> int:
    return os.open(real, _OPEN_FLAGS)


@dataclass(frozen=True)
class OpenedFile:
    """A file of the base folder, opened once: every read (its size, the CSV sniffing, the zip checks, the parse)
    goes through `handle`, so no later open can be sent elsewhere."""

    name: str
    handle: BinaryIO

    def size(self) -> int:
        return os.fstat(self.handle.fileno()).st_size


@contextmanager
def open_under(base_dir: Path, requested: str) -> Iterator[OpenedFile]:
    """`requested` inside `base_dir` (see resolve_under), a CSV or Excel file by its name, opened so that a path
    changed between the check and the open is refused rather than read: someone who can write in the base folder
    could otherwise swap a file or a folder on the path for a symlink to a file outside it at the right moment.
    The type is checked by name before anything is opened (no device file ends in .csv); the last part is opened
    without following a symlink; the path, checked again after the open, must still lead inside the base folder to
    the very file opened (device and inode); and that file must be a regular one with no other hard link (a hard
    link is the file it links to, wherever that is)."""
    real = resolve_under(base_dir, requested)
    suffix = real.suffix.lower()
    if suffix not in CSV_SUFFIXES | EXCEL_SUFFIXES:
        raise ToolError(
            "Tool.BadRequest",
            f"'{requested}': unsupported file type '{suffix}' (use .csv, .tsv, .txt, .xlsx or .xlsm)",
        )
    try:
        descriptor = _open_descriptor(real)
    except OSError as error:
        if error.errno in _FOLLOWED_A_SYMLINK:
            raise ToolError("Tool.PathNotAllowed", f"'{requested}' became a symbolic link; not read") from None
        if error.errno in _NOT_PERMITTED:
            raise ToolError("Tool.PathNotAllowed", f"'{requested}' cannot be read by the agent's user") from None
        raise ToolError(
            "Tool.FileNotFound", f"'{requested}' could not be opened; it may have just been removed"
        ) from None
    try:
        opened = os.fstat(descriptor)
        now = os.stat(resolve_under(base_dir, requested))
        if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
            raise ToolError(
                "Tool.PathNotAllowed", f"'{requested}' was replaced while it was being opened; not read (try again)"
            )
        if not stat.S_ISREG(opened.st_mode):
            raise ToolError("Tool.FileNotFound", f"'{requested}' is not a file")
        if opened.st_nlink > 1:
            raise ToolError(
                "Tool.PathNotAllowed",
                f"'{requested}' has {opened.st_nlink} hard links, which may lead outside the base folder; copy the "
                "file into the folder instead of linking it",
            )
        if _NONBLOCK:  # POSIX: reads of a regular file never block anyway; Windows has no such flag to undo
            os.set_blocking(descriptor, True)
        handle = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield OpenedFile(real.name, handle)


@contextmanager
def private_copy(file: OpenedFile, settings: FileReadSettings, deadline: float) -> Iterator[OpenedFile]:
    """The file's bytes copied into an unnamed temporary file, for a parser that reads a file more than once (a
    workbook: its zip directory, the checks, then openpyxl part by part): what was checked is then what is parsed,
    even if the original is rewritten in place meanwhile. The copy is bounded by the file size limit."""
    import tempfile

    check_file_size(file, settings)
    file.handle.seek(0)
    with tempfile.TemporaryFile(prefix="phi-agent-") as copy:
        copied = 0
        while chunk := file.handle.read(_COPY_CHUNK_BYTES):
            copied += len(chunk)
            if copied > settings.max_file_bytes:  # grew since its size was checked
                raise ToolError(
                    "Tool.ResultTooLarge",
                    f"'{file.name}' is larger than {settings.max_file_bytes} bytes (the file size limit)",
                )
            copy.write(chunk)
            check_deadline(deadline)
        copy.flush()
        copy.seek(0)
        yield OpenedFile(file.name, cast(BinaryIO, copy))


def _header_names(raw: Sequence[Any]) -> list[str]:
    return [str(name).strip() if name not in (None, "") else f"column_{i + 1}" for i, name in enumerate(raw)]


def _column_picker(header: list[str], wanted: list[str] | None) -> list[int]:
    if wanted is None:
        return list(range(len(header)))
    if len(wanted) > len(header):  # (the header itself is bounded by max_columns)
        raise ToolError("Tool.BadRequest", f"args.columns names {len(wanted):,} columns; the file has {len(header)}")
    position = {name: index for index, name in reversed(list(enumerate(header)))}  # the first of a repeated name
    missing = [name for name in wanted if name not in position]
    if missing:
        raise ToolError(
            "Tool.BadRequest",
            f"args.columns: unknown column(s) {missing[:20]}; the file has {header[:200]}",
        )
    return [position[name] for name in wanted]


def _pick(rows: Iterator[Sequence[Any]], indexes: list[int]) -> Iterator[list[Any]]:
    for row in rows:
        yield [row[i] if i < len(row) else None for i in indexes]


def _windows_1252_or_c1(error: UnicodeError) -> tuple[str, int]:
    """The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) read as the C1 controls of the
    same value, as browsers read that encoding, instead of failing a whole export on one stray byte."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("phi_windows_1252", _windows_1252_or_c1)


class TextEncoding(NamedTuple):
    codec: str
    errors: str = "strict"
    label: str = "UTF-8"


UTF8 = TextEncoding("utf-8-sig")
WINDOWS_1252 = TextEncoding("cp1252", "phi_windows_1252", "Windows-1252")


def detect_encoding(file: OpenedFile, deadline: float) -> TextEncoding:
    """How a text export is encoded: what spreadsheets and databases write on export. A byte-order mark says it
    (UTF-8, UTF-16 — Excel's "Unicode Text" — or UTF-32); NUL bytes in the places UTF-16 or UTF-32 puts them
    say which without one (elsewhere, the file is no text: refused); otherwise UTF-8 when the whole file is
    valid UTF-8 (checked in steps, within the deadline; a file that is not almost never is), else Windows-1252,
    the encoding of Excel's plain "CSV" on Western Windows."""
    file.handle.seek(0)
    head = file.handle.read(_SNIFF_BYTES)
    for bom, encoding in _BYTE_ORDER_MARKS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        return _wide_encoding(head, file.name)
    decoder = codecs.getincrementaldecoder("utf-8")()
    file.handle.seek(0)
    try:
        while chunk := file.handle.read(_ENCODING_CHECK_BYTES):
            decoder.decode(chunk)
            check_deadline(deadline)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return WINDOWS_1252
    return UTF8


def _wide_encoding(head: bytes, name: str) -> TextEncoding:
    """UTF-32 or UTF-16 without a byte-order mark, from where the NUL bytes fall: in text of Latin letters, digits
    and punctuation all but one byte of each character is NUL, at the same places every time. A file whose NUL
    bytes fall anywhere else is not a text export (an old binary .xls saved under a .csv name, say): refused,
    rather than read as text of one kind or another and answered with garbage."""
    size = len(head) - len(head) % 4
    if size >= 4:
        share = [head[i:size:4].count(0) * 4 / size for i in range(4)]
        if min(share[1:]) >= 0.9 and share[0] <= 0.1:
            return TextEncoding("utf-32-le", label="UTF-32")
        if min(share[:3]) >= 0.9 and share[3] <= 0.1:
            return TextEncoding("utf-32-be", label="UTF-32")
        low, high = head[0:size:2].count(0) * 2 / size, head[1:size:2].count(0) * 2 / size
        if high >= 0.6 and low <= 0.1:
            return TextEncoding("utf-16-le", label="UTF-16")
        if low >= 0.6 and high <= 0.1:
            return TextEncoding("utf-16-be", label="UTF-16")
    raise ToolError(
        "Tool.BadRequest",
        f"'{name}' holds NUL bytes: it is not a text export (a binary file, such as an old .xls, under a .csv name?)",
    )


_BYTE_ORDER_MARKS = (  # UTF-32's little-endian mark starts with UTF-16's: it is looked for first
    (codecs.BOM_UTF32_LE, TextEncoding("utf-32", label="UTF-32")),
    (codecs.BOM_UTF32_BE, TextEncoding("utf-32", label="UTF-32")),
    (codecs.BOM_UTF8, UTF8),
    (codecs.BOM_UTF16_LE, TextEncoding("utf-16", label="UTF-16")),
    (codecs.BOM_UTF16_BE, TextEncoding("utf-16", label="UTF-16")),
)
_ENCODING_CHECK_BYTES = 1024 * 1024


# Excel's own first line naming the delimiter (`sep=;`, common in European exports, where the list separator is
# ';'): it says the delimiter, and is no header.
_EXCEL_SEPARATOR_LINE = re.compile(r'"?sep=([^\r\n"])"?[ \t]*\r?\n?', re.IGNORECASE)


def _csv_dialect(file: OpenedFile, encoding: TextEncoding) -> tuple[type[csv.Dialect] | str, bool]:
    """The file's CSV dialect, and whether its first line is Excel's `sep=` line (to be skipped)."""
    file.handle.seek(0)
    # Incremental: the sample may end inside a character.
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    sample = decoder.decode(file.handle.read(_SNIFF_BYTES), final=False).lstrip("\ufeff")
    stated = _EXCEL_SEPARATOR_LINE.fullmatch(sample.splitlines(keepends=True)[0]) if sample else None
    if stated:
        delimiter = stated.group(1)
    elif Path(file.name).suffix.lower() == ".tsv":
        return "excel-tab", False
    else:
        delimiter = guess_delimiter(sample)
    if delimiter == "\t":
        return "excel-tab", bool(stated)
    return type("Detected", (csv.excel,), {"delimiter": delimiter}), bool(stated)


def guess_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: the candidate found most consistently in its first lines.

    Linear in the sample (csv.Sniffer is quadratic on crafted input and holds the GIL meanwhile). Quoted
    text is ignored; a delimiter found the same number of times on every line wins, then the most frequent.
    """
    lines = [_QUOTED.sub("", line) for line in sample.splitlines()[:_SNIFF_LINES] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines.pop()  # the sample may end inside a line
    best, best_score = ",", (False, 0)
    for candidate in _DELIMITERS:
        counts = [line.count(candidate) for line in lines]
        if not counts or counts[0] == 0:
            continue
        score = (all(count == counts[0] for count in counts), counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _non_empty(rows: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The rows holding a value. The header is the first of them: an export that starts with an empty line (or a
    sheet whose first row is empty) was read as a header of no column, and every row as an empty list."""
    for row in rows:
        if any(value not in (None, "") for value in row):
            yield row


class _BoundedCsvSource:
    """The lines csv.reader parses, bounded per *logical* row and by the deadline.

    A quoted field may hold newlines, so one row can span the whole file while every physical line is
    short: the characters read since the last row was produced are counted, and reading stops with a
    readable reason past the per-row limit, before the csv module has built the row.
    """

    def __init__(self, handle: Any, max_row_chars: int, deadline: float, name: str) -> None:
        self._handle = handle
        self._max_row_chars = max_row_chars
        self._deadline = deadline
        self._name = name
        self._row_chars = 0

    def lines(self) -> Iterator[str]:
        while True:
            line = self._handle.readline(self._max_row_chars - self._row_chars + 1)
            if not line:
                return
            self._row_chars += len(line)
            if self._row_chars > self._max_row_chars:
                raise ToolError(
                    "Tool.ResultTooLarge",
                    f"'{self._name}' has a row longer than {self._max_row_chars} characters (the per-row limit; "
                    "a quoted field may span lines)",
                )
            check_deadline(self._deadline)
            yield line

    def rows(self, reader: Iterator[list[str]]) -> Iterator[list[str]]:
        """The reader's rows; each one starts a new count (csv.reader reads no further than the row it yields)."""
        for row in reader:
            self._row_chars = 0
            yield row


_field_limit_lock = threading.Lock()


def _allow_csv_fields_up_to(max_chars: int) -> None:
    """csv's field limit (process-wide, 128 KiB by default) follows the per-row limit; it is only ever raised."""
    with _field_limit_lock:
        if csv.field_size_limit() < max_chars:
            csv.field_size_limit(max_chars)


class _SheetScanner:
    """Counts every row and cell openpyxl produces (empty ones too) and checks the deadline at each row.

    A workbook can declare a row a billion rows down or a cell in the last column: openpyxl then yields
    every empty row in between, so the cost of reading is bounded here, not by the number of real rows.
    """

    def __init__(self, rows: Iterator[Sequence[Any]], max_cells: int, deadline: float, name: str) -> None:
        self._rows = rows
        self._max_cells = max_cells
        self._deadline = deadline
        self._name = name
        self.cells = 0

    def __iter__(self) -> Iterator[Sequence[Any]]:
        rows = iter(self._rows)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except ToolError:
                raise
            except Exception as error:  # a truncated or corrupt part shows only while it is read
                raise ToolError(
                    "Tool.BadRequest", f"'{self._name}' is not a readable Excel file ({type(error).__name__}: {error})"
                ) from None
            self.cells += max(1, len(row))
            if self.cells > self._max_cells:
                raise ToolError(
                    "Tool.ResultTooLarge",
                    f"'{self._name}' holds more than {self._max_cells} cells (empty rows and cells included); "
                    "the sheet is too large to read (or is a decompression bomb)",
                )
            check_deadline(self._deadline)
            yield row


# Parts of an Excel number format that are not date or time codes: quoted text, escaped characters, and bracketed
# sections other than elapsed time ([$-409], [Red], [>100]); what is left shows a time when it has an hour, a
# second or an AM/PM code (minutes, "m", are only minutes beside those; alone "m" is the month).
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]', re.IGNORECASE)


# Excel keeps a number format to 255 characters; a longer one is a file's own claim, read as showing a time (the
# value stays a date and time) rather than scanned (a run of '[' without ']' would cost quadratic time).
_MAX_NUMBER_FORMAT_CHARS = 255


@lru_cache(maxsize=256)
def _format_shows_time(number_format: str) -> bool:
    if len(number_format) > _MAX_NUMBER_FORMAT_CHARS:
        return True
    codes = _FORMAT_LITERALS.sub("", number_format).lower()
    return any(code in codes for code in ("h", "s", "am/pm", "a/p"))


def _cell_value(cell: Any) -> Any:
    """A cell's value, a date cell as a date: openpyxl gives a cell formatted as a date alone (a promised day, a
    due date) as midnight of that day, which would read as a deadline at 00:00 rather than the whole day."""
    value = cell.value
    if (
        type(value) is datetime
        and value.time() == time_of_day(0)
        and not _format_shows_time(str(getattr(cell, "number_format", "") or ""))
    ):
        return value.date()
    return value


def _row_values(rows: Iterator[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield tuple(_cell_value(cell) for cell in row)


def check_file_size(file: OpenedFile, settings: FileReadSettings) -> None:
    if file.size() > settings.max_file_bytes:
        raise ToolError(
            "Tool.ResultTooLarge", f"'{file.name}' is larger than {settings.max_file_bytes} bytes (the file size limit)"
        )


def _is_worksheet(member: zipfile.ZipInfo) -> bool:
    """A sheet's own XML: read row by row later, bounded by cells, bytes and time rather than by size."""
    return _is_worksheet_name(member.filename)


def _is_worksheet_name(name: str) -> bool:
    name = name.lower()
    return name.startswith("xl/worksheets/") and name.count("/") == 2 and name.endswith(".xml")


class _SheetsOfferedOnce(list[str]):
    """The archive's parts as openpyxl's reader is told of them: the worksheets alone, each offered once. It asks
    whether a sheet entry's part exists before it reads that part; a second entry for the same part is then
    skipped as one whose part is missing."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(name for name in names if _is_worksheet_name(name))
        self._offered: set[str] = set()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or name in self._offered or not super().__contains__(name):
            return False
        self._offered.add(name)
        return True


def load_values_only(handle: BinaryIO) -> Any:
    """openpyxl's read-only workbook of cell values, shown no part but the sheets the streaming scan checked.

    Before it gives a sheet, openpyxl parses whole, with no deadline, what each entry of workbook.xml leads to: an
    external link's cached copy of another workbook, a sheet's relationships, a chart sheet with its drawings and
    charts, the sheet itself up to its dimension (to its end when it declares none) — once per entry, and any
    number of entries may lead to one part (a 280 KB file of 200 external references to one 1 MiB link took 49 s
    and 1.5 GB; 100 sheet entries to one 3 MiB relationships part, 18 s; 300,000 entries to one small sheet, 43 s).
    Cell values need none but the last, once: external links are not read (keep_links: the sheets hold their cached
    values), no VBA is copied whatever the environment says (keep_vba), and openpyxl's list of the archive's parts,
    which it consults before reading any of those, names only the worksheets, each once (_SheetsOfferedOnce; so a
    chart sheet, or a sheet kept outside xl/worksheets/ where the scan did not look, is not offered either)."""
    from openpyxl.reader.excel import ExcelReader  # imported here: slow to import and only Excel needs it

    reader = ExcelReader(handle, read_only=True, keep_vba=False, data_only=True, keep_links=False)
    reader.valid_files = _SheetsOfferedOnce(reader.valid_files)
    reader.read()
    return reader.wb


def check_workbook_archive(file: OpenedFile, settings: FileReadSettings) -> None:
    """Refuse an .xlsx whose zip declares too much data or compresses suspiciously well, before parsing."""
    check_file_size(file, settings)
    path = Path(file.name)
    try:
        file.handle.seek(0)
        with zipfile.ZipFile(file.handle) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ToolError("Tool.BadRequest", f"'{path.name}' is not a readable Excel file ({error})") from None
    if len(members) > _MAX_ZIP_MEMBERS:
        raise ToolError("Tool.BadRequest", f"'{path.name}' has {len(members)} parts: not a plausible workbook")
    declared = sum(member.file_size for member in members)
    if declared > settings.max_uncompressed_bytes:
        raise ToolError(
            "Tool.ResultTooLarge",
            f"'{path.name}' unpacks to {declared} bytes, more than the {settings.max_uncompressed_bytes} "
            "allowed; export fewer rows or split the file",
        )
    for member in members:
        ratio = member.file_size / max(1, member.compress_size)
        if member.file_size >= _RATIO_CHECK_MIN_BYTES and ratio > settings.max_compression_ratio:
            raise ToolError(
                "Tool.BadRequest",
                f"'{path.name}': part {member.filename} is compressed {ratio:.0f}:1 (more than "
                f"{settings.max_compression_ratio:g}:1 allowed); refusing a probable decompression bomb",
            )
        shared_strings = member.filename.lower().endswith("sharedstrings.xml")
        if shared_strings and member.file_size > settings.max_shared_strings_bytes:
            raise ToolError(
                "Tool.ResultTooLarge",
                f"'{path.name}': its shared strings take {member.file_size} bytes, more than the "
                f"{settings.max_shared_strings_bytes} allowed",
            )
        # openpyxl parses the other parts (styles, workbook, relationships…) whole, into trees many times
        # their size, before the first cell is read: they are bounded before it opens the file.
        if not shared_strings and not _is_worksheet(member) and member.file_size > settings.max_part_bytes:
            raise ToolError(
                "Tool.ResultTooLarge",
                f"'{path.name}': part {member.filename} unpacks to {member.file_size} bytes, more than the "
                f"{settings.max_part_bytes} allowed for a part other than a sheet",
            )


# Elements of a sheet outside its rows (columns, merged cells, conditional formats…): tens in a real export.
# openpyxl keeps every one it does not know, ~18 bytes of memory per byte of XML, before it gives a row.
_MAX_SHEET_ELEMENTS_OUTSIDE_ROWS = 100_000
_SCAN_CHUNK_BYTES = 1024 * 1024


class _SheetXmlScan:
    """One pass of expat over a sheet's XML (no tree is built; nothing is kept but counts), before openpyxl reads
    it: what openpyxl would spend time or memory on before a row reaches the checks that follow it — cells in
    rows it skips (a row numbered lower than the one before), one row of millions of cells, elements it keeps
    whole — is refused, within the deadline."""

    def __init__(self, settings: FileReadSettings, name: str, part: str) -> None:
        self._settings, self._name, self._part = settings, name, part
        self._in_rows = False
        self._last_row = 0
        self._cells = 0
        self._row_cells = 0
        self._outside = 0
        # Formula cells whose result the file does not hold (`<f>` with an empty or no `<v>`): openpyxl reads them
        # as empty. Text is looked at only inside such a cell's `<v>` (the handler is set for it alone).
        self.uncalculated = 0
        self._formula = self._valued = False
        self.parser: Any = None

    # Called for every element (two or three per cell): kept to a few string comparisons. expat names an element
    # "<namespace> <local name>", or its local name alone when it has no namespace.
    def start(self, tag: str, attributes: dict[str, str]) -> None:
        if self._in_rows:
            if tag.endswith(" c") or tag == "c":
                self._cell()
                self._formula = self._valued = False
            elif tag.endswith(" f") or tag == "f":
                self._formula = True
            elif (tag.endswith(" v") or tag == "v") and self._formula and self.parser is not None:
                self.parser.CharacterDataHandler = self._value_text
            elif tag.endswith(" row") or tag == "row":
                self._row(attributes.get("r", ""))
        elif tag.endswith(" sheetData") or tag == "sheetData":
            self._in_rows = True
        else:
            self._outside += 1
            if self._outside > _MAX_SHEET_ELEMENTS_OUTSIDE_ROWS:
                raise self._refuse(f"more than {_MAX_SHEET_ELEMENTS_OUTSIDE_ROWS:,} elements outside its rows")

    def end(self, tag: str) -> None:
        if not self._in_rows:
            return
        if tag.endswith(" v") or tag == "v":
            if self.parser is not None:
                self.parser.CharacterDataHandler = None
        elif tag.endswith(" c") or tag == "c":
            if self._formula and not self._valued:
                self.uncalculated += 1
        elif tag.endswith(" sheetData") or tag == "sheetData":
            self._in_rows = False

    def _value_text(self, text: str) -> None:
        if text.strip():
            self._valued = True

    def _row(self, number: str) -> None:
        if number.isascii() and number.isdigit():
            if int(number) <= self._last_row:
                raise self._refuse(f"row {int(number):,} after row {self._last_row:,} (rows out of order)")
            self._last_row = int(number)
        else:
            self._last_row += 1
        self._row_cells = 0

    def _cell(self) -> None:
        self._cells += 1
        self._row_cells += 1
        if self._cells > self._settings.max_cells:
            raise self._refuse(f"more than {self._settings.max_cells:,} cells (empty ones included)")
        if self._row_cells > self._settings.max_columns:
            raise self._refuse(f"a row of more than {self._settings.max_columns:,} cells")

    def _refuse(self, what: str) -> ToolError:
        return ToolError("Tool.BadRequest", f"'{self._name}': sheet {self._part} has {what}; not read")


def _scan_xml(archive: zipfile.ZipFile, member: zipfile.ZipInfo, deadline: float, scan: Any, name: str) -> None:
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler, parser.EndElementHandler = scan.start, scan.end
    scan.parser = parser

    def no_doctype(*_: Any) -> None:  # an OOXML part has none: no entity of any kind is expanded
        raise ToolError("Tool.BadRequest", f"'{name}': part {member.filename} declares a DOCTYPE; not read")

    parser.StartDoctypeDeclHandler = no_doctype
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_SCAN_CHUNK_BYTES):
                check_deadline(deadline)
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as error:
        raise ToolError("Tool.BadRequest", f"'{name}': part {member.filename} is not readable XML ({error})") from None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:
        raise ToolError("Tool.BadRequest", f"'{name}' is not a readable Excel file ({error})") from None


class _SharedStringsScan:
    """The shared strings counted (openpyxl reads them all, whole, before the first row)."""

    def __init__(self, settings: FileReadSettings, name: str) -> None:
        self._limit, self._name, self._strings = settings.max_shared_strings, name, 0
        self.parser: Any = None

    def start(self, tag: str, _attributes: dict[str, str]) -> None:
        if tag.rsplit(" ", 1)[-1] == "si":
            self._strings += 1
            if self._strings > self._limit:
                raise ToolError(
                    "Tool.ResultTooLarge",
                    f"'{self._name}' holds more than {self._limit:,} shared strings (distinct texts); "
                    "export fewer rows or split the file",
                )

    def end(self, _tag: str) -> None:
        pass


def scan_workbook_xml(file: OpenedFile, settings: FileReadSettings, deadline: float) -> dict[str, int]:
    """Each sheet's XML and the shared strings, counted by a streaming parser before openpyxl opens the file
    (_SheetXmlScan, _SharedStringsScan). Returns each sheet part's formula cells without a saved result."""
    uncalculated: dict[str, int] = {}
    path = Path(file.name)
    file.handle.seek(0)
    with zipfile.ZipFile(file.handle) as archive:
        for member in archive.infolist():
            scan: _SheetXmlScan | _SharedStringsScan
            if _is_worksheet(member):
                scan = _SheetXmlScan(settings, path.name, member.filename)
            elif member.filename.lower().endswith("sharedstrings.xml"):
                scan = _SharedStringsScan(settings, path.name)
            else:
                continue
            _scan_xml(archive, member, deadline, scan, path.name)
            if isinstance(scan, _SheetXmlScan) and scan.uncalculated:
                uncalculated[member.filename] = scan.uncalculated
    return uncalculated


class FileReadTool:
    key = "file.read"

    def __init__(self, settings: FileReadSettings) -> None:
        self._settings = settings

    @property
    def base_dir(self) -> Path:
        return self._settings.base_dir

    @contextmanager
    def open(self, args: dict[str, Any], timeout_seconds: float | None) -> Iterator[TabularResult]:
        request = parse_args(FileReadArgs, args)
        limit = effective_max_rows(request.max_rows, self._settings.max_rows)
        timeout = (
            self._settings.timeout_seconds
            if timeout_seconds is None
            else min(timeout_seconds, self._settings.timeout_seconds)
        )
        deadline = time.monotonic() + max(0.001, timeout)
        with open_under(self._settings.base_dir, request.path) as file:
            if Path(file.name).suffix.lower() in CSV_SUFFIXES:
                if request.sheet is not None:
                    raise ToolError("Tool.BadRequest", "args.sheet: only Excel files have sheets")
                with self._open_csv(file, request.columns, limit, deadline) as result:
                    yield result
            else:
                with (
                    private_copy(file, self._settings, deadline) as copy,
                    self._open_excel(copy, request.sheet, request.columns, limit, deadline) as result,
                ):
                    yield result

    @contextmanager
    def _open_csv(
        self, file: OpenedFile, columns: list[str] | None, limit: int, deadline: float
    ) -> Iterator[TabularResult]:
        check_file_size(file, self._settings)
        _allow_csv_fields_up_to(self._settings.max_row_bytes)
        path = Path(file.name)
        encoding = UTF8
        try:
            encoding = detect_encoding(file, deadline)
            dialect, separator_line = _csv_dialect(file, encoding)
            file.handle.seek(0)
            text = io.TextIOWrapper(file.handle, encoding=encoding.codec, errors=encoding.errors, newline="")
            try:
                source = _BoundedCsvSource(text, self._settings.max_row_bytes, deadline, path.name)
                lines = source.lines()
                if separator_line:
                    next(lines, None)
                reader = source.rows(csv.reader(lines, dialect))
                header = _header_names(next(_non_empty(reader), []))
                self._check_width(header, path)
                indexes = _column_picker(header, columns)
                rows = self._capped(_pick(_non_empty(reader), indexes), limit, deadline)
                yield TabularResult([header[i] for i in indexes], rows)
            finally:
                text.detach()  # the handle is open_under's to close
        except UnicodeDecodeError as error:
            raise ToolError(
                "Tool.BadRequest", f"'{path.name}' is not readable as {encoding.label} text ({error.reason})"
            ) from None
        except csv.Error as error:
            raise ToolError("Tool.BadRequest", f"'{path.name}' is not valid CSV ({error})") from None

    def _capped(self, rows: Iterator[Sequence[Any]], limit: int, deadline: float) -> CappedRows:
        return CappedRows(
            rows,
            limit,
            max_bytes=self._settings.max_result_bytes,
            max_row_bytes=self._settings.max_row_bytes,
            deadline=deadline,
        )

    def _check_width(self, header: list[str], path: Path) -> None:
        if len(header) > self._settings.max_columns:
            raise ToolError(
                "Tool.ResultTooLarge",
                f"'{path.name}' has {len(header)} columns, more than the {self._settings.max_columns} allowed",
            )

    @contextmanager
    def _open_excel(
        self, file: OpenedFile, sheet: str | None, columns: list[str] | None, limit: int, deadline: float
    ) -> Iterator[TabularResult]:
        path = Path(file.name)
        check_workbook_archive(file, self._settings)
        uncalculated = scan_workbook_xml(file, self._settings, deadline)
        try:
            file.handle.seek(0)
            workbook = load_values_only(file.handle)
        except Exception as error:  # openpyxl raises many unrelated types for a corrupt file
            raise ToolError("Tool.BadRequest", f"'{path.name}' is not a readable Excel file ({error})") from None
        try:
            if sheet is not None and sheet not in workbook.sheetnames:
                raise ToolError(
                    "Tool.BadRequest",
                    f"args.sheet: no sheet '{sheet}'; the workbook has {workbook.sheetnames}",
                )
            if not workbook.worksheets:
                raise ToolError("Tool.BadRequest", f"'{path.name}' has no worksheet (xl/worksheets/…) to read")
            worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
            formulas = uncalculated.get(str(getattr(worksheet, "_worksheet_path", "")).lstrip("/"), 0)
            if formulas:  # read as empty, they would be figures silently missing (an order "not shipped")
                raise ToolError(
                    "Tool.BadRequest",
                    f"'{path.name}': sheet '{worksheet.title}' has {formulas:,} formula cell(s) without a saved result "
                    "(the program that wrote the file did not calculate them); open and save it in Excel or "
                    "LibreOffice, or export the values",
                )
            # The declared dimension (e.g. A1:XFD1048576) is the file's claim, not its content: ignore it.
            declared_width = worksheet.max_column if isinstance(worksheet.max_column, int) else 0
            reset = getattr(worksheet, "reset_dimensions", None)
            if reset is not None:
                reset()
            check_deadline(deadline)
            cells = _row_values(worksheet.iter_rows())  # cells, not bare values: a date cell's format tells a day
            scanner = _SheetScanner(cells, self._settings.max_cells, deadline, path.name)
            values = iter(scanner)
            first = tuple(next(_non_empty(values), ()))
            if len(first) < declared_width <= self._settings.max_columns:
                first += (None,) * (declared_width - len(first))  # trailing empty header cells still name columns
            header = _header_names(first)
            self._check_width(header, path)
            indexes = _column_picker(header, columns)
            rows = self._capped(_pick(_non_empty(values), indexes), limit, deadline)
            yield TabularResult([header[i] for i in indexes], rows)
        finally:
            workbook.close()

    def check(self) -> str:
        base = self._settings.base_dir
        if not base.is_dir():
            raise ToolError("Tool.FileNotFound", f"base folder {base} does not exist or is not a folder")
        if not os.access(base, os.R_OK | os.X_OK):
            raise ToolError("Tool.PathNotAllowed", f"base folder {base} is not readable by this user")
        return f"base folder {base.resolve()}"
