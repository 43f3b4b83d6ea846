"""`file.read` against Excel bombs built here: a zip's declared sizes and compression ratio are checked
before openpyxl parses anything, and reading is bounded by cells, bytes and the time limit."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from phi_agent.config import FileReadSettings
from phi_agent.errors import ToolError
from phi_agent.results import build_output
from phi_agent.tools.file_read import FileReadTool

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>qty</t></is></c></row>'
)
_SHEET_TAIL = "</sheetData></worksheet>"


def _workbook(
    path: Path,
    rows: list[str] | None = None,
    repeat_row: tuple[str, int] | None = None,
    shared_string: tuple[str, int] = ("sku", 1),
) -> Path:
    """A minimal .xlsx written part by part (streamed, so a bomb is cheap to build)."""
    text, times = shared_string
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
                b'uniqueCount="1"><si><t>'
            )
            chunk = text.encode() * 1_000_000
            for _ in range(times // 1_000_000):
                part.write(chunk)
            part.write(text.encode() * (times % 1_000_000))
            part.write(b"</t></si></sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(_SHEET_HEAD.encode())
            for row in rows or []:
                part.write(row.encode())
            if repeat_row is not None:
                block = repeat_row[0].encode() * 10_000
                for _ in range(repeat_row[1] // 10_000):
                    part.write(block)
            part.write(_SHEET_TAIL.encode())
    return path


def _tool(base: Path, **settings: Any) -> FileReadTool:
    return FileReadTool(FileReadSettings(base_dir=base, **settings))


def _read(tool: FileReadTool, path: str, timeout: float | None = None) -> dict[str, Any]:
    with tool.open({"path": path}, timeout) as result:
        return dict(build_output("call", result, 131_072, None)["result"])


def _drain(tool: FileReadTool, path: str, timeout: float | None = None) -> int:
    """Read every row as the result builder would, without its inline-size limit."""
    with tool.open({"path": path}, timeout) as result:
        return sum(1 for _ in result.rows)


def _refused(tool: FileReadTool, path: str, timeout: float | None = None) -> ToolError:
    with pytest.raises(ToolError) as caught:
        _drain(tool, path, timeout)
    return caught.value


def test_a_hand_built_workbook_reads(tmp_path: Path) -> None:
    _workbook(
        tmp_path / "ok.xlsx",
        rows=['<row r="2"><c r="A2" t="inlineStr"><is><t>SKU-1</t></is></c><c r="B2"><v>4</v></c></row>'],
    )
    assert _read(_tool(tmp_path), "ok.xlsx") == {
        "columns": ["sku", "qty"],
        "rows": [["SKU-1", 4]],
        "row_count": 1,
        "truncated": False,
    }


def test_millions_of_empty_rows_are_refused_before_parsing(tmp_path: Path) -> None:
    # 3 million <row/> elements: about 60 MB of XML that compresses to a few hundred KB.
    bomb = _workbook(tmp_path / "empty-rows.xlsx", repeat_row=("<row/>", 3_000_000))
    assert bomb.stat().st_size < 2_000_000
    error = _refused(_tool(tmp_path), "empty-rows.xlsx")
    assert error.error == "Tool.BadRequest" and "compressed" in error.cause and "sheet1.xml" in error.cause


def test_a_huge_shared_string_is_refused_before_parsing(tmp_path: Path) -> None:
    _workbook(tmp_path / "huge-string.xlsx", shared_string=("x", 80_000_000))
    error = _refused(_tool(tmp_path), "huge-string.xlsx")
    assert error.error in {"Tool.BadRequest", "Tool.ResultTooLarge"} and "sharedStrings.xml" in error.cause
    # Under a generous ratio limit, the shared-strings cap still holds.
    relaxed = _refused(_tool(tmp_path, max_compression_ratio=1_000_000), "huge-string.xlsx")
    assert relaxed.error == "Tool.ResultTooLarge" and "shared strings" in relaxed.cause


def test_declared_unpacked_size_is_capped(tmp_path: Path) -> None:
    _workbook(tmp_path / "big.xlsx", shared_string=("x", 3_000_000))
    error = _refused(_tool(tmp_path, max_uncompressed_bytes=2_000_000, max_compression_ratio=10**6), "big.xlsx")
    assert error.error == "Tool.ResultTooLarge" and "unpacks to" in error.cause


def test_a_row_far_down_the_sheet_is_bounded_by_cells_and_by_time(tmp_path: Path) -> None:
    # Tiny and barely compressible, but openpyxl would yield two billion empty rows before row 2000000000.
    _workbook(tmp_path / "far.xlsx", rows=['<row r="2000000000"><c r="A2000000000"><v>1</v></c></row>'])
    by_cells = _refused(_tool(tmp_path, max_cells=200_000), "far.xlsx")
    assert by_cells.error == "Tool.ResultTooLarge" and "200000 cells" in by_cells.cause
    by_time = _refused(_tool(tmp_path, max_cells=10**12), "far.xlsx", timeout=1)
    assert by_time.error == "Tool.Timeout"


def test_a_cell_in_the_last_column_is_bounded(tmp_path: Path) -> None:
    rows = [f'<row r="{i}"><c r="XFD{i}"><v>1</v></c></row>' for i in range(2, 2_000)]
    _workbook(tmp_path / "wide.xlsx", rows=rows)
    error = _refused(_tool(tmp_path, max_cells=1_000_000), "wide.xlsx")
    assert error.error == "Tool.ResultTooLarge" and "cells" in error.cause


def _sheet_elements_before_rows(path: Path, elements: int) -> Path:
    """A workbook whose sheet has `elements` elements (openpyxl keeps each) before its rows."""
    _workbook(path)
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    junk = "".join(f"<x{i % 97}/>" for i in range(elements))
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("<sheetData>", junk + "<sheetData>", 1).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def test_what_openpyxl_would_spend_on_before_a_row_is_refused_by_a_streaming_scan(tmp_path: Path) -> None:
    tool = _tool(tmp_path)
    # rows numbered lower than the one before: openpyxl skips them, uncounted, however many
    _workbook(tmp_path / "back.xlsx", rows=['<row r="3"><c><v>1</v></c></row>', '<row r="2"><c><v>1</v></c></row>'])
    assert "row 2 after row 3 (rows out of order)" in _refused(tool, "back.xlsx").cause
    # one row of more cells than columns are allowed: built whole before it is counted
    wide_row = '<row r="2">' + "<c><v>1</v></c>" * 5_000 + "</row>"
    _workbook(tmp_path / "row.xlsx", rows=[wide_row])
    assert "a row of more than 4,096 cells" in _refused(tool, "row.xlsx").cause
    # elements outside the rows, which openpyxl keeps: 16 million took 1.4 GB and 24 s
    _sheet_elements_before_rows(tmp_path / "junk.xlsx", 150_000)
    assert "more than 100,000 elements outside its rows" in _refused(tool, "junk.xlsx").cause
    # an ordinary workbook still reads
    _workbook(tmp_path / "ok.xlsx", rows=['<row r="2"><c r="A2" t="inlineStr"><is><t>SKU-1</t></is></c></row>'])
    assert _drain(tool, "ok.xlsx") == 1


def test_a_workbook_with_more_shared_strings_than_allowed_is_refused_before_they_are_read(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "strings.xlsx")
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    many = "".join("<si><t>s</t></si>" for _ in range(1_001))
    parts["xl/sharedStrings.xml"] = parts["xl/sharedStrings.xml"].replace(b"</sst>", many.encode() + b"</sst>")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    error = _refused(_tool(tmp_path, max_shared_strings=1_000), "strings.xlsx")
    assert error.error == "Tool.ResultTooLarge" and "more than 1,000 shared strings" in error.cause
    assert _drain(_tool(tmp_path, max_shared_strings=1_002), "strings.xlsx") == 0


def test_a_lying_declared_size_cannot_unpack_more(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["sku", "qty"])
    for i in range(5_000):
        sheet.append([f"SKU-{i}", i])
    path = tmp_path / "liar.xlsx"
    workbook.save(path)
    # Rewrite the central directory's uncompressed size of the sheet to a small number.
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    offset = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    struct.pack_into("<I", data, offset + 24, 100)
    path.write_bytes(bytes(data))
    error = _refused(_tool(tmp_path), "liar.xlsx")
    assert error.error == "Tool.BadRequest" and "not a readable Excel file" in error.cause


def test_csv_lines_and_rows_are_capped(tmp_path: Path) -> None:
    (tmp_path / "wide.csv").write_text("a,b\n" + "x," * 3_000_000 + "y\n")
    error = _refused(_tool(tmp_path, max_row_bytes=1_000_000), "wide.csv")
    assert error.error == "Tool.ResultTooLarge" and "per-row limit" in error.cause
    (tmp_path / "many.csv").write_text("a\n" + ("y" * 1_000 + "\n") * 5_000)
    total = _refused(_tool(tmp_path, max_result_bytes=1_000_000), "many.csv")
    assert total.error == "Tool.ResultTooLarge" and "1000000 bytes" in total.cause


_RELATIONSHIP = (
    '<Relationship Id="{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{type}" '
    'Target="{target}"{mode}/>'
)


def _relationships(*items: tuple[str, str, str]) -> bytes:
    external = ("hyperlink", "externalLinkPath")
    body = "".join(
        _RELATIONSHIP.format(id=i, type=t, target=g, mode=' TargetMode="External"' if t in external else "")
        for i, t, g in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{body}</Relationships>'
    ).encode()


def _rewritten(path: Path, sheets: str, more: str = "", **parts: bytes) -> Path:
    """`_workbook(path)` with workbook.xml's sheet entries (and what follows them) and other parts replaced."""
    _workbook(path)
    with zipfile.ZipFile(path) as archive:
        kept = {info.filename: archive.read(info) for info in archive.infolist()}
    kept["xl/workbook.xml"] = _WORKBOOK.replace(
        '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets>', f"<sheets>{sheets}</sheets>{more}"
    ).encode()
    kept.update({name.replace("__", "/").replace("_dot_", "."): data for name, data in parts.items()})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in kept.items():
            archive.writestr(name, data)
    return path


def _random_hex(count: int) -> list[str]:
    return [f"{number:016x}" for number in struct.unpack(f"<{count}Q", os.urandom(8 * count))]


def test_a_part_many_workbook_entries_lead_to_is_not_parsed_once_per_entry(tmp_path: Path) -> None:
    tool = _tool(tmp_path)
    sheet = '<sheet name="Data" sheetId="1" r:id="rId1"/>'
    # 100 external references to one 1.5 MiB cached copy of another workbook: openpyxl parsed it 100 times,
    # before the first row and past the time limit (200: 49 s and 1.5 GB from a 280 KB file)
    cells = "".join(f'<cell r="A{i + 1}" t="str"><v>{text}</v></cell>' for i, text in enumerate(_random_hex(30_000)))
    link = (
        '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><externalBook r:id="rId1">'
        f'<sheetNames><sheetName val="S"/></sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1">{cells}</row>'
        "</sheetData></sheetDataSet></externalBook></externalLink>"
    ).encode()
    workbook_rels = _relationships(
        ("rId1", "worksheet", "worksheets/sheet1.xml"),
        ("rId2", "sharedStrings", "sharedStrings.xml"),
        ("rId9", "externalLink", "externalLinks/externalLink1.xml"),
    )
    _rewritten(
        tmp_path / "links.xlsx",
        sheet,
        "<externalReferences>" + '<externalReference r:id="rId9"/>' * 100 + "</externalReferences>",
        xl__externalLinks__externalLink1_dot_xml=link,
        xl__externalLinks___rels__externalLink1_dot_xml_dot_rels=_relationships(
            ("rId1", "externalLinkPath", "file:///C:/other.xlsx")
        ),
        xl___rels__workbook_dot_xml_dot_rels=workbook_rels,
    )
    # (a deadline 50 times the ~0.3 s this read takes, for a loaded machine; the old reading took over 40 s)
    assert _read(tool, "links.xlsx", timeout=15)["columns"] == ["sku", "qty"]
    # 60 sheet entries leading to one sheet whose relationships take 3 MiB: openpyxl parsed those 60 times (11 s)
    entries = "".join(f'<sheet name="S{i}" sheetId="{i + 2}" r:id="rId1"/>' for i in range(60))
    links = [(f"rId{i}", "hyperlink", f"https://example.com/{text}") for i, text in enumerate(_random_hex(20_000))]
    _rewritten(
        tmp_path / "entries.xlsx",
        sheet + entries,
        xl__worksheets___rels__sheet1_dot_xml_dot_rels=_relationships(*links),
    )
    assert _read(tool, "entries.xlsx", timeout=5)["columns"] == ["sku", "qty"]
    duplicate = pytest.raises(ToolError, match="no sheet 'S1'; the workbook has \\['Data'\\]")  # one part, once
    with duplicate, tool.open({"path": "entries.xlsx", "sheet": "S1"}, 5):
        pass
    # A sheet kept outside xl/worksheets/, where the streaming scan does not look (its formula cells without a
    # result were read as empty), is not offered.
    workbook_rels = _relationships(
        ("rId1", "worksheet", "other/sheet1.xml"), ("rId2", "sharedStrings", "sharedStrings.xml")
    )
    hidden = _SHEET_HEAD.replace("</row>", '<c r="C1"><f>1+1</f></c></row>') + _SHEET_TAIL
    _rewritten(
        tmp_path / "elsewhere.xlsx",
        sheet,
        xl__other__sheet1_dot_xml=hidden.encode(),
        xl___rels__workbook_dot_xml_dot_rels=workbook_rels,
    )
    error = _refused(tool, "elsewhere.xlsx")
    assert error.error == "Tool.BadRequest" and "has no worksheet" in error.cause
