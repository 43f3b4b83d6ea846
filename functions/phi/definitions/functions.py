"""Registered pure functions a definition may name: `compute` functions (tables in, a JSON result out) and
`render` templates (results in, Markdown out). Each compute function documents its column contract: the
datasets it takes and the columns each must have; a node's `column_mapping` renames the customer's columns to
the contract's names before the call, so the function never sees a foreign schema."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from phi.definitions.expressions import round_half_up
from phi.definitions.table import ExactSum, repeated, rows_of, total_rows
from phi.definitions.values import as_number, is_blank
from phi.wording import markdown_literal, markdown_literal_text
from phi.wording import markdown_table as write_table

Table = dict[str, Any]


@dataclass(frozen=True)
class ComputeFunction:
    name: str
    description: str
    datasets: dict[str, tuple[str, ...]]  # dataset → required columns (the contract)
    run: Callable[[dict[str, Table], dict[str, Any]], dict[str, Any]]
    optional_datasets: frozenset[str] = field(default_factory=frozenset)
    optional_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # read when present; mappable
    args_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


def _daily_kpis(datasets: dict[str, Table], args: dict[str, Any]) -> dict[str, Any]:
    """The day's KPIs. Limits an SOP states (`sourced_thresholds`, from the warehouse.threshold_sources search)
    take precedence over the configured `thresholds`; a limit that could not be read is named in the warnings."""
    from phi.workflows.timeframes import report_day
    from phi.workflows.warehouse.kpis import TabularData, Thresholds, compute_kpis
    from phi.workflows.warehouse.sop_thresholds import SourcedThreshold, unread_threshold_note

    tables = {name: TabularData.model_validate(table) for name, table in datasets.items()}
    sourced = [SourcedThreshold.model_validate(t) for t in args.get("sourced_thresholds") or []]
    stated = {t.field: t.value for t in sourced if t.value is not None}
    thresholds = Thresholds.model_validate({**(args.get("thresholds") or {}), **stated})
    day = report_day(_day_arg("day", args["day"]), str(args.get("timezone") or "UTC"))
    kpis = compute_kpis(day, tables, thresholds, windowed=bool(args.get("windowed", True)))
    kpis.data_warnings.extend(unread_threshold_note(t, thresholds) for t in sourced if t.value is None)
    return kpis.model_dump(mode="json")


def _report_day(datasets: dict[str, Table], args: dict[str, Any]) -> dict[str, Any]:
    """A calendar day in a time zone (`date`, else yesterday there at `now`): its local bounds, and the wider
    window of instants a query fetches so that it holds every row of the day whatever form the database keeps
    its timestamps in (typed `$datetime` parameters the local agent binds as time-zone-aware timestamps)."""
    from phi.workflows.timeframes import iso_instant, report_day, yesterday

    timezone = str(args.get("timezone") or "UTC")
    now = _instant_arg("now", args["now"]) if args.get("now") else None
    day = _day_arg("date", args["date"]) if args.get("date") else yesterday(timezone, now)
    found = report_day(day, timezone)
    return {
        "day": found.day.isoformat(),
        "timezone": found.timezone,
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
        "window_start": {"$datetime": iso_instant(found.query_start)},
        "window_end": {"$datetime": iso_instant(found.query_end)},
    }


def _day_arg(name: str, value: Any) -> date:
    """A calendar day: an ISO date, or an ISO timestamp's date as written (a day's `start`, passed on by a
    template). Anything else is refused, not cut to its first ten characters ("2026-11-20junk")."""
    text = str(value)
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise ValueError(
            f"{name} must be an ISO-8601 date such as '2026-11-20' (or a timestamp on that day), got {text[:40]!r}"
        ) from None


def _instant_arg(name: str, value: Any) -> datetime:
    """An ISO-8601 instant with its UTC offset. A time without one is refused: Python would read it in this
    machine's own zone (`astimezone`), so that "yesterday" would depend on where the stack runs."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(
            f"{name} must be an ISO-8601 instant such as '2026-11-21T07:00:00+00:00', got {str(value)[:40]!r}"
        ) from None
    if moment.utcoffset() is None:
        raise ValueError(
            f"{name} {str(value)[:40]!r} has no UTC offset: add one (e.g. '+00:00' or 'Z'), or it would be read in "
            "this machine's own time zone"
        )
    return moment


def _describe(datasets: dict[str, Table], args: dict[str, Any]) -> dict[str, Any]:
    """Row count, and count/sum/min/max/mean of each column holding numbers, read as group_by's sum and avg read
    them: a text that is a plain number as that number (a CSV's "1,234.5"), an empty text as no value, integers
    added exactly. The values sum and avg would refuse (other text, booleans) are left out of the figures here,
    as a table's text columns must be, but counted (`not_numbers`) and named in a `note`: a "n/a" among the
    amounts must not pass without a word."""
    described: dict[str, _Described] = {}
    count = 0
    for row in rows_of(datasets["table"]):
        count += 1
        for column, value in row.items():
            if value is not None and not is_blank(value):
                described.setdefault(column, _Described()).add(value)
    columns = {column: figures.figures(column) for column, figures in described.items() if figures.count}
    result: dict[str, Any] = {"rows": count, "columns": columns}
    notes = [figures.note(column) for column, figures in described.items() if figures.count and figures.not_numbers]
    if notes:
        result["note"] = "; ".join(notes)
    return result


class _Described:
    """The figures of one column: its numbers (as group_by reads them), and the values that are not numbers."""

    __slots__ = ("count", "first_not_number", "high", "low", "not_numbers", "total")

    def __init__(self) -> None:
        self.count = self.not_numbers = 0
        self.total = ExactSum()
        self.low: int | float | None = None
        self.high: int | float | None = None
        self.first_not_number: Any = None

    def add(self, value: Any) -> None:
        number = as_number(value)
        if number is None:
            if not self.not_numbers:
                self.first_not_number = value
            self.not_numbers += 1
            return
        self.count += 1
        self.total.add(number)
        self.low = number if self.low is None else min(self.low, number)
        self.high = number if self.high is None else max(self.high, number)

    def figures(self, column: str) -> dict[str, Any]:
        try:
            total = self.total.total()
            mean = total / self.count
        except OverflowError:
            raise ValueError(f"column {column!r}: the sum overflows (it is not a finite number)") from None
        figures = {"count": self.count, "sum": total, "min": self.low, "max": self.high, "mean": mean}
        return {**figures, "not_numbers": self.not_numbers} if self.not_numbers else figures

    def note(self, column: str) -> str:
        first = json.dumps(self.first_not_number, ensure_ascii=False, default=str)
        first = first if len(first) <= 80 else f"{first[:80]}…"
        return (
            f"column {column!r}: {self.not_numbers} value(s) that are not numbers (the first: {first}) are left "
            "out of its figures"
        )


def _within_days(datasets: dict[str, Table], args: dict[str, Any]) -> dict[str, Any]:
    """The rows of whole local days (first_day … last_day in `timezone`) by one timestamp column, each value
    read as phi.workflows.timeframes reads it (zone-less values are wall-clock times in the zone)."""
    from phi.workflows.timeframes import local_period, rows_within_period

    table = datasets["table"]
    period = local_period(
        _day_arg("first_day", args["first_day"]),
        _day_arg("last_day", args["last_day"]),
        str(args.get("timezone") or "UTC"),
    )
    columns = list(table.get("columns") or [])
    rows, outside, unreadable = rows_within_period(columns, list(table.get("rows") or []), args["column"], period)
    result = {
        "columns": columns,
        "rows": rows,
        "row_count": len(rows),
        "period": period.model_dump(mode="json"),
        "left_out": {"outside_period": outside, "unreadable": unreadable},
    }
    if unreadable:
        result["note"] = f"{unreadable} row(s) left out: their {args['column']} is not a readable timestamp"
    return result


def _open_at_day_end(datasets: dict[str, Table], args: dict[str, Any]) -> dict[str, Any]:
    """The rows still open at the end of a local day: `column` (when each was closed) empty, or at or after
    the next local midnight in `timezone`, each value read as phi.workflows.timeframes reads it."""
    from phi.workflows.timeframes import end_of_local_day, iso_instant, rows_open_at, zone

    table = datasets["table"]
    timezone = str(args.get("timezone") or "UTC")
    at = end_of_local_day(_day_arg("day", args["day"]), timezone)
    columns = list(table.get("columns") or [])
    rows, closed, unreadable = rows_open_at(columns, list(table.get("rows") or []), args["column"], at, zone(timezone))
    result = {
        "columns": columns,
        "rows": rows,
        "row_count": len(rows),
        "as_of": iso_instant(at),
        "left_out": {"closed_before": closed, "unreadable": unreadable},
    }
    if unreadable:
        result["note"] = (
            f"{unreadable} row(s) left out: their {args['column']} is not a readable timestamp, so whether they "
            "were still open cannot be told"
        )
    return result


def _warehouse_contract() -> dict[str, tuple[str, ...]]:
    from phi.workflows.warehouse.columns import REQUIRED_COLUMNS

    return dict(REQUIRED_COLUMNS)


def _warehouse_optional_columns() -> dict[str, tuple[str, ...]]:
    from phi.workflows.warehouse.columns import OPTIONAL_COLUMNS

    return dict(OPTIONAL_COLUMNS)


COMPUTE: dict[str, ComputeFunction] = {
    f.name: f
    for f in (
        ComputeFunction(
            name="warehouse.daily_kpis",
            description="Throughput, late shipments, backlog, picker rates and anomalies of one day "
            "(args: day = 'YYYY-MM-DD', timezone, thresholds = {max_late_rate, …}, sourced_thresholds, windowed = "
            "false for whole exports rather than the queries' window)",
            datasets=_warehouse_contract(),
            run=_daily_kpis,
            optional_datasets=frozenset({"orders", "picks", "shipments"}),
            optional_columns=_warehouse_optional_columns(),
            args_schema={
                "type": "object",
                "required": ["day"],
                "additionalProperties": False,
                "properties": {
                    "day": {"type": "string"},
                    "timezone": {"type": "string"},
                    "thresholds": {"type": "object"},
                    "sourced_thresholds": {"type": "array"},
                    "windowed": {"type": "boolean"},
                },
            },
        ),
        ComputeFunction(
            name="time.report_day",
            description="A calendar day in a time zone and the query window around it (args: date = 'YYYY-MM-DD' "
            "or empty for yesterday there, timezone = IANA name, now = ISO instant); gives day, timezone, start, "
            "end, and window_start/window_end as typed $datetime query parameters",
            datasets={},
            run=_report_day,
            args_schema={
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "date": {"type": ["string", "null"]},
                    "timezone": {"type": ["string", "null"]},
                    "now": {"type": ["string", "null"]},
                },
            },
        ),
        ComputeFunction(
            name="time.within_days",
            description="The rows of whole local days, by one timestamp column (args: column, first_day, "
            "last_day = 'YYYY-MM-DD', timezone = IANA name; zone-less values are read as times in that zone)",
            datasets={"table": ()},
            run=_within_days,
            args_schema={
                "type": "object",
                "required": ["column", "first_day", "last_day"],
                "additionalProperties": False,
                "properties": {
                    "column": {"type": "string"},
                    "first_day": {"type": "string"},
                    "last_day": {"type": "string"},
                    "timezone": {"type": "string"},
                },
            },
        ),
        ComputeFunction(
            name="time.open_at_day_end",
            description="The rows still open at the end of a local day: the timestamp column saying when each was "
            "closed (completed, resolved, shipped) is empty or at or after the next local midnight (args: column, "
            "day = 'YYYY-MM-DD', timezone = IANA name; zone-less values are read as times in that zone)",
            datasets={"table": ()},
            run=_open_at_day_end,
            args_schema={
                "type": "object",
                "required": ["column", "day"],
                "additionalProperties": False,
                "properties": {"column": {"type": "string"}, "day": {"type": "string"}, "timezone": {"type": "string"}},
            },
        ),
        ComputeFunction(
            name="stats.describe",
            description=(
                "Row count and count/sum/min/max/mean of each column holding numbers of one table: a text that is a "
                "plain number (a CSV's \"1,234.5\") counts as that number, an empty cell as none, as group_by's sum "
                "reads them; other text and booleans (which sum refuses) are left out of a column's figures, "
                "counted as its not_numbers and named in the note"
            ),
            datasets={"table": ()},
            run=_describe,
            args_schema={"type": "object", "additionalProperties": False, "properties": {}},
        ),
    )
}


def _templated(value: Any) -> bool:
    """A value a template fills when the node runs: its type is known only then."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


_LONGEST_PROBLEM = 300


def _shortened(message: str) -> str:
    return message if len(message) <= _LONGEST_PROBLEM else message[: _LONGEST_PROBLEM - 1] + "…"


def args_problems(function: ComputeFunction, args: dict[str, Any], filled: bool) -> list[str]:
    """What the function's args_schema refuses in `args`, in words: an arg it does not take (a misspelt name
    would otherwise be ignored, and its default used without a word), a required one missing, a value of the
    wrong type. Before the node runs (`filled` false) a templated value is not checked: its type is known once
    filled."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    schema = function.args_schema
    properties: dict[str, Any] = schema.get("properties") or {}
    problems = []
    unknown = [name for name in args if name not in properties]
    if unknown and schema.get("additionalProperties") is False:
        known = ", ".join(properties) or "none"
        problems.append(f"takes no arg {', '.join(map(repr, unknown))}; the args it takes: {known}")
    problems += [f"needs the input {name!r} in its args" for name in schema.get("required") or [] if name not in args]
    for name, value in args.items():
        if name in properties and (filled or not _templated(value)):
            error = best_match(Draft202012Validator(properties[name]).iter_errors(value))
            if error is not None:  # its message quotes the value: a whole table, when one is given for a date
                problems.append(f"arg {name!r}: {_shortened(error.message)}")
    return problems


def map_columns(table: Table, mapping: dict[str, str]) -> Table:
    """The customer's columns renamed to the contract's: mapping is contract name → customer column."""
    if not mapping:
        return table
    reverse = {customer: contract for contract, customer in mapping.items()}
    return {**table, "columns": [reverse.get(c, c) for c in table.get("columns") or []]}


def check_contract(function: ComputeFunction, datasets: dict[str, Table]) -> list[str]:
    """Readable problems: a dataset missing, or a contract column absent after mapping."""
    problems = []
    for name, required in function.datasets.items():
        table = datasets.get(name)
        if table is None:
            if name not in function.optional_datasets:
                problems.append(f"dataset {name!r} is not given")
            continue
        columns = list(table.get("columns") or [])
        missing = [c for c in required if c not in columns]
        if missing:
            problems.append(
                f"dataset {name!r} lacks column(s) {', '.join(missing)} "
                f"(has: {', '.join(columns)}); map them with column_mapping"
            )
        twice = repeated(columns, {*required, *function.optional_columns.get(name, ())})
        if twice:
            problems.append(
                f"dataset {name!r} has column(s) {', '.join(twice)} more than once (after column_mapping); "
                "rename or leave out all but one"
            )
    return problems


# --- render templates ------------------------------------------------------------------------------------

MAX_TABLE_ROWS_SHOWN = 50  # rows of one table a Markdown report shows (it says how many more there are)
# Rows of one table a render template is given, with the table's full row_count: enough for the figures a role
# report totals from grouped tables (a row per carrier, owner, zone…); a renderer says when a table had more.
MAX_RENDER_ROWS = 2_000


@dataclass(frozen=True)
class RenderTemplate:
    """A renderer: (title, named results, notes, the name of the agent whose task it is) → its output. The title is
    the report's heading; what came from outside is written into the Markdown through markdown_literal."""

    name: str
    description: str
    run: Callable[[str, dict[str, Any], list[str], str], dict[str, Any]]


# Floats up to here hold every whole number exactly; beyond, a float's digits past the 16th are noise.
_EXACT_FLOAT_LIMIT = 2**53


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)  # its digits: an integer may be an order number, a year or a postcode (no 100,234)
    if isinstance(value, float):
        return _float_text(value)
    return str(value)


def _float_text(value: float) -> str:
    """A measured figure as a reader wants it in a report: a whole number in full (12,345, never 1.234e+04, which
    hid the order of magnitude of a count summed as floats), a larger amount to the cent (1,234,567.89), a
    fraction to 4 significant digits (0.04567), trailing zeros dropped; rounded half away from zero on the value
    as written, as the `round` operator does (2.675 → 2.68). Past 2**53 a float's last digits are noise: it is
    shown to 15 significant digits."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= _EXACT_FLOAT_LIMIT:
        return f"{value:.15g}"
    if value.is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1:
        text = f"{round_half_up(value, 2):,.2f}"
        return text.rstrip("0").rstrip(".")
    return f"{value:.4g}"


def _cell(value: Any) -> str:
    return markdown_literal(_text(value))


def markdown_table(table: Table, limit: int = MAX_TABLE_ROWS_SHOWN) -> str:
    columns = list(table.get("columns") or [])
    rows = list(table.get("rows") or [])
    if not columns:
        return "_(no columns)_"
    lines = write_table([_text(c) for c in columns], [[_text(v) for v in row] for row in rows[:limit]])
    total = total_rows(table)  # a stored table comes with its first rows only
    if total > limit:
        lines.append(f"\n_{total - limit:,} more rows not shown._")
    if not rows:
        lines.append("\n_No rows._")
    return "\n".join(lines)


def _section(name: str, value: Any) -> str:
    heading = f"## {markdown_literal(name)}"
    if isinstance(value, dict) and "columns" in value and "rows" in value:
        return f"{heading}\n\n{markdown_table(value)}"
    if isinstance(value, dict) and "text" in value:  # an llm node
        return f"{heading}\n\n" + markdown_literal_text(value.get("text") or value.get("note") or "")
    if isinstance(value, dict) and "hits" in value:  # a search_docs node
        hits = value["hits"] or []
        body = "\n".join(
            "- " + markdown_literal(f"{h['filename']} (p. {h.get('page') or '-'}): {h['text'][:300]}") for h in hits
        )
        return f"{heading}\n\n{body or '_No passages found._'}"
    if isinstance(value, dict):
        body = "\n".join(f"- **{markdown_literal(k)}**: {_cell(v)}" for k, v in value.items())
        return f"{heading}\n\n{body}"
    return f"{heading}\n\n{_cell(value)}"


def _sections(title: str, results: dict[str, Any], notes: list[str], agent_name: str) -> dict[str, Any]:
    parts = [f"# {markdown_literal(title)}", *(_section(name, value) for name, value in results.items())]
    if notes:
        parts.append("## Notes\n\n" + "\n".join(f"- {markdown_literal(note)}" for note in notes))
    markdown = "\n\n".join(parts) + "\n"
    return {"title": title, "markdown": markdown, "summary": notes[0] if notes else title}


def _warehouse_daily_report(title: str, results: dict[str, Any], notes: list[str], agent_name: str) -> dict[str, Any]:
    """The title is the heading. Definitions made before it was had `title: "{{ agent.name }}"` (the name then went
    into 'Prepared by …'): a title that is just the agent's name still gets the standard heading."""
    from phi.workflows.warehouse.kpis import WarehouseKpis
    from phi.workflows.warehouse.report import Citation, render_report

    kpis = WarehouseKpis.model_validate(results["kpis"])
    found = results.get("citations") or {}
    citations = [Citation.model_validate(c) for c in found.get("citations") or []] + [
        Citation(document=h["filename"], page=h.get("page"), heading=h.get("heading"), text=h["text"])
        for h in found.get("hits") or []
    ]
    narrative = (results.get("narrative") or {}).get("text")
    refused = (results.get("narrative") or {}).get("refused")
    warehouse = (results.get("args") or {}).get("warehouse") or None
    report = render_report(
        kpis,
        narrative=narrative,
        citations=citations,
        agent_name=agent_name or "Phi agent",
        warehouse=warehouse,
        narrative_refused=refused,
        title=title if title.strip() and title.strip() != agent_name.strip() else None,
    )
    return {
        **report.model_dump(),
        "kpis": results["kpis"],
        "citations": [c.model_dump() for c in citations],
        "notes": notes,
    }


def _shift_handover(title: str, results: dict[str, Any], notes: list[str], agent_name: str) -> dict[str, Any]:
    from phi.workflows.operations.handover import render_shift_handover

    return render_shift_handover(title, results, notes)


def _incident_summary(title: str, results: dict[str, Any], notes: list[str], agent_name: str) -> dict[str, Any]:
    from phi.workflows.safety.incidents import render_incident_summary

    return render_incident_summary(title, results, notes)


RENDER: dict[str, RenderTemplate] = {
    t.name: t
    for t in (
        RenderTemplate(
            "sections",
            "A title, then one section per named result: tables as Markdown tables "
            "(first 50 rows), LLM text, document passages, key figures; then the notes",
            _sections,
        ),
        RenderTemplate(
            "warehouse.daily_report",
            "The daily warehouse report: results named kpis (from "
            "warehouse.daily_kpis), optional citations (search_docs: passages, or the warehouse.anomaly_citations "
            "strategy), narrative (llm); title: the report's heading ('Daily warehouse report — <warehouse> — <day>' "
            "when it is only the agent's name, as in older definitions; args: warehouse names the warehouse there); "
            "'Prepared by' names the agent",
            _warehouse_daily_report,
        ),
        RenderTemplate(
            "operations.shift_handover",
            "The shift handover note: results named shift, backlog, oldest_open, late_by_carrier, "
            "exceptions_by_kind, open_exceptions, optional citations (search_docs) and narrative (llm)",
            _shift_handover,
        ),
        RenderTemplate(
            "safety.weekly_incident_summary",
            "The weekly incident summary: results named week (time.within_days), by_type, by_zone, "
            "overdue_actions, overdue_by_owner, optional citations and hazard_citations (search_docs) and "
            "narrative (llm)",
            _incident_summary,
        ),
    )
}


# --- search strategies ------------------------------------------------------------------------------------

# Registered searches a search_docs node may name instead of a query; they run in phi.workflows.sop_retrieval
# (they need the documents port) and are listed here so the schema can name them.
SEARCHES: dict[str, str] = {
    "warehouse.threshold_sources": "for each threshold the agent's config ties to an SOP (args: sources = "
    "{threshold: filename}), the value that SOP states with the passage it was read from; gives thresholds",
    "warehouse.anomaly_citations": "the SOP passages about each anomaly of a warehouse.daily_kpis result "
    "(args: kpis, topics = {anomaly code: what an SOP would say}, sourced_thresholds = the passages the "
    "limits were read from, cited too); gives citations",
}
