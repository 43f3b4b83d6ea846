"""`file.read`: a CSV or Excel file under the configured base folder, and nothing outside it."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phi_agent.config import FileReadSettings
from phi_agent.errors import ToolError
from phi_agent.tools.base import CappedRows, TabularResult, effective_max_rows, parse_args

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_SNIFF_BYTES = 64 * 1024


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
    if not real.exists():
        raise ToolError("Tool.FileNotFound", f"'{requested}' does not exist in the agent's base folder")
    if not real.is_file():
        raise ToolError("Tool.FileNotFound", f"'{requested}' is not a file")
    return real


def _header_names(raw: Sequence[Any]) -> list[str]:
    return [str(name).strip() if name not in (None, "") else f"column_{i + 1}" for i, name in enumerate(raw)]


def _column_picker(header: list[str], wanted: list[str] | None) -> list[int]:
    if wanted is None:
        return list(range(len(header)))
    missing = [name for name in wanted if name not in header]
    if missing:
        raise ToolError(
            "Tool.BadRequest",
            f"args.columns: unknown column(s) {missing}; the file has {header}",
        )
    return [header.index(name) for name in wanted]


def _pick(rows: Iterator[Sequence[Any]], indexes: list[int]) -> Iterator[list[Any]]:
    for row in rows:
        yield [row[i] if i < len(row) else None for i in indexes]


def _csv_dialect(path: Path) -> type[csv.Dialect] | str:
    with path.open("r", encoding="utf-8-sig", newline="") as sample_file:
        sample = sample_file.read(_SNIFF_BYTES)
    if path.suffix.lower() == ".tsv":
        return "excel-tab"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return "excel"


def _non_empty(rows: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    for row in rows:
        if any(value not in (None, "") for value in row):
            yield row


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
        path = resolve_under(self._settings.base_dir, request.path)
        limit = effective_max_rows(request.max_rows, self._settings.max_rows)
        suffix = path.suffix.lower()
        if suffix in CSV_SUFFIXES:
            if request.sheet is not None:
                raise ToolError("Tool.BadRequest", "args.sheet: only Excel files have sheets")
            with self._open_csv(path, request.columns, limit) as result:
                yield result
        elif suffix in EXCEL_SUFFIXES:
            with self._open_excel(path, request.sheet, request.columns, limit) as result:
                yield result
        else:
            raise ToolError(
                "Tool.BadRequest",
                f"'{request.path}': unsupported file type '{suffix}' (use .csv, .tsv, .txt, .xlsx or .xlsm)",
            )

    @contextmanager
    def _open_csv(self, path: Path, columns: list[str] | None, limit: int) -> Iterator[TabularResult]:
        dialect = _csv_dialect(path)
        try:
            with path.open("r", encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle, dialect)
                header = _header_names(next(reader, []))
                indexes = _column_picker(header, columns)
                rows = CappedRows(_pick(_non_empty(reader), indexes), limit)
                yield TabularResult([header[i] for i in indexes], rows)
        except UnicodeDecodeError as error:
            raise ToolError("Tool.BadRequest", f"'{path.name}' is not UTF-8 text ({error.reason})") from None
        except csv.Error as error:
            raise ToolError("Tool.BadRequest", f"'{path.name}' is not valid CSV ({error})") from None

    @contextmanager
    def _open_excel(
        self, path: Path, sheet: str | None, columns: list[str] | None, limit: int
    ) -> Iterator[TabularResult]:
        from openpyxl import load_workbook  # imported here: slow to import and only Excel needs it

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many unrelated types for a corrupt file
            raise ToolError("Tool.BadRequest", f"'{path.name}' is not a readable Excel file ({error})") from None
        try:
            if sheet is not None and sheet not in workbook.sheetnames:
                raise ToolError(
                    "Tool.BadRequest",
                    f"args.sheet: no sheet '{sheet}'; the workbook has {workbook.sheetnames}",
                )
            worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
            values = worksheet.iter_rows(values_only=True)
            header = _header_names(next(values, ()))
            indexes = _column_picker(header, columns)
            rows = CappedRows(_pick(_non_empty(values), indexes), limit)
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
