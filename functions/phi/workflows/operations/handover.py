"""The shift handover note (render template `operations.shift_handover`): what the incoming shift inherits.

It presents results computed by the definition's other nodes and adds no figure of its own beyond totals
of the columns it shows. The names it reads (each optional; a missing one shows as empty):

- `shift`: the shift row (shift_id, shift_date, shift, starts_at, ends_at, lead, pickers_on_shift);
- `backlog`: one totals row (orders, express, past_promise) of the orders open at handover;
- `oldest_open`: the oldest open orders (any columns, shown as they come);
- `late_by_carrier`: one row per carrier (carrier, due, late, unshipped, late_pct) of the shipments promised
  during the shift;
- `exceptions_by_kind`: one row per kind (kind, raised_this_shift, open_at_handover);
- `open_exceptions`: the exceptions still open at handover (exception_id first, then any columns);
- `citations`: a search_docs result; `narrative`: an llm result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from phi.wording import markdown_literal
from phi.workflows.operations.markdown import (
    bullet_lines,
    category_label,
    heading_line,
    hits_of,
    moment_text,
    partial_table_notes,
    records,
    report_document,
    row_total,
    shown_table_lines,
    table_lines,
    total,
    whole,
)
from phi.workflows.timeframes import offset_text


def _clock(value: Any) -> str:
    """A shift's time of day as stored: the site's wall clock when it has no offset (the template's tables), with
    its offset when it has one ("22:00 UTC", "06:00 UTC+05:30"): the note does not know the site's zone, and must
    not show a UTC time as the site's."""
    moment = _moment(value)
    if moment is None:
        return str(value)
    offset = moment.utcoffset()
    return f"{moment:%H:%M}" if offset is None else f"{moment:%H:%M} {offset_text(offset)}"


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _site_time(*values: Any) -> str:
    """' (site time)' when the times shown carry no offset: wall-clock times at the site, as the tables store them."""
    moments = [_moment(value) for value in values]
    return "" if any(m is not None and m.utcoffset() is not None for m in moments) else " (site time)"


def _day(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%A %d %B %Y")
    except ValueError:
        return str(value)


def _shift(results: dict[str, Any]) -> dict[str, Any] | None:
    found = records(results.get("shift"))
    return found[0] if found else None


def _late(results: dict[str, Any]) -> dict[str, Any]:
    carriers = records(results.get("late_by_carrier"))
    by_carrier = {
        str(row.get("carrier")): {
            "due": whole(row.get("due")),
            "late": whole(row.get("late")),
            "unshipped_at_handover": whole(row.get("unshipped")),
        }
        for row in carriers
    }
    return {
        "due": sum(c["due"] for c in by_carrier.values()),
        "late": sum(c["late"] for c in by_carrier.values()),
        "unshipped_at_handover": sum(c["unshipped_at_handover"] for c in by_carrier.values()),
        "by_carrier": by_carrier,
    }


def _exceptions(results: dict[str, Any]) -> dict[str, Any]:
    kinds = records(results.get("exceptions_by_kind"))
    by_kind = {
        str(row.get("kind")): {
            "raised_this_shift": whole(row.get("raised_this_shift")),
            "open_at_handover": whole(row.get("open_at_handover")),
        }
        for row in kinds
    }
    open_rows = records(results.get("open_exceptions"))
    return {
        "raised_this_shift": sum(k["raised_this_shift"] for k in by_kind.values()),
        "open_at_handover": sum(k["open_at_handover"] for k in by_kind.values()),
        "by_kind": by_kind,
        # the ids of the rows the renderer was given; open_listed says how many of how many that is
        "open_ids": [str(row.get("exception_id")) for row in open_rows],
        "open_listed": {"ids": len(open_rows), "of": row_total(results.get("open_exceptions"))},
    }


def handover_figures(results: dict[str, Any]) -> dict[str, Any]:
    oldest = records(results.get("oldest_open"))
    return {
        "shift": _shift(results),
        "backlog": {
            "orders": total(results.get("backlog"), "orders"),
            "express": total(results.get("backlog"), "express"),
            "past_promise": total(results.get("backlog"), "past_promise"),
            "oldest_created_at": oldest[0].get("created_at") if oldest else None,
        },
        "late": _late(results),
        "exceptions": _exceptions(results),
    }


def _rate(late: int, due: int) -> str:
    return f"{late / due * 100:.1f}%" if due else "n/a"


def _summary(figures: dict[str, Any]) -> list[str]:
    backlog, late, exceptions = figures["backlog"], figures["late"], figures["exceptions"]
    oldest = f"; oldest created {moment_text(backlog['oldest_created_at'])}" if backlog["oldest_created_at"] else ""
    worst = max(late["by_carrier"].items(), key=lambda item: item[1]["late"], default=None)
    worst_text = f"; most late: {worst[0]} ({worst[1]['late']})" if worst and worst[1]["late"] else ""
    return bullet_lines(
        [
            f"Backlog at handover: {backlog['orders']} open orders ({backlog['express']} express), "
            f"{backlog['past_promise']} past their promised ship time{oldest}.",
            f"Late orders due this shift: {late['late']} of {late['due']} ({_rate(late['late'], late['due'])})"
            f"{worst_text}; {late['unshipped_at_handover']} still unshipped at handover.",
            f"Exceptions: {exceptions['raised_this_shift']} raised this shift, "
            f"{exceptions['open_at_handover']} open at handover.",
        ]
    )


def _header(title: str, shift: dict[str, Any] | None, shift_name: str) -> list[str]:
    if shift is None:
        return [heading_line(title), "", "No such shift in the shifts table: nothing to hand over."]
    return [
        heading_line(title),
        "",
        markdown_literal(
            f"{str(shift.get('shift') or shift_name).capitalize()} shift of {_day(shift.get('shift_date'))}, "
            f"{_clock(shift.get('starts_at'))} to {_clock(shift.get('ends_at'))}"
            f"{_site_time(shift.get('starts_at'), shift.get('ends_at'))}, lead "
            f"{shift.get('lead') or '—'}, {whole(shift.get('pickers_on_shift'))} pickers on shift. "
            f"Figures as of the handover at {_clock(shift.get('ends_at'))}."
        ),
    ]


def render_shift_handover(title: str, results: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    figures = handover_figures(results)
    late, exceptions = figures["late"], figures["exceptions"]
    carrier_rows = [
        [carrier, c["due"], c["late"], _rate(c["late"], c["due"]), c["unshipped_at_handover"]]
        for carrier, c in late["by_carrier"].items()
    ]
    kind_rows = [
        [category_label(kind), k["raised_this_shift"], k["open_at_handover"]]
        for kind, k in exceptions["by_kind"].items()
    ]
    hits = hits_of(results.get("citations"))
    summary = _summary(figures)
    sections = [
        _header(title, figures["shift"], ""),
        ["## Summary", "", *summary],
        [
            "## Backlog at handover",
            "",
            f"{figures['backlog']['orders']} orders open, {figures['backlog']['past_promise']} of them past their "
            "promised ship time. Oldest open orders:",
            "",
            *shown_table_lines(results.get("oldest_open"), "No open orders."),
        ],
        [
            "## Late orders by carrier",
            "",
            "Shipments promised during the shift that left after their promised time or had not left at handover.",
            "",
            *(
                table_lines(
                    ["Carrier", "Due", "Late", "Late rate", "Unshipped at handover"],
                    [
                        *carrier_rows,
                        [
                            "Total",
                            late["due"],
                            late["late"],
                            _rate(late["late"], late["due"]),
                            late["unshipped_at_handover"],
                        ],
                    ],
                )
                if carrier_rows
                else ["No shipments were promised during this shift."]
            ),
        ],
        [
            "## Exceptions",
            "",
            *(
                table_lines(
                    ["Kind", "Raised this shift", "Open at handover"],
                    [*kind_rows, ["Total", exceptions["raised_this_shift"], exceptions["open_at_handover"]]],
                )
                if kind_rows
                else ["No exceptions raised or open during this shift."]
            ),
            "",
            "Open at handover:",
            "",
            *shown_table_lines(results.get("open_exceptions"), "None.", categories=("kind",)),
        ],
    ]
    partial = partial_table_notes(results, ["backlog", "late_by_carrier", "exceptions_by_kind", "open_exceptions"])
    return report_document(
        title,
        sections,
        hits=hits,
        analysis_heading="Handover note",
        narrative=results.get("narrative"),
        notes=[*notes, *partial],
        summary=summary,
        figures=figures,
    )
