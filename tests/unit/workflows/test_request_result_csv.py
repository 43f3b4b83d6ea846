"""An ad-hoc request's CSV download never carries a spreadsheet formula: text that a spreadsheet would run
(starting with =, +, -, @, a tab or a carriage return), in a value or in a column name, is prefixed with a
quote; numbers, dates and ordinary text are written as they are."""

from __future__ import annotations

import csv
import io

import pytest

from phi.workflows.request_results import to_csv

HOSTILE = ['=HYPERLINK("http://x.test","click")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_in_a_value_or_a_column_name_is_made_inert(text: str) -> None:
    header, row = read(to_csv([text, "carrier"], [[text, "DHL"]]))
    assert header == [f"'{text}", "carrier"]
    assert row == [f"'{text}", "DHL"]


def test_numbers_json_and_ordinary_text_are_kept() -> None:
    header, row = read(to_csv(["n", "delta", "note", "tags", "when"], [[3, -5, "late, again", ["=x"], "2026-12-04"]]))
    assert header == ["n", "delta", "note", "tags", "when"]
    assert row == ["3", "-5", "late, again", '["=x"]', "2026-12-04"]
