"""Clock times in reports. The shift handover's: the site's wall clock when stored without an offset, with their
offset when stored with one (a shift end kept in UTC must not read as the site's time). The daily report's: with
their offset when the site's clock showed that time twice (the hour an autumn change repeats)."""

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


def test_a_pickers_times_in_the_hour_an_autumn_change_repeats_carry_their_offsets() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from phi.workflows.warehouse.kpis import PickerRate
    from phi.workflows.warehouse.report import _picker_times, clock_text

    new_york = ZoneInfo("America/New_York")
    # 2026-11-01: 01:00-02:00 happens twice. First pick 01:30 EDT (05:30Z), last 01:10 EST (06:10Z), 40 min later.
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC).astimezone(new_york)
    last = datetime(2026, 11, 1, 6, 10, tzinfo=UTC).astimezone(new_york)
    rate = PickerRate(picker_id="P1", picker_name=None, shift=None, lines=8, units=8.0, first_pick_at=first,
                      last_pick_at=last, active_hours=1.0, lines_per_hour=8.0)  # fmt: skip

    assert _picker_times(rate, "America/New_York")[0] == "01:30 UTC-04:00-01:10 UTC-05:00"  # not "01:30-01:10"
    # a time the clock showed once reads as before, on that day and on others
    assert clock_text(datetime(2026, 11, 1, 14, 5, tzinfo=UTC).astimezone(new_york), "America/New_York") == "09:05"
    assert clock_text(datetime(2026, 7, 1, 5, 30, tzinfo=UTC).astimezone(new_york), "America/New_York") == "01:30"
    # the report's JSON keeps only the offset (no zone, no fold): the site's zone tells the repeated hour
    stored = datetime.fromisoformat(last.isoformat())
    assert clock_text(stored, "America/New_York", "%Y-%m-%d %H:%M") == "2026-11-01 01:10 UTC-05:00"
