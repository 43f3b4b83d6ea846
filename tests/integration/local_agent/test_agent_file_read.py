"""`file.read` on real CSV and Excel files under a base folder."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from phi_agent.config import FileReadSettings
from phi_agent.errors import ToolError
from phi_agent.results import build_output
from phi_agent.tools.file_read import FileReadTool


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    base = tmp_path / "exports"
    (base / "daily").mkdir(parents=True)
    (base / "daily" / "stock.csv").write_text(
        "sku,qty,warehouse\nA-1,10,Lyon\nB-2,0,Paris\n\nC-3,7,Lyon\n", encoding="utf-8"
    )
    (base / "semicolon.csv").write_text("sku;qty\nA;1\nB;2\n", encoding="utf-8")
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    summary.append(["kpi", "value"])
    summary.append(["fill_rate", 0.97])
    moves = workbook.create_sheet("Moves")
    moves.append(["when", "sku", "qty", None])
    for i in range(30):
        moves.append([datetime(2026, 1, 1, 8, i), f"SKU-{i}", i, "extra"])
    workbook.save(base / "report.xlsx")
    (tmp_path / "outside.csv").write_text("secret\n42\n")
    os.symlink(tmp_path / "outside.csv", base / "link.csv")
    (base / "notes.pdf").write_bytes(b"%PDF-1.4")
    (base / "broken.xlsx").write_bytes(b"not a zip")
    return base


@pytest.fixture
def tool(exports: Path) -> FileReadTool:
    return FileReadTool(FileReadSettings(base_dir=exports, max_rows=25))


def _read(tool: FileReadTool, **args: Any) -> dict[str, Any]:
    with tool.open(args, None) as result:
        return dict(build_output("c", result, 131_072, None)["result"])


def _error(tool: FileReadTool, **args: Any) -> ToolError:
    with pytest.raises(ToolError) as caught:
        _read(tool, **args)
    return caught.value


def test_csv_with_columns_and_cap(tool: FileReadTool) -> None:
    assert _read(tool, path="daily/stock.csv") == {
        "columns": ["sku", "qty", "warehouse"],
        "rows": [["A-1", "10", "Lyon"], ["B-2", "0", "Paris"], ["C-3", "7", "Lyon"]],
        "row_count": 3,
        "truncated": False,
    }
    picked = _read(tool, path="daily/stock.csv", columns=["warehouse", "sku"], max_rows=2)
    assert picked["columns"] == ["warehouse", "sku"]
    assert picked["rows"] == [["Lyon", "A-1"], ["Paris", "B-2"]] and picked["truncated"] is True
    assert _read(tool, path="semicolon.csv")["rows"] == [["A", "1"], ["B", "2"]]


EXPORT = "sku;customer;note\r\nA-1;Müller GmbH;5 € pallet\r\nB-2;Sørensen;“rush”\r\n"
EXPORT_ROWS = [["A-1", "Müller GmbH", "5 € pallet"], ["B-2", "Sørensen", "“rush”"]]


@pytest.mark.parametrize(
    ("how", "data"),
    [
        ("Excel's plain CSV on Western Windows (Windows-1252)", EXPORT.encode("cp1252")),
        ("CSV UTF-8 with a byte-order mark", EXPORT.encode("utf-8-sig")),
        ("UTF-8 without one", EXPORT.encode("utf-8")),
        ("Unicode Text (UTF-16 with a byte-order mark)", EXPORT.encode("utf-16")),
        ("UTF-16 little-endian without one", EXPORT.encode("utf-16-le")),
        ("UTF-16 big-endian without one", EXPORT.encode("utf-16-be")),
        ("UTF-32 with a byte-order mark", EXPORT.encode("utf-32")),
    ],
)
def test_a_text_export_is_read_in_the_encoding_it_was_written_in(tmp_path: Path, how: str, data: bytes) -> None:
    (tmp_path / "export.csv").write_bytes(data)
    tool = FileReadTool(FileReadSettings(base_dir=tmp_path, max_rows=25))
    read = _read(tool, path="export.csv")
    assert read["columns"] == ["sku", "customer", "note"], how
    assert read["rows"] == EXPORT_ROWS, how


def test_the_whole_file_decides_between_utf8_and_windows_1252(tmp_path: Path) -> None:
    # Past the first 64 KiB: an export whose first non-ASCII character comes late is still read as what it is
    ascii_rows = "".join(f"S-{n};plain;x\r\n" for n in range(8_000))  # 120 KB
    for name, encoding in (("late_utf8.csv", "utf-8"), ("late_1252.csv", "cp1252")):
        (tmp_path / name).write_bytes(("sku;customer;note\r\n" + ascii_rows + "Z-9;Café Noël;€\r\n").encode(encoding))
    # and the five bytes Windows-1252 leaves undefined do not fail a whole export
    (tmp_path / "stray.csv").write_bytes(b"sku;note\r\nA-1;caf\xe9 \x81\r\n")
    tool = FileReadTool(FileReadSettings(base_dir=tmp_path, max_rows=10_000))
    for name in ("late_utf8.csv", "late_1252.csv"):
        with tool.open({"path": name}, None) as result:
            assert list(result.rows)[-1] == ["Z-9", "Café Noël", "€"], name
    assert _read(tool, path="stray.csv")["rows"] == [["A-1", "café \x81"]]


def test_excel_sheets_types_and_cap(tool: FileReadTool) -> None:
    first = _read(tool, path="report.xlsx")
    assert first["columns"] == ["kpi", "value"] and first["rows"] == [["fill_rate", 0.97]]
    moves = _read(tool, path="report.xlsx", sheet="Moves", columns=["when", "qty"])
    assert moves["rows"][0] == ["2026-01-01T08:00:00", 0]
    assert moves["row_count"] == 25 and moves["truncated"] is True
    assert _read(tool, path="report.xlsx", sheet="Moves")["columns"] == ["when", "sku", "qty", "column_4"]


def test_file_refusals(tool: FileReadTool, exports: Path) -> None:
    assert _error(tool, path="../outside.csv").error == "Tool.PathNotAllowed"
    assert _error(tool, path=str(exports.parent / "outside.csv")).error == "Tool.PathNotAllowed"
    assert _error(tool, path="link.csv").error == "Tool.PathNotAllowed"
    assert _error(tool, path="missing.csv").error == "Tool.FileNotFound"
    assert _error(tool, path="notes.pdf").error == "Tool.BadRequest"
    assert _error(tool, path="broken.xlsx").error == "Tool.BadRequest"
    no_sheet = _error(tool, path="report.xlsx", sheet="Nope")
    assert no_sheet.error == "Tool.BadRequest" and "Summary" in no_sheet.cause
    no_column = _error(tool, path="daily/stock.csv", columns=["price"])
    assert no_column.error == "Tool.BadRequest" and "price" in no_column.cause
    assert _error(tool, path="daily/stock.csv", sheet="x").error == "Tool.BadRequest"


def test_check_reports_the_base_folder(tool: FileReadTool, tmp_path: Path) -> None:
    assert "exports" in tool.check()
    missing = FileReadTool(FileReadSettings(base_dir=tmp_path / "nope"))
    with pytest.raises(ToolError):
        missing.check()


def _with_saved_results(path: Path) -> None:
    """The workbook as Excel saves it: each formula's last result kept in its cell (`<v>3</v>`)."""
    import zipfile

    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<f>A2+B2</f><v></v>", b"<f>A2+B2</f><v>3</v>")
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_formula_cells_without_a_saved_result_are_refused_not_read_as_empty(tmp_path: Path) -> None:
    # A workbook written by a program that does not calculate (openpyxl here) holds formulas without results:
    # read as empty cells, a shipped_at formula would make every order look unshipped
    book = Workbook()
    orders = book.active
    orders.title = "Orders"
    orders.append(["qty", "extra", "total"])
    orders.append([1, 2, "=A2+B2"])
    book.create_sheet("Plain").append(["n"])
    book["Plain"].append([5])
    book.save(tmp_path / "calc.xlsx")
    tool = FileReadTool(FileReadSettings(base_dir=tmp_path))

    refused = _error(tool, path="calc.xlsx")
    assert refused.error == "Tool.BadRequest"
    assert "sheet 'Orders' has 1 formula cell(s) without a saved result" in refused.cause
    assert _read(tool, path="calc.xlsx", sheet="Plain")["rows"] == [[5]]  # another sheet of the file reads

    # the same file as Excel saves it (the result kept beside the formula) is read with its results
    _with_saved_results(tmp_path / "calc.xlsx")
    assert _read(tool, path="calc.xlsx", sheet="Orders")["rows"] == [[1, 2, 3]]


def test_a_workbook_rewritten_after_its_checks_is_parsed_as_it_was_checked(
    tool: FileReadTool, exports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zip-bomb, size and formula checks describe the bytes openpyxl then reads: the workbook is read from a
    private copy, so rewriting the file in place after the checks (an export being written, or a swap on purpose)
    changes nothing of what is parsed."""
    from phi_agent.tools import file_read

    scan = file_read.scan_workbook_xml
    rewritten = Workbook()
    rewritten.active.title = "Summary"
    rewritten.active.append(["kpi", "value"])
    rewritten.active.append(["fill_rate", "=1/0"])  # a formula without a saved result, refused if it were checked

    def scan_then_rewrite(*args: Any, **kwargs: Any) -> dict[str, int]:
        found = scan(*args, **kwargs)
        with (exports / "report.xlsx").open("r+b") as original:  # in place: the same file, other bytes
            original.truncate(0)
            rewritten.save(original)
        return found

    monkeypatch.setattr(file_read, "scan_workbook_xml", scan_then_rewrite)
    assert _read(tool, path="report.xlsx", sheet="Summary")["rows"] == [["fill_rate", 0.97]]
    monkeypatch.setattr(file_read, "scan_workbook_xml", scan)
    assert "formula cell(s) without a saved result" in _error(tool, path="report.xlsx", sheet="Summary").cause


def test_utf32_without_a_mark_is_read_and_a_binary_file_under_a_csv_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "wide.csv").write_bytes(EXPORT.encode("utf-32-le"))
    (tmp_path / "old.csv").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 40)  # an .xls
    (tmp_path / "nul.csv").write_bytes(b"a,b\r\n1,\x00\x00\x00\x002\r\n")
    tool = FileReadTool(FileReadSettings(base_dir=tmp_path, max_rows=25))
    assert _read(tool, path="wide.csv")["rows"] == EXPORT_ROWS
    for name in ("old.csv", "nul.csv"):
        refused = _error(tool, path=name)
        assert refused.error == "Tool.BadRequest", name
        assert refused.cause.startswith(f"'{name}' holds NUL bytes: it is not a text export"), refused.cause


def test_the_header_is_the_first_row_holding_a_value(tmp_path: Path) -> None:
    # An export starting with empty lines was read as a header of no column and every row as an empty list.
    (tmp_path / "blank-first.csv").write_bytes(b"\r\n,,\r\nsku,qty\r\nA-1,4\r\n")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A3"], sheet["B3"], sheet["A4"], sheet["B4"] = "sku", "qty", "A-1", 4
    workbook.save(tmp_path / "blank-first.xlsx")
    tool = FileReadTool(FileReadSettings(base_dir=tmp_path))
    assert _read(tool, path="blank-first.csv") == {
        "columns": ["sku", "qty"],
        "rows": [["A-1", "4"]],
        "row_count": 1,
        "truncated": False,
    }
    assert _read(tool, path="blank-first.xlsx")["columns"] == ["sku", "qty"]
    assert _read(tool, path="blank-first.xlsx")["rows"] == [["A-1", 4]]


@pytest.mark.parametrize(
    ("first_line", "encoding"),
    [(b"sep=;\r\n", "utf-8"), (b"SEP=;\n", "utf-8"), (b'"sep=;"\r\n', "utf-8"), ("sep=;\r\n", "utf-16")],
)
def test_excels_sep_line_names_the_delimiter_and_is_no_header(
    first_line: bytes | str, encoding: str, tmp_path: Path
) -> None:
    # Excel writes (and reads) a first line `sep=;` in exports made where the list separator is ';'. It had become
    # the header, so every column asked for by name was missing.
    body = "sku;qty;note\r\nA-1;4;a, b\r\nB-2;1;c\r\n"
    data = (first_line + body).encode(encoding) if isinstance(first_line, str) else first_line + body.encode(encoding)
    (tmp_path / "export.csv").write_bytes(data)

    result = _read(FileReadTool(FileReadSettings(base_dir=tmp_path)), path="export.csv", columns=["sku", "note"])

    assert result["columns"] == ["sku", "note"]
    assert result["rows"] == [["A-1", "a, b"], ["B-2", "c"]]


def test_a_first_column_named_like_a_sep_line_is_still_a_header(tmp_path: Path) -> None:
    (tmp_path / "not-sep.csv").write_bytes(b"sep=;x,qty\r\nA,1\r\n")
    assert _read(FileReadTool(FileReadSettings(base_dir=tmp_path)), path="not-sep.csv")["columns"] == ["sep=;x", "qty"]
