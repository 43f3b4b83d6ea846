"""Small Markdown pieces the role reports share (shift handover, weekly incident summary): tables from
{columns, rows} results, numbers read from one-row totals, SOP citations from search_docs results, and the
analysis section with its honest no-LLM statement. Sentences are built as plain text; what came from outside
(values, names, passages, the model's text) goes into the Markdown through phi.wording.markdown_literal."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any, TypeGuard

from phi.definitions.functions import MAX_TABLE_ROWS_SHOWN
from phi.definitions.table import rows_of, total_rows
from phi.wording import (
    NO_SOP_PASSAGES,
    capitalised,
    in_words,
    markdown_literal,
    markdown_literal_lines,
    markdown_literal_text,
    markdown_table,
)
from phi.workflows.warehouse.report import MAX_QUOTE_CHARS, NO_LLM_STATEMENT

Table = dict[str, Any]


def is_table(value: Any) -> TypeGuard[Table]:
    return isinstance(value, dict) and "columns" in value and "rows" in value


def records(value: Any) -> list[dict[str, Any]]:
    """The rows of a table result as dicts; nothing for a missing (skipped) or non-table result."""
    return list(rows_of(value)) if is_table(value) else []


def whole(value: Any) -> int:
    """A count as an int (a sum may be a float; a missing total, or a sum over no rows, which is null, is 0)."""
    return round(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def total(value: Any, column: str) -> int:
    """A column of a one-row totals table (group_by without keys); 0 when there was nothing to total."""
    found = records(value)
    return whole(found[0].get(column)) if found else 0


# An ISO 8601 date and time as databases and exports write it ('2026-11-28T20:37:10', offset or not).
_ISO_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})")


def moment_text(value: Any) -> str:
    """Timestamps as people read them: each ISO date and time with a space for its 'T' (nothing else changes, so
    no precision or offset is lost); any other text as it came."""
    return _ISO_DATE_TIME.sub(r"\1 \2", str(value))


def category_label(value: Any) -> str:
    """A category code in words ('missed_pickup' → 'missed pickup', 'forklift_2' → 'forklift 2'): for values of a
    column that holds codes (a kind, an incident type), never for free data such as a name or an id."""
    return in_words(str(value)) or str(value)


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = round(value) if value.is_integer() else round(value, 1)
    return moment_text(value)


def table_lines(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    return markdown_table(header, [[cell(value) for value in row] for row in rows])


def row_total(value: Any) -> int:
    """All the rows of a table result (0 for a missing or skipped one)."""
    return total_rows(value) if is_table(value) else 0


def shown_table_lines(value: Any, empty: str, categories: Collection[str] = ()) -> list[str]:
    """A table result as Markdown, its first MAX_TABLE_ROWS_SHOWN rows, saying how many more there are; the
    values of the `categories` columns (codes such as an incident type) in words."""
    if not is_table(value) or not value["rows"]:
        return [empty]
    coded = [column in categories for column in value["columns"]]
    shown = [
        [category_label(v) if is_code and v is not None else v for v, is_code in zip(row, coded, strict=False)]
        for row in list(value["rows"])[:MAX_TABLE_ROWS_SHOWN]
    ]
    more = row_total(value) - len(shown)
    header = [column_heading(str(column)) for column in value["columns"]]
    return table_lines(header, shown) + (["", f"_{more:,} more not shown._"] if more > 0 else [])


def column_heading(column: str) -> str:
    """A query's column name as a table heading people read: 'days_overdue' → 'Days overdue'."""
    return capitalised(in_words(column)) or column


def partial_table_notes(results: dict[str, Any], names: Sequence[str]) -> list[str]:
    """A note for each named table the renderer was given only part of (its figures cover those rows only)."""
    notes = []
    for name in names:
        value = results.get(name)
        if is_table(value) and row_total(value) > len(value["rows"]):
            notes.append(
                f"{name}: the report's figures come from its first {len(value['rows']):,} of {row_total(value):,} rows"
            )
    return notes


def hits_of(*results: Any) -> list[dict[str, Any]]:
    """The passages of search_docs results, each once (two searches may find the same passage)."""
    seen: set[tuple[Any, ...]] = set()
    hits = []
    for result in results:
        found = result.get("hits") if isinstance(result, dict) else None
        for hit in found or []:
            key = (hit.get("document_id"), hit.get("chunk_index"), hit.get("filename"), hit.get("text"))
            if key not in seen:
                seen.add(key)
                hits.append(hit)
    return hits


def citation_lines(hits: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["## SOP references", ""]
    if not hits:
        return [*lines, NO_SOP_PASSAGES]
    for number, hit in enumerate(hits, 1):
        page = f"page {hit['page']}" if hit.get("page") is not None else ""
        where = ", ".join(part for part in (hit.get("filename") or "", page, hit.get("heading") or "") if part)
        text = str(hit.get("text") or "").strip()
        quote = text if len(text) <= MAX_QUOTE_CHARS else text[:MAX_QUOTE_CHARS].rstrip() + " …"
        quoted = [f"   > {line}" for line in markdown_literal_lines(quote)]
        lines += [f"{number}. **{markdown_literal(where)}**", *quoted, ""]
    return lines[:-1]


def citations(hits: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"document": h.get("filename"), "page": h.get("page"), "heading": h.get("heading"), "text": h.get("text")}
        for h in hits
    ]


def analysis_lines(heading: str, narrative: Any) -> list[str]:
    text = (narrative or {}).get("text") if isinstance(narrative, dict) else None
    if not isinstance(text, str) or not text.strip():
        return [f"## {heading}", "", NO_LLM_STATEMENT]
    return [f"## {heading}", "", markdown_literal_text(text.strip())]


def heading_line(title: str) -> str:
    """The report's heading: its title, from the definition and the data, shown as written."""
    return f"# {markdown_literal(title)}"


def bullet_lines(sentences: Sequence[str]) -> list[str]:
    """Plain sentences (figures and names from the data among them) as a Markdown list."""
    return [f"- {markdown_literal(sentence)}" for sentence in sentences]


def join_sections(sections: Sequence[Sequence[str]]) -> str:
    return "\n\n".join("\n".join(section).rstrip() for section in sections if section) + "\n"


def report_document(
    title: str,
    body: Sequence[Sequence[str]],
    *,
    hits: Sequence[dict[str, Any]],
    analysis_heading: str,
    narrative: Any,
    notes: Sequence[str],
    summary: Sequence[str],
    figures: dict[str, Any],
) -> dict[str, Any]:
    """A rendered report: its own sections, then the SOP references, the analysis (or the no-LLM statement) and
    the notes, the same in every template's renderer."""
    sections = [
        *body,
        citation_lines(hits),
        analysis_lines(analysis_heading, narrative),
        ["## Notes", "", *bullet_lines(notes)] if notes else [],
    ]
    return {
        "title": title,
        "markdown": join_sections(sections),
        "summary": "\n".join(summary),
        "figures": figures,
        "citations": citations(hits),
    }
