"""The weekly incident summary (render template `safety.weekly_incident_summary`).

It presents results computed by the definition's other nodes and adds no figure of its own beyond totals
of the columns it shows. The names it reads (each optional; a missing one shows as empty):

- `week`: the week's incidents (a `time.within_days` result: a table with its `period`);
- `by_type`: one row per incident type (incident_type, incidents, high_severity);
- `by_zone`: one row per zone (zone_id, zone_name, incidents);
- `overdue_actions`: the corrective actions overdue at the end of the week (action_id, …, days_overdue);
- `overdue_by_owner`: one row per owner (owner, actions, most_days_overdue);
- `citations`, `hazard_citations`: search_docs results (SOP passages); `narrative`: an llm result.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from phi.wording import markdown_literal
from phi.workflows.operations.markdown import (
    bullet_lines,
    category_label,
    heading_line,
    hits_of,
    partial_table_notes,
    records,
    report_document,
    row_total,
    shown_table_lines,
    table_lines,
    whole,
)


def _period(results: dict[str, Any]) -> dict[str, Any] | None:
    week = results.get("week")
    period = week.get("period") if isinstance(week, dict) else None
    return period if isinstance(period, dict) else None


def incident_figures(results: dict[str, Any]) -> dict[str, Any]:
    by_type = {
        str(row.get("incident_type")): {
            "incidents": whole(row.get("incidents")),
            "high_severity": whole(row.get("high_severity")),
        }
        for row in records(results.get("by_type"))
    }
    by_zone = {str(row.get("zone_id")): whole(row.get("incidents")) for row in records(results.get("by_zone"))}
    overdue = records(results.get("overdue_actions"))
    return {
        "period": _period(results),
        "incidents": row_total(results.get("week")),
        "high_severity": sum(t["high_severity"] for t in by_type.values()),
        "by_type": by_type,
        "by_zone": by_zone,
        "overdue_actions": row_total(results.get("overdue_actions")),
        # the ids of the rows the renderer was given (all but past MAX_RENDER_ROWS)
        "overdue_action_ids": [str(row.get("action_id")) for row in overdue],
        "overdue_by_owner": {
            str(row.get("owner")): whole(row.get("actions")) for row in records(results.get("overdue_by_owner"))
        },
    }


def _day(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%a %d %b %Y")
    except ValueError:
        return str(value)


_SUMMARY_TYPES = 3  # incident types named in the summary sentence; the table lists every type


def _summary(figures: dict[str, Any]) -> list[str]:
    by_type = sorted(figures["by_type"].items(), key=lambda item: (-item[1]["incidents"], item[0]))
    # A fourth type alone is named like the others; more are counted together, so the figures add up to the total
    shown = by_type[: _SUMMARY_TYPES + 1] if len(by_type) == _SUMMARY_TYPES + 1 else by_type[:_SUMMARY_TYPES]
    top = ", ".join(f"{category_label(kind)} {t['incidents']}" for kind, t in shown)
    others = by_type[len(shown) :]
    if others:
        count = sum(t["incidents"] for _, t in others)
        top += f", {count} of {len(others)} other types"
    zones = sorted(figures["by_zone"].items(), key=lambda item: (-item[1], item[0]))
    busiest = f"; most in zone {zones[0][0]} ({zones[0][1]})" if zones else ""
    owners = ", ".join(f"{owner} {n}" for owner, n in sorted(figures["overdue_by_owner"].items()))
    return bullet_lines(
        [
            f"{figures['incidents']} incidents this week, {figures['high_severity']} of high severity"
            + (f" ({top}){busiest}." if top else "."),
            f"{figures['overdue_actions']} corrective actions overdue at the end of the week"
            + (f" ({owners})." if owners else "."),
        ]
    )


def render_incident_summary(title: str, results: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    figures = incident_figures(results)
    period = figures["period"]
    by_type = [[category_label(k), t["incidents"], t["high_severity"]] for k, t in figures["by_type"].items()]
    zones = records(results.get("by_zone"))
    zone_rows = [[row.get("zone_id"), row.get("zone_name"), whole(row.get("incidents"))] for row in zones]
    overdue = results.get("overdue_actions")
    owners = records(results.get("overdue_by_owner"))
    hits = hits_of(results.get("citations"), results.get("hazard_citations"))
    summary = _summary(figures)
    header = [heading_line(title)]
    if period:
        header += [
            "",
            markdown_literal(
                f"Incidents from {_day(period.get('first_day'))} to {_day(period.get('last_day'))} "
                f"({period.get('timezone')}); corrective actions as of the end of the week."
            ),
        ]
    sections = [
        header,
        ["## Summary", "", *summary],
        [
            "## Incidents by type",
            "",
            *(
                table_lines(
                    ["Type", "Incidents", "High severity"],
                    [*by_type, ["Total", figures["incidents"], figures["high_severity"]]],
                )
                if by_type
                else ["No incidents were logged this week."]
            ),
        ],
        ["## Incidents by zone", "", *(table_lines(["Zone", "Name", "Incidents"], zone_rows) if zone_rows else ["—"])],
        [
            "## Overdue corrective actions",
            "",
            *shown_table_lines(
                overdue, "None: every action due by the end of the week was completed.", categories=("incident_type",)
            ),
            *(
                [
                    "",
                    "By owner:",
                    "",
                    *table_lines(
                        ["Owner", "Actions", "Most days overdue"],
                        [[r.get("owner"), whole(r.get("actions")), whole(r.get("most_days_overdue"))] for r in owners],
                    ),
                ]
                if owners
                else []
            ),
        ],
    ]
    partial = partial_table_notes(results, ["week", "by_type", "by_zone", "overdue_actions", "overdue_by_owner"])
    return report_document(
        title,
        sections,
        hits=hits,
        analysis_heading="Analysis",
        narrative=results.get("narrative"),
        notes=[*notes, *partial],
        summary=summary,
        figures=figures,
    )
