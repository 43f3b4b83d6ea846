"""Codes said in words, and tables written, the same way wherever people read them (reports, the console)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any


def in_words(code: str) -> str:
    """'missed_pickup' → 'missed pickup': underscores as spaces, each run of blanks as one, the ends trimmed."""
    return " ".join(code.replace("_", " ").split())


def capitalised(text: str) -> str:
    """The first letter upper-case, the rest as it is ('days overdue' → 'Days overdue')."""
    return text[:1].upper() + text[1:]


def workflow_name(key: str) -> str:
    """A workflow key as people read it: 'DAILY_WAREHOUSE_REPORT' → 'Daily warehouse report'."""
    return capitalised(in_words(key.lower())) or key


# A report's SOP section when no passage was cited: also what an agent without documents shows, so it says how
# to give it some.
NO_SOP_PASSAGES = (
    "No relevant SOP passage was found for this report. The agent cites the SOPs uploaded to it (Documents on the "
    "agent's page in the console): upload the site's procedures and the report quotes the passages behind its "
    "limits and anomalies."
)


# A figure as reports write it: a sign, digits with separators and a decimal point, and an optional unit
# ('1,283', '-4', '12.5%', '3.2 h', '41.7 lines/h'). Dates ('2026-11-20') and times ('08:05') are not figures.
_FIGURE = re.compile(r"[-+\u2212]?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|h|min|s|days?|lines/h|units?))?")
_NO_VALUE = frozenset({"", "—", "-", "n/a"})


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table of texts (each cell's `|` escaped, its line breaks as spaces), a column of figures aligned
    right so that its digits line up, as in a spreadsheet."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    def is_figures(column: int) -> bool:
        values = [row[column].strip() for row in rows if column < len(row)]
        shown = [value for value in values if value not in _NO_VALUE]
        return bool(shown) and all(_FIGURE.fullmatch(value) for value in shown)

    rule = "|" + "|".join("---:" if is_figures(i) else "---" for i in range(len(header))) + "|"
    return ["| " + " | ".join(cell(h) for h in header) + " |", rule] + [
        "| " + " | ".join(cell(value) for value in row) + " |" for row in rows
    ]


# Control characters of text from outside (NUL among them, which PostgreSQL refuses), and lone surrogate halves,
# which a JSON escape ("\ud800") makes and which no UTF-8 encoder writes (a page or a database would fail on them).
_UNREADABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def readable(text: str, limit: int) -> str:
    """Text from outside kept as people read it and the database stores it: control characters and lone surrogate
    halves become spaces, tabs and newlines stay, and only the first `limit` characters."""
    cleaned = _UNREADABLE.sub(" ", text)
    if len(cleaned) <= limit:
        return cleaned
    return f"{cleaned[:limit]}… ({len(cleaned) - limit:,} more characters left out)"


def error_cause_text(cause: Any) -> str:
    """The readable part of a failure's cause: a Lambda or SDK error's JSON object gives its errorMessage (never
    its stack trace, which names the server's files). A cause is whatever its sender wrote (a local agent, anyone
    holding a task token): only an object is parsed, and one nested past json's recursion limit is kept as the text
    it is."""
    if not cause:
        return ""
    if not isinstance(cause, str) or not cause.lstrip().startswith("{"):
        return str(cause)
    try:
        parsed = json.loads(cause)  # text that starts with "{" parses to an object, or not at all
    except (ValueError, RecursionError):
        return cause
    message = parsed.get("errorMessage") or parsed.get("message")
    if message:
        return str(message)
    return "(details left out)" if "stackTrace" in parsed else cause
