"""The shift handover and the weekly incident summary on customer data the sample never has: orders shipped in
several parcels, timestamps written with a space or a 'T', as dates alone, with offsets or month names, and
tables longer than a report shows. Each database is built here row by row and each expected figure is worked
out by hand in the comments."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from phi.definitions.document import validate_definition
from phi.definitions.templates import get_template
from phi.workflows.compiler import compile_definition
from phi.workflows.operations.handover import render_shift_handover
from phi.workflows.ports import graph_config
from phi.workflows.safety.incidents import render_incident_summary
from tests.support.fake_ports import fake_ports, snapshot, sqlite_tools
from tests.support.role_schemas import HANDOVER_SCHEMA, WEEKLY_SCHEMA

START = {"task_id": "t", "org_id": "o", "agent_id": "a"}


def _database(path: Path, schema: str, rows: dict[str, list[tuple[Any, ...]]]) -> Path:
    with sqlite3.connect(path) as db:
        db.executescript(schema)
        for table, values in rows.items():
            for row in values:
                db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
    return path


def _run(name: str, db: Path, task_input: dict[str, Any]) -> dict[str, Any]:
    document = get_template(name).definition
    task = snapshot(task_type=document["key"], task_input=task_input)
    ports = fake_ports(task, sqlite_tools(db))
    graph = compile_definition(validate_definition(document)).compile()
    state = graph.invoke(START, graph_config("t", ports))
    assert state.get("failure") is None, state.get("failure")
    return state


def test_handover_counts_each_open_order_once_and_reads_both_separators(tmp_path: Path) -> None:
    # Given a late shift written with 'T' and orders, shipments and exceptions written with a space
    db = _database(
        tmp_path / "handover.sqlite",
        HANDOVER_SCHEMA,
        {
            "shifts": [("S1", "2026-11-20", "late", "2026-11-20T14:00:00", "2026-11-20T22:00:00", "Tom", 9)],
            "orders": [
                ("two-parcels-waiting", "2026-11-20 09:00:00", "2026-11-20 18:00:00", "express", "A"),
                ("one-of-two-gone", "2026-11-20 10:00:00", "2026-11-21 12:00:00", "standard", "B"),
                ("all-gone", "2026-11-20 11:00:00", "2026-11-20 16:00:00", "standard", "C"),
                ("no-shipment-yet", "2026-11-20 21:30:00", "2026-11-21 09:00:00", "standard", "D"),
                ("after-handover", "2026-11-20 22:30:00", "2026-11-21 09:00:00", "express", "E"),
            ],
            "shipments": [
                ("P1", "two-parcels-waiting", "DPD", "2026-11-20 18:00:00", None),
                ("P2", "two-parcels-waiting", "DPD", "2026-11-20 18:00:00", None),
                ("P3", "one-of-two-gone", "UPS", "2026-11-21 12:00:00", "2026-11-20T15:00:00"),
                ("P4", "one-of-two-gone", "Royal Mail", "2026-11-21 12:00:00", "2026-11-20 22:15:00"),
                ("P5", "all-gone", "UPS", "2026-11-20 16:00:00", "2026-11-20 16:30:00"),
            ],
            "shift_exceptions": [
                ("X1", "2026-11-20 15:00:00", "missed_pickup", "Z1", None, "DPD", "no van", None),
                ("X2", "2026-11-20 13:00:00", "short_pick", "Z2", None, None, "short", "2026-11-20 21:00:00"),
                ("X3", "2026-11-20 12:00:00", "damaged_goods", "Z2", None, None, "crushed", "2026-11-20 13:30:00"),
            ],
        },
    )

    # When the handover runs
    state = _run("shift_handover", db, {"date": "2026-11-20", "shift": "late"})
    figures = state["output"]["figures"]

    # Then the open orders are the one waiting for two parcels (once, not twice), the one with a parcel still
    # to go (P4 leaves at 22:15, after the 22:00 handover) and the one with no shipment yet; 'all-gone' left at
    # 16:30 and 'after-handover' was created after it. Two were promised before 22:00: the first and 'all-gone'
    # is not open, so one past promise.
    assert figures["backlog"] == {
        "orders": 3,
        "express": 1,
        "past_promise": 1,
        "oldest_created_at": "2026-11-20 09:00:00",
    }
    oldest = state["results"]["oldest_open"]
    assert [row[0] for row in oldest["rows"]] == ["two-parcels-waiting", "one-of-two-gone", "no-shipment-yet"]
    assert [row[4] for row in oldest["rows"]] == ["DPD", "Royal Mail", None]  # the carrier still to come
    # Shipments promised in the shift (14:00-22:00, written with a space): P1 and P2 at 18:00 (late, unshipped)
    # and P5 at 16:00 (shipped 16:30: late, gone)
    assert figures["late"]["by_carrier"] == {
        "DPD": {"due": 2, "late": 2, "unshipped_at_handover": 2},
        "UPS": {"due": 1, "late": 1, "unshipped_at_handover": 0},
    }
    # X1 raised in the shift and open; X2 raised before, resolved during it; X3 resolved before the shift began
    exceptions = figures["exceptions"]
    assert exceptions["raised_this_shift"] == 1 and exceptions["open_at_handover"] == 1
    assert exceptions["open_ids"] == ["X1"]
    assert exceptions["by_kind"] == {
        "missed_pickup": {"raised_this_shift": 1, "open_at_handover": 1},
        "short_pick": {"raised_this_shift": 0, "open_at_handover": 0},
    }


def _weekly_db(path: Path, completions: dict[str, str | None], occurred: dict[str, str]) -> Path:
    return _database(
        path,
        WEEKLY_SCHEMA,
        {
            "zones": [("Z1", "Inbound")],
            "safety_incidents": [
                (incident_id, at, "Z1", "near_miss", "low", "x") for incident_id, at in occurred.items()
            ],
            "corrective_actions": [
                (action_id, next(iter(occurred)), "fix", "Ana", "2026-11-18", done)
                for action_id, done in completions.items()
            ],
        },
    )


def test_weekly_summary_reads_completions_and_incidents_in_every_common_form(tmp_path: Path) -> None:
    # Given actions due on the 18th, completed in many forms around the end of the week ending Friday the 20th
    # (site time zone UTC), and incidents written in several forms
    db = _weekly_db(
        tmp_path / "weekly.sqlite",
        completions={
            "never": None,
            "next-morning-space": "2026-11-21 09:00:00",  # after the week: overdue at its end
            "next-day-date-only": "2026-11-21",  # done on the 21st: overdue at the end of the 20th
            "friday-evening-space": "2026-11-20 17:00:00",  # in time
            "friday-month-name": "20 Nov 2026 17:00",  # in time
            "saturday-month-name": "Nov 21, 2026 9:05 AM",  # overdue
            "offset-before-end": "2026-11-21T01:00:00+02:00",  # 23:00 UTC on the 20th: in time
            "offset-after-end": "2026-11-20T23:30:00-05:00",  # 04:30 UTC on the 21st: overdue
            "ambiguous": "21/11/2026",  # not readable: left out, with a note
        },
        occurred={
            "I-iso": "2026-11-16T08:00:00",
            "I-space": "2026-11-17 08:00:00",
            "I-month-name": "18 Nov 2026 08:05",
            "I-rfc": "Thu, 19 Nov 2026 08:00:00 +0000",
            "I-before-week": "12 Nov 2026 08:00",
            "I-unreadable": "19/11/2026",
        },
    )

    # When the week ending on the 20th is summarised
    state = _run("weekly_incident_summary", db, {"week_ending": "2026-11-20", "timezone": "UTC"})
    figures, markdown = state["output"]["figures"], state["output"]["markdown"]

    # Then every action still open at the end of the 20th is overdue, and only those
    expected = ["never", "next-day-date-only", "next-morning-space", "offset-after-end", "saturday-month-name"]
    assert sorted(figures["overdue_action_ids"]) == expected
    assert figures["overdue_actions"] == 5 and figures["overdue_by_owner"] == {"Ana": 5}
    assert any("1 row(s) left out" in note and "completed_at" in note for note in state["notes"])
    # And the incidents of the week are read whatever their form (the one of the 12th is outside the week,
    # the day-first slash date is unreadable and said so)
    assert figures["incidents"] == 4 and figures["by_type"] == {"near_miss": {"incidents": 4, "high_severity": 0}}
    assert any("1 row(s) left out" in note and "occurred_at" in note for note in state["notes"])
    assert "5 corrective actions overdue at the end of the week" in markdown


def test_the_end_of_the_week_is_the_site_s_midnight(tmp_path: Path) -> None:
    # Given completions stored in UTC, an hour either side of midnight in New York at the end of Friday the 20th
    # (05:00 UTC on the 21st)
    db = _weekly_db(
        tmp_path / "weekly-ny.sqlite",
        completions={"just-before": "2026-11-21T04:30:00Z", "just-after": "2026-11-21T05:30:00Z"},
        occurred={"I1": "2026-11-18T10:00:00"},
    )
    state = _run("weekly_incident_summary", db, {"week_ending": "2026-11-20", "timezone": "America/New_York"})
    assert state["output"]["figures"]["overdue_action_ids"] == ["just-after"]
    state = _run("weekly_incident_summary", db, {"week_ending": "2026-11-20", "timezone": "UTC"})
    assert sorted(state["output"]["figures"]["overdue_action_ids"]) == ["just-after", "just-before"]


def test_days_overdue_count_from_the_end_of_the_due_day_to_the_end_of_the_week(tmp_path: Path) -> None:
    # Given open actions due on Friday the 4th, on Wednesday 18 November and on the week's last day, Saturday the 5th
    db = _database(
        tmp_path / "overdue.sqlite",
        WEEKLY_SCHEMA,
        {
            "zones": [("Z1", "Inbound")],
            "safety_incidents": [("I1", "2026-11-03T08:00:00", "Z1", "spill", "high", "x")],
            "corrective_actions": [
                ("CA-20261120-1", "I1", "fix", "Ana", "2026-12-04", None),
                ("CA-20261104-1", "I1", "fix", "Ana", "2026-11-18", None),
                ("CA-20261201-1", "I1", "fix", "Ana", "2026-12-05", None),
            ],
        },
    )

    # When the week ending on the 5th is summarised
    state = _run("weekly_incident_summary", db, {"week_ending": "2026-12-05", "timezone": "UTC"})

    # Then a due date means by the end of that day: due on the 4th is 1 day overdue at the end of the 5th (it was
    # 2), due on 18 November 17 days (it was 18), due on the 5th itself less than a day (0)
    days = {row[0]: row[-1] for row in state["results"]["overdue_actions"]["rows"]}
    assert days == {"CA-20261120-1": 1, "CA-20261104-1": 17, "CA-20261201-1": 0}
    owners = state["results"]["overdue_by_owner"]["rows"]
    assert owners == [["Ana", 3, 17]]
    assert "| CA-20261104-1 | spill | Z1 | fix | Ana | 2026-11-18 | 17 |" in state["output"]["markdown"]


# --- tables longer than a report shows ----------------------------------------------------------------------


def _overdue(count: int, given: int | None = None) -> dict[str, Any]:
    rows = [[f"A{n:03}", "spill", "Z1", "fix", "Ana", "2026-11-01", 19] for n in range(count)]
    columns = ["action_id", "incident_type", "zone_id", "action", "owner", "due_date", "days_overdue"]
    return {"columns": columns, "rows": rows[: given or count], "row_count": count}


def test_the_weekly_summary_counts_every_overdue_action_and_shows_fifty(tmp_path: Path) -> None:
    results = {
        "overdue_actions": _overdue(400),
        "overdue_by_owner": {"columns": ["owner", "actions", "most_days_overdue"], "rows": [["Ana", 400, 19]]},
    }
    output = render_incident_summary("Week", results, [])
    assert output["figures"]["overdue_actions"] == 400 and len(output["figures"]["overdue_action_ids"]) == 400
    assert "- 400 corrective actions overdue at the end of the week (Ana 400)." in output["markdown"]
    assert "| A049 |" in output["markdown"] and "| A050 |" not in output["markdown"]
    assert "_350 more not shown._" in output["markdown"]
    assert "## Notes" not in output["markdown"]
    assert "| Action id | Incident type | Zone id | Action | Owner | Due date | Days overdue |" in output["markdown"]


def test_a_table_given_in_part_is_counted_whole_and_the_report_says_so() -> None:
    # a stored table past the renderer's row limit arrives as its first rows and its row_count
    output = render_incident_summary("Week", {"overdue_actions": _overdue(5_000, given=2_000)}, [])
    assert output["figures"]["overdue_actions"] == 5_000
    assert "_4,950 more not shown._" in output["markdown"]
    assert "overdue_actions: the report's figures come from its first 2,000 of 5,000 rows" in output["markdown"]


def test_the_handover_says_how_many_open_exceptions_it_does_not_list() -> None:
    columns = ["exception_id", "raised_at", "kind", "zone_id", "order_id", "carrier", "description"]
    rows = [[f"X{n}", "2026-11-20 15:00", "short_pick", "Z1", None, None, "x"] for n in range(120)]
    results = {
        "shift": {"columns": ["shift", "ends_at"], "rows": [["late", "2026-11-20T22:00:00"]]},
        "exceptions_by_kind": {
            "columns": ["kind", "raised_this_shift", "open_at_handover"],
            "rows": [["short_pick", 120, 120]],
        },
        "open_exceptions": {"columns": columns, "rows": rows, "row_count": 120},
    }
    output = render_shift_handover("Handover", results, [])
    exceptions = output["figures"]["exceptions"]
    assert exceptions["open_at_handover"] == 120 and exceptions["open_listed"] == {"ids": 120, "of": 120}
    assert "_70 more not shown._" in output["markdown"] and "| X49 |" in output["markdown"]
