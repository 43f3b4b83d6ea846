"""The daily report end to end for a warehouse outside UTC, and for an SOP whose limit cannot be read:
the API, the real ASL, Think, and the local agent as its own process on a hand-made SQLite day."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.api import ApiSession
from tests.support.e2e import StartAgent
from tests.support.waiting import wait_until
from tests.support.warehouse_forms import DAY, EXPECTED, SQLITE_FORMS, write_sqlite

pytestmark = pytest.mark.e2e


def _run(session: ApiSession, agent: dict[str, object], **task_input: str) -> dict[str, object]:
    run = session.ok(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": DAY.isoformat(), **task_input}},
    )
    return session.wait_for_task(run["task_id"], timeout=300)  # a bound, not a speed assumption (shared machine)


def test_the_report_day_is_the_warehouses_local_day(
    new_user: ApiSession, tmp_path: Path, start_local_agent: StartAgent
) -> None:
    # Given a Tokyo warehouse whose database stores UTC text in Python's str() form ('… 15:00:00+00:00'),
    # and an agent configured with the warehouse's time zone
    tokyo = ZoneInfo("Asia/Tokyo")
    path = write_sqlite(tmp_path / "tokyo.sqlite", tokyo, SQLITE_FORMS["space_utc_offset"](tokyo))
    agent = new_user.create_agent(warehouse_timezone="Asia/Tokyo")
    assert agent["config"]["warehouse_timezone"] == "Asia/Tokyo"
    start_local_agent(new_user, agent, f"sqlite:///{path}")

    # When the report for 20 November runs
    task = _run(new_user, agent)

    # Then its figures are those of Tokyo's 20 November, with Tokyo hours
    assert task["status"] == "SUCCEEDED", task["error"]
    kpis = task["output"]["kpis"]  # type: ignore[index]
    assert kpis["timezone"] == "Asia/Tokyo"
    assert kpis["throughput"]["lines_picked"] == EXPECTED["lines_picked"]
    assert {h["hour"]: h["lines"] for h in kpis["hourly"] if h["lines"]} == EXPECTED["hourly"]
    assert (kpis["late"]["late_count"], kpis["late"]["rate_base"]) == (EXPECTED["late_count"], EXPECTED["rate_base"])
    assert kpis["backlog"]["orders"] == EXPECTED["backlog_orders"]
    markdown = task["output"]["markdown"]  # type: ignore[index]
    assert "for 2026-11-20 00:00 to 2026-11-21 00:00 Asia/Tokyo" in markdown
    assert "## Picks per hour (Asia/Tokyo)" in markdown

    # And a task input may name another zone: read as UTC, the same rows make a different day
    as_utc = _run(new_user, agent, timezone="UTC")
    assert as_utc["status"] == "SUCCEEDED", as_utc["error"]
    assert as_utc["output"]["kpis"]["throughput"]["lines_picked"] != EXPECTED["lines_picked"]  # type: ignore[index]


def test_an_unknown_time_zone_is_refused_where_it_is_given(new_user: ApiSession) -> None:
    refused = new_user.request(
        "POST",
        f"/orgs/{new_user.org_id}/agents",
        json={
            "name": "x",
            "industry_key": "logistics",
            "role_key": "warehouse_analyst",
            "tools": {"db": {}},
            "warehouse_timezone": "Europe/Leeds",
        },
    )
    assert refused.status_code == 422
    assert "unknown time zone 'Europe/Leeds'" in refused.text
    agent = new_user.create_agent()
    assert agent["config"]["warehouse_timezone"] == "UTC"
    patched = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"warehouse_timezone": "America/Chicago"})
    assert patched["config"]["warehouse_timezone"] == "America/Chicago"
    bad_input = new_user.request(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"timezone": "Mars/Olympus_Mons"}},
    )
    assert bad_input.status_code == 400
    assert "unknown time zone 'Mars/Olympus_Mons'" in bad_input.text


def test_an_sop_limit_that_cannot_be_read_is_reported_as_unread_never_as_absent(
    new_user: ApiSession, tmp_path: Path, start_local_agent: StartAgent
) -> None:
    # Given an SOP, named as the source of the late-rate limit, whose service-level passage gives no number
    sop = (
        "# SOP-OUT-07 Carrier service\n\n## 2. Service level\n\nLate shipments are reviewed weekly with each "
        "carrier; the limit is agreed in the carrier's contract.\n"
    )
    agent = new_user.create_agent(
        threshold_sources={"max_late_rate": "SOP-OUT-07.md"}, thresholds={"max_late_rate": 0.07}
    )
    uploaded = new_user.request(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("SOP-OUT-07.md", sop.encode())},
        data={"source_type": "SOP"},
    ).json()
    wait_until(
        lambda: new_user.ok("GET", f"/agents/{agent['id']}/documents/{uploaded['id']}")["status"] == "READY",
        timeout=60,
    )
    utc = ZoneInfo("UTC")
    path = write_sqlite(tmp_path / "wh.sqlite", utc, SQLITE_FORMS["iso_t_naive"](utc))
    start_local_agent(new_user, agent, f"sqlite:///{path}")

    # When the report runs
    task = _run(new_user, agent)

    # Then the configured 7% applies and the report says it could not read the SOP's passage, naming it
    assert task["status"] == "SUCCEEDED", task["error"]
    assert task["output"]["kpis"]["thresholds"]["max_late_rate"] == pytest.approx(0.07)  # type: ignore[index]
    markdown = task["output"]["markdown"]  # type: ignore[index]
    note = next(line for line in markdown.splitlines() if "max_late_rate: could not read a value from" in line)
    assert note.startswith("- max_late_rate: could not read a value from SOP-OUT-07.md §")
    assert note.endswith("; the configured limit 7.0% applies.")
    assert "states no value" not in markdown
