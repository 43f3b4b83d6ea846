"""The shift handover's times of day: the site's wall clock when stored without an offset, and with their offset
when stored with one (a shift end kept in UTC must not read as the site's time)."""

from __future__ import annotations

from typing import Any

import pytest

from phi.workflows.operations.handover import render_shift_handover


def _shift(starts_at: str, ends_at: str) -> dict[str, Any]:
    columns = ["shift_id", "shift_date", "shift", "starts_at", "ends_at", "lead", "pickers_on_shift"]
    return {"columns": columns, "rows": [["S1", "2026-11-20", "late", starts_at, ends_at, "Ana", 6]]}


def _header(starts_at: str, ends_at: str) -> str:
    markdown = str(render_shift_handover("Handover", {"shift": _shift(starts_at, ends_at)}, [])["markdown"])
    return markdown.split("\n")[2]


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "shown"),
    [
        ("2026-11-20T14:00:00", "2026-11-20 22:00", "14:00 to 22:00 (site time)"),
        ("2026-11-20T13:00:00Z", "2026-11-20T21:00:00+00:00", "13:00 UTC to 21:00 UTC,"),
        ("2026-11-20T14:00:00+01:00", "2026-11-20T22:00:00+01:00", "14:00 UTC+01:00 to 22:00 UTC+01:00,"),
        ("2026-11-20T08:30:00-03:30", "2026-11-20T16:30:00+05:45", "08:30 UTC-03:30 to 16:30 UTC+05:45,"),
    ],
)
def test_a_shift_time_with_an_offset_shows_it_and_only_offsetless_times_are_called_site_time(
    starts_at: str, ends_at: str, shown: str
) -> None:
    header = _header(starts_at, ends_at)
    assert shown in header
    assert ("(site time)" in header) == ("site time" in shown)
    assert "Figures as of the handover at " + shown.split(" to ")[1].rstrip(",").replace(" (site time)", "") in header
