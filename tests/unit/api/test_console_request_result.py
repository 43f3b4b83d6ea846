"""The request page's result table, rendered from the template alone: its row count is written as people read
large numbers, and says how much of the table the preview shows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from phi.api.console.rendering import environment


def _render(result: dict[str, Any]) -> str:
    req = SimpleNamespace(
        id="r1",
        prompt="late shipments by carrier",
        lane="one_off",
        decision=SimpleNamespace(source="rules", reason="a question about data"),
        status="SUCCEEDED",
        task_id=None,
        created_at=None,
        refusal=None,
        error=None,
        result=SimpleNamespace(value=None, csv=None, **result),
    )
    template = environment().get_template("_request_live.html")
    return template.render(req=req, running=False, agent=SimpleNamespace(id="a1"), proposal=None, C="/console")


def test_a_large_result_counts_its_rows_with_separators_and_says_the_preview_is_partial() -> None:
    html = _render({"columns": ["carrier"], "preview": [["DHL"], ["UPS"]], "row_count": 7371})

    assert "7,371 rows; the first 2 shown." in html


def test_a_result_of_unknown_size_says_so() -> None:
    html = _render({"columns": ["carrier"], "preview": [], "row_count": None})

    assert "? rows." in html and "No rows." in html
