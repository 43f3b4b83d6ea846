"""An ad-hoc request's CSV download never carries a spreadsheet formula: text that a spreadsheet would run
(starting with =, +, -, @, a tab or a carriage return), in a value or in a column name, is prefixed with a
quote; numbers, dates and ordinary text are written as they are, in UTF-8 after a byte-order mark (so that Excel
reads 'Chloé' as written)."""

from __future__ import annotations

import csv
import io

import pytest

from phi.workflows.request_results import to_csv

HOSTILE = ['=HYPERLINK("http://x.test","click")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_in_a_value_or_a_column_name_is_made_inert(text: str) -> None:
    header, row = read(to_csv([text, "carrier"], [[text, "DHL"]]))
    assert header == [f"'{text}", "carrier"]
    assert row == [f"'{text}", "DHL"]


def test_numbers_json_and_ordinary_text_are_kept() -> None:
    header, row = read(to_csv(["n", "delta", "note", "tags", "when"], [[3, -5, "late, again", ["=x"], "2026-12-04"]]))
    assert header == ["n", "delta", "note", "tags", "when"]
    assert row == ["3", "-5", "late, again", '["=x"]', "2026-12-04"]


def test_the_file_starts_with_utf_8_s_byte_order_mark_so_excel_reads_accents_as_written() -> None:
    data = to_csv(["picker", "note"], [["Chloé", "Zürich — Nord"]])
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    assert data[3:].decode("utf-8") == '"picker","note"\r\n"Chloé","Zürich — Nord"\r\n'
    # the byte-order mark is not part of the first column's name for a reader that knows it
    assert read(data)[0] == ["picker", "note"]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_a_formula_after_a_list_separator_stays_inside_its_quoted_cell(separator: str) -> None:
    # Excel splits a CSV on the system's list separator (';' in much of Europe): an unquoted `x;=1+1` would be two
    # cells there, the second a formula. Texts are quoted, so it stays one cell whatever the reader splits on.
    data = to_csv(["note", "carrier"], [[f"x{separator}=1+1", "DHL"], [3, 2.5]])
    text = data.decode("utf-8-sig")

    [line] = text.splitlines()[1:2]
    cells = next(csv.reader([line], delimiter=separator))
    assert not any(cell.lstrip().startswith("=") for cell in cells), cells
    assert read(data)[1:] == [[f"x{separator}=1+1", "DHL"], ["3", "2.5"]]
    assert text.splitlines()[2] == "3,2.5"  # numbers stay numbers
