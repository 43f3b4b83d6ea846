"""Registered pure functions a definition may name: `compute` functions (tables in, a JSON result out) and
`render` templates (results in, Markdown out). Each compute function documents its column contract: the
datasets it takes and the columns each must have; a node's `column_mapping` renames the customer's columns to
the contract's names before the call, so the function never sees a foreign schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from phi.definitions.table import rows_of

Table = dict[str, Any]


@dataclass(frozen=True)
class ComputeFunction:
    name: str
    description: str
    datasets: dict[str, tuple[str, ...]]  # dataset → required columns (the contract)
    run: Callable[[dict[str, Table], dict[str, Any]], dict[str, Any]]
    optional_datasets: frozenset[str] = field(default_factory=frozenset)
    args_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


def _daily_kpis(datasets: dict[str, Table], args: dict[str, Any]) -> dict[str, Any]:
    from phi.workflows.warehouse.kpis import TabularData, Thresholds, compute_kpis

    tables = {name: TabularData.model_validate(table) for name, table in datasets.items()}
    kpis = compute_kpis(
        date.fromisoformat(str(args["day"])[:10]), tables, Thresholds.model_validate(args.get("thresholds") or {})
    )
    return kpis.model_dump(mode="json")


def _describe(datasets: dict[str, Table], args: dict[str, Any]) -> dict[str, Any]:
    """Row count, and count/sum/min/max/mean of each numeric column."""
    table = datasets["table"]
    stats: dict[str, dict[str, float]] = {}
    count = 0
    for row in rows_of(table):
        count += 1
        for column, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                s = stats.setdefault(column, {"count": 0, "sum": 0.0, "min": value, "max": value})
                s["count"] += 1
                s["sum"] += value
                s["min"], s["max"] = min(s["min"], value), max(s["max"], value)
    for s in stats.values():
        s["mean"] = s["sum"] / s["count"]
    return {"rows": count, "columns": stats}


def _warehouse_contract() -> dict[str, tuple[str, ...]]:
    from phi.workflows.warehouse.kpis import REQUIRED_COLUMNS

    return dict(REQUIRED_COLUMNS)


COMPUTE: dict[str, ComputeFunction] = {
    f.name: f
    for f in (
        ComputeFunction(
            name="warehouse.daily_kpis",
            description="Throughput, late shipments, backlog, picker rates and anomalies of one day "
            "(args: day = 'YYYY-MM-DD', thresholds = {max_late_rate, …})",
            datasets=_warehouse_contract(),
            run=_daily_kpis,
            optional_datasets=frozenset({"orders", "picks", "shipments"}),
            args_schema={
                "type": "object",
                "required": ["day"],
                "additionalProperties": False,
                "properties": {"day": {"type": "string"}, "thresholds": {"type": "object"}},
            },
        ),
        ComputeFunction(
            name="stats.describe",
            description="Row count and count/sum/min/max/mean of each numeric column of one table",
            datasets={"table": ()},
            run=_describe,
        ),
    )
}


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
        missing = [c for c in required if c not in (table.get("columns") or [])]
        if missing:
            problems.append(
                f"dataset {name!r} lacks column(s) {', '.join(missing)} "
                f"(has: {', '.join(table.get('columns') or [])}); map them with column_mapping"
            )
    return problems


# --- render templates ------------------------------------------------------------------------------------

MAX_TABLE_ROWS_SHOWN = 50


@dataclass(frozen=True)
class RenderTemplate:
    name: str
    description: str
    run: Callable[[str, dict[str, Any], list[str]], dict[str, Any]]  # (title, named results, notes) → output


def _cell(value: Any) -> str:
    text = "" if value is None else f"{value:,.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table, limit: int = MAX_TABLE_ROWS_SHOWN) -> str:
    columns = list(table.get("columns") or [])
    rows = list(table.get("rows") or [])
    if not columns:
        return "_(no columns)_"
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n_{len(rows) - limit:,} more rows not shown._")
    if not rows:
        lines.append("\n_No rows._")
    return "\n".join(lines)


def _section(name: str, value: Any) -> str:
    if isinstance(value, dict) and "columns" in value and "rows" in value:
        return f"## {name}\n\n{markdown_table(value)}"
    if isinstance(value, dict) and "text" in value:  # an llm node
        return f"## {name}\n\n{value.get('text') or value.get('note') or ''}"
    if isinstance(value, dict) and "hits" in value:  # a search_docs node
        hits = value["hits"] or []
        body = "\n".join(f"- {h['filename']} (p. {h.get('page') or '-'}): {h['text'][:300]}" for h in hits)
        return f"## {name}\n\n{body or '_No passages found._'}"
    if isinstance(value, dict):
        body = "\n".join(f"- **{k}**: {_cell(v) if not isinstance(v, dict | list) else v}" for k, v in value.items())
        return f"## {name}\n\n{body}"
    return f"## {name}\n\n{_cell(value)}"


def _sections(title: str, results: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    parts = [f"# {title}", *(_section(name, value) for name, value in results.items())]
    if notes:
        parts.append("## Notes\n\n" + "\n".join(f"- {note}" for note in notes))
    markdown = "\n\n".join(parts) + "\n"
    return {"title": title, "markdown": markdown, "summary": notes[0] if notes else title}


def _warehouse_daily_report(title: str, results: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    from phi.workflows.warehouse.kpis import WarehouseKpis
    from phi.workflows.warehouse.report import Citation, render_report

    kpis = WarehouseKpis.model_validate(results["kpis"])
    hits = (results.get("citations") or {}).get("hits") or []
    citations = [
        Citation(document=h["filename"], page=h.get("page"), heading=h.get("heading"), text=h["text"]) for h in hits
    ]
    narrative = (results.get("narrative") or {}).get("text")
    report = render_report(kpis, narrative=narrative, citations=citations, agent_name=title or "Phi agent")
    return {**report.model_dump(), "kpis": results["kpis"], "notes": notes}


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
            "warehouse.daily_kpis), optional citations (search_docs) and narrative (llm)",
            _warehouse_daily_report,
        ),
    )
}
