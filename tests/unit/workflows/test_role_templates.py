"""The ops_manager's shift handover and the safety_officer's weekly incident summary: the catalogue's
definitions compiled and run with fake ports over the real sample SQLite file (db.query answered with bound
parameters, as the local agent answers it); every figure compared with SQL written independently."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from phi.definitions.document import validate_definition
from phi.definitions.functions import COMPUTE
from phi.definitions.templates import get_template, list_templates
from phi.documents.models import SearchHit
from phi.domain.models import EventType
from phi.workflows.compiler import compile_definition
from phi.workflows.ports import graph_config
from phi.workflows.warehouse.sample_data import generate_sample_warehouse
from tests.support.fake_ports import FakeEvents, FakeLlm, fake_ports, snapshot, sqlite_tools
from tests.support.role_reference import handover_reference, weekly_reference

START = {"task_id": "t", "org_id": "o", "agent_id": "a"}
LAST_DAY = date(2026, 11, 20)


def _definition(name: str) -> dict[str, Any]:
    return get_template(name).definition


def _hit(text: str, filename: str = "SOP-SAF-01.md") -> SearchHit:
    return SearchHit(
        document_id=uuid4(), filename=filename, chunk_index=0, text=text, page=None, heading=None, score=0.8
    )


def _run(
    name: str, db: Path, task_input: dict[str, Any], agent_config: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[dict[str, Any], Any]:
    document = _definition(name)
    task = snapshot(task_type=document["key"], task_input=task_input, agent_config=agent_config)
    ports = fake_ports(task, sqlite_tools(db), **kwargs)
    graph = compile_definition(validate_definition(document)).compile()
    return graph.invoke(START, graph_config("t", ports)), ports


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    path = tmp_path_factory.mktemp("role-templates") / "warehouse.sqlite"
    return path, generate_sample_warehouse(path, days=7, end_date=LAST_DAY, seed=42)


def test_the_catalogue_has_one_template_for_each_other_seeded_role() -> None:
    assert [t.key for t in list_templates(industry="logistics", role="ops_manager")] == ["shift_handover"]
    assert [t.key for t in list_templates(industry="logistics", role="safety_officer")] == ["weekly_incident_summary"]
    kinds = set()
    for name in ("shift_handover", "weekly_incident_summary"):
        definition = validate_definition(_definition(name))
        assert definition.key == name.upper()
        assert definition.schedule is not None and definition.schedule.timezone == "Europe/London"
        kinds |= {node.kind for node in definition.nodes}
    assert kinds == {"local_tool", "table", "compute", "search_docs", "llm", "render"}


@pytest.mark.parametrize("shift", ["early", "late"])
def test_shift_handover_figures_equal_independent_sql(sample: tuple[Path, Any], shift: str) -> None:
    # Given the sample's late-spike day (a carrier missed its pickups from 13:00) and an SOP passage
    path, summary = sample
    day = next(e.day for e in summary.events if e.kind == "late_spike")
    passage = "If a carrier misses a scheduled pickup wave, the dock supervisor calls the carrier's depot."
    state, ports = _run(
        "shift_handover", path, {"date": day.isoformat(), "shift": shift}, hits=[_hit(passage, "SOP-OUT-04.docx")]
    )

    # Then it succeeds and every figure is the reference SQL's
    assert state.get("failure") is None, state.get("failure")
    output, expected = state["output"], handover_reference(path, day, shift)
    figures = output["figures"]
    assert {k: figures["shift"][k] for k in expected["shift"]} == expected["shift"]
    backlog = expected["backlog"]
    assert figures["backlog"] == {
        "orders": backlog["orders"],
        "express": backlog["express"],
        "past_promise": backlog["past_promise"],
        "oldest_created_at": backlog["oldest"],
    }
    assert figures["late"]["by_carrier"] == expected["by_carrier"]
    assert figures["late"]["late"] == sum(c["late"] for c in expected["by_carrier"].values()) > 0
    kinds = figures["exceptions"]["by_kind"].items()
    raised = {k: v["raised_this_shift"] for k, v in kinds if v["raised_this_shift"]}
    still_open = {k: v["open_at_handover"] for k, v in kinds if v["open_at_handover"]}
    assert raised == expected["raised_by_kind"]
    assert still_open == expected["open_by_kind"]
    assert figures["exceptions"]["open_ids"] == expected["open_ids"]
    # The missed pickups of that day are among the shift's exceptions
    assert raised.get("missed_pickup", 0) >= 1

    # And the Markdown shows them, cites the SOP and says plainly that no LLM wrote a note
    markdown = output["markdown"]
    # no site given: the agent's name stands in the title (no other customer's site)
    assert output["title"] == f"Shift handover — Test analyst — {shift} shift, {day.isoformat()}"
    for carrier, c in expected["by_carrier"].items():
        assert f"| {carrier} | {c['due']} | {c['late']} |" in markdown
    assert f"Backlog at handover: {backlog['orders']} open orders ({backlog['express']} express)" in markdown
    assert passage in markdown and "SOP-OUT-04.docx" in markdown
    assert "Narrative analysis needs an LLM" in markdown
    assert output["workflow"]["skipped"] == []
    # Read as prose: timestamps without ISO's 'T', exception kinds in words (in the summary table and the list)
    oldest = backlog["oldest"]
    assert "T" in oldest and f"oldest created {oldest.replace('T', ' ')}." in markdown
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", markdown), "no ISO 'T' timestamp is shown"
    assert "| missed pickup |" in markdown and "missed_pickup" not in markdown
    # Every query reads the shift's bounds from the shifts table
    assert len(ports.tools.requests) == 4
    assert all("\nFROM shifts h\n" in r.args["sql"] for r in ports.tools.requests)


def test_weekly_incident_summary_figures_equal_independent_sql(sample: tuple[Path, Any]) -> None:
    # Given the sample's last week, SOP passages and an LLM
    path, _ = sample
    passage = "A corrective action not completed by its due date is overdue."
    state, ports = _run(
        "weekly_incident_summary",
        path,
        {"week_ending": LAST_DAY.isoformat()},
        hits=[_hit(passage)],
        llm_answers=["Chase the forklift crossing first."],
    )

    # Then the counts by type and zone and the overdue actions are the reference SQL's
    assert state.get("failure") is None, state.get("failure")
    output, expected = state["output"], weekly_reference(path, LAST_DAY)
    figures = output["figures"]
    assert figures["incidents"] == expected["incidents"] > 0
    assert figures["by_type"] == expected["by_type"]
    assert figures["by_zone"] == expected["by_zone"]
    assert sorted(figures["overdue_action_ids"]) == sorted(expected["overdue"]) != []
    assert figures["overdue_by_owner"] == expected["overdue_by_owner"]
    assert figures["period"]["first_day"] == "2026-11-14" and figures["period"]["timezone"] == "UTC"
    overdue_rows = {row[0]: row[-1] for row in state["results"]["overdue_actions"]["rows"]}
    assert overdue_rows == expected["overdue"]

    # And the report cites the SOP, carries the LLM's text, and the LLM saw the passages and the figures
    markdown = output["markdown"]
    assert passage in markdown and "Chase the forklift crossing first." in markdown
    for kind, t in expected["by_type"].items():
        assert f"| {kind.replace('_', ' ')} | {t['incidents']} | {t['high_severity']} |" in markdown
    # the overdue actions' incident types in words too, as in the table above
    overdue_types = {row[1] for row in state["results"]["overdue_actions"]["rows"]}
    assert any("_" in str(kind) for kind in overdue_types)
    assert not any(f"| {kind} |" in markdown for kind in overdue_types if "_" in str(kind))
    prompt = ports.llm.prompts[0][1].content
    assert passage in prompt and '"by_type"' in prompt
    assert ports.documents.queries[0].startswith("corrective action due dates")
    most_frequent = max(expected["by_type"].items(), key=lambda item: item[1]["incidents"])[1]["incidents"]
    top_types = {k.replace("_", " ") for k, t in expected["by_type"].items() if t["incidents"] == most_frequent}
    assert any(ports.documents.queries[1].startswith(t) for t in top_types)


def test_the_week_is_the_same_whatever_zone_the_wall_clock_times_are_read_in(sample: tuple[Path, Any]) -> None:
    path, _ = sample
    figures = {}
    for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
        state, _ = _run("weekly_incident_summary", path, {"week_ending": LAST_DAY.isoformat(), "timezone": zone})
        figures[zone] = state["output"]["figures"]["by_type"]
    assert figures["UTC"] == figures["America/New_York"] == figures["Asia/Tokyo"] != {}
    # without the input, the agent's warehouse time zone
    state, _ = _run("weekly_incident_summary", path, {}, agent_config={"warehouse_timezone": "Asia/Tokyo"})
    assert state["output"]["figures"]["period"]["timezone"] == "Asia/Tokyo"
    assert state["output"]["figures"]["period"]["last_day"] == "2026-11-20"  # yesterday in Europe/London


def test_a_shift_the_roster_does_not_have_hands_over_nothing_and_says_so(sample: tuple[Path, Any]) -> None:
    path, _ = sample
    state, ports = _run("shift_handover", path, {"date": "2025-01-01", "shift": "early"})
    assert state.get("failure") is None
    output = state["output"]
    assert "No such shift in the shifts table" in output["markdown"]
    assert output["figures"]["backlog"]["orders"] == 0 and output["figures"]["late"]["due"] == 0
    assert any(event == EventType.REPORT_GENERATED for event, _, _ in ports.events.recorded)


def test_an_unknown_shift_name_is_refused_before_any_query(sample: tuple[Path, Any]) -> None:
    path, _ = sample
    state, ports = _run("shift_handover", path, {"shift": "night"})
    assert state["failure"]["error"] == "Workflow.InvalidInput" and "shift" in state["failure"]["cause"]
    assert ports.tools.requests == []
    assert isinstance(ports.events, FakeEvents) and not isinstance(ports.llm, FakeLlm)


# --- time.within_days --------------------------------------------------------------------------------------


def _within(rows: list[list[Any]], zone: str) -> dict[str, Any]:
    table = {"columns": ["id", "at"], "rows": rows}
    args = {"column": "at", "first_day": "2026-11-14", "last_day": "2026-11-20", "timezone": zone}
    return COMPUTE["time.within_days"].run({"table": table}, args)


def test_within_days_reads_zone_less_values_as_local_and_offsets_as_instants() -> None:
    rows = [
        ["local-first", "2026-11-14T00:00:00"],  # local midnight: in
        ["local-after", "2026-11-21 00:00:00"],  # the next local midnight: out
        ["offset-in", "2026-11-13T23:30:00-05:00"],  # 04:30 UTC on the 14th = 13:30 in Tokyo: in for Tokyo
        ["offset-out", "2026-11-20T20:00:00Z"],  # 05:00 on the 21st in Tokyo: out for Tokyo, in for UTC
        ["garbage", "last Tuesday"],
        ["missing", None],
    ]
    tokyo = _within(rows, "Asia/Tokyo")
    assert [r[0] for r in tokyo["rows"]] == ["local-first", "offset-in"]
    assert tokyo["left_out"] == {"outside_period": 2, "unreadable": 2}
    assert "2 row(s) left out" in tokyo["note"]
    assert tokyo["period"]["start"] == "2026-11-14T00:00:00+09:00"
    utc = _within(rows, "UTC")
    assert [r[0] for r in utc["rows"]] == ["local-first", "offset-in", "offset-out"]


def test_within_days_refuses_an_unknown_zone_and_a_reversed_period() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        _within([], "Mars/Olympus")
    with pytest.raises(ValueError, match="before it starts"):
        COMPUTE["time.within_days"].run(
            {"table": {"columns": ["at"], "rows": []}},
            {"column": "at", "first_day": "2026-11-20", "last_day": "2026-11-14"},
        )


def test_the_summary_sentence_names_three_types_and_counts_the_rest() -> None:
    from phi.workflows.safety.incidents import _summary

    def figures(counts: dict[str, int]) -> dict[str, Any]:
        return {
            "incidents": sum(counts.values()),
            "high_severity": 1,
            "by_type": {kind: {"incidents": n, "high_severity": 0} for kind, n in counts.items()},
            "by_zone": {"A": 2},
            "overdue_actions": 0,
            "overdue_by_owner": {},
        }

    five = _summary(figures({"near_miss": 4, "spill": 1, "slip_trip_fall": 3, "racking": 2, "fall": 1}))[0]
    assert five.startswith("- 11 incidents this week, 1 of high severity (near miss 4, slip trip fall 3, racking 2")
    assert ", 2 of 2 other types)" in five
    four = _summary(figures({"near_miss": 2, "spill": 1, "slip_trip_fall": 1, "racking": 1}))[0]
    assert "(near miss 2, racking 1, slip trip fall 1, spill 1)" in four  # one more type is named, not "1 of 1"
    three = _summary(figures({"near_miss": 2, "spill": 1, "racking": 1}))[0]
    assert "(near miss 2, racking 1, spill 1)" in three


def test_listed_tables_show_timestamps_and_category_codes_as_people_read_them() -> None:
    from phi.workflows.operations.markdown import category_label, moment_text, shown_table_lines

    assert moment_text("2026-11-28T20:37:10") == "2026-11-28 20:37:10"
    assert moment_text("2026-11-28T20:37:10.5+01:00") == "2026-11-28 20:37:10.5+01:00"  # nothing lost
    assert (
        moment_text("from 2026-11-28T20:37 to 2026-11-29T08:00:00Z") == "from 2026-11-28 20:37 to 2026-11-29 08:00:00Z"
    )
    for as_it_came in ("2026-11-28", "28/11/2026 20:37", "Tomorrow", "SO-2026T1", 1764362230):
        assert moment_text(as_it_came) == str(as_it_came)
    assert category_label("slip_trip_fall") == "slip trip fall"
    assert category_label("forklift_2") == "forklift 2" and category_label("CO2_leak") == "CO2 leak"
    assert category_label("near miss") == "near miss" and category_label("_") == "_"
    table = {
        "columns": ["action_id", "incident_type", "owner", "due_at"],
        "rows": [["CA-1", "slip_trip_fall", "site_manager", "2026-11-17T09:00:00"], ["CA-2", None, "x_y", None]],
    }
    lines = shown_table_lines(table, "None.", categories=("incident_type",))
    assert lines[0] == "| Action id | Incident type | Owner | Due at |"
    # only the named column's codes become words: an owner written with an underscore is data, kept as it came
    assert lines[2] == "| CA-1 | slip trip fall | site_manager | 2026-11-17 09:00:00 |"
    assert lines[3] == "| CA-2 | — | x_y | — |"
