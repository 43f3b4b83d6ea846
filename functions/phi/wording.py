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


# --- text from outside, written into Markdown as itself -----------------------------------------------------------
#
# A report quotes what it did not write: database values, SOP passages, document names, agent and warehouse names,
# a model's answer. Read as Markdown, '[portal](https://evil.example)' in a customer's row became a live link in the
# console. Each such text goes into a report through markdown_literal (or its _lines and _text forms), which escapes
# every character that could be syntax where it stands, and no more: the report's Markdown is also read as it is
# (an e-mail body, the summary in a webhook), so '(limit 5%)' or 'missed_pickup' keep their plain look.
# Left as they are on purpose: '(' ')' and '!' (syntax only next to '[' ']', which are escaped), '_' between two
# letters or digits (never emphasis in CommonMark), '#' inside a line, '>' '-' '+' '=' and '1.' inside a line, bare
# URLs (the console's renderer does not link them: linkify is off) and '&' not starting an entity.
_ALWAYS_SYNTAX = re.compile(r"[\\`*\[\]<|~]")
_UNDERSCORE_NOT_INSIDE_A_WORD = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_ENTITY_START = re.compile(r"&(?=#\d{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_HEADING_CLOSE = re.compile(r"(?<=\s)(#+\s*)$")  # 'Bay #' in a heading: a closing sequence, dropped when read
# What opens a block at the start of a line: a heading, a quote, a list item, a rule, a heading's underline, or a
# table's delimiter row (':---', which would make the line above a table's header).
_LINE_START_MARKER = re.compile(r"^(?:[#>]|[-+=](?=\s|$|[-=])|:(?=\s*-)|(?P<number>\d{1,9})[.)](?=\s|$))")


def _escape_line(line: str) -> str:
    text = _ALWAYS_SYNTAX.sub(r"\\\g<0>", line.strip())
    text = _UNDERSCORE_NOT_INSIDE_A_WORD.sub(r"\\_", text)
    text = _ENTITY_START.sub(r"\\&", text)
    text = _HEADING_CLOSE.sub(r"\\\1", text)
    # A line of '#', '>', '-', '+', '=' or '1.' first starts a block; anywhere else they are text.
    marker = _LINE_START_MARKER.match(text)
    if marker is None:
        return text
    at = marker.end("number") if marker["number"] else 0
    return f"{text[:at]}\\{text[at:]}"


def markdown_literal(value: Any) -> str:
    """Text from outside as Markdown that shows exactly that text, in a sentence, a heading, a list item or a table
    cell: its syntax characters escaped, its line breaks read as spaces (see above)."""
    return _escape_line(" ".join(str(value).split("\n")).replace("\r", " "))


def markdown_literal_lines(value: Any) -> list[str]:
    """Text of several lines from outside (a quoted passage) as Markdown lines that show it: each line escaped as
    markdown_literal escapes one, blank lines kept as paragraph breaks; a line break within a paragraph reads as a
    space (a PDF's passage breaks its lines where its page did)."""
    return [_escape_line(line) for line in str(value).splitlines()]


def markdown_literal_text(value: Any) -> str:
    """Text of several lines from outside that someone wrote line by line (a model's analysis) as Markdown that shows
    it as written: each line escaped, each line break kept (two spaces before it: a hard break that reads as nothing
    in the plain text), blank lines as paragraph breaks."""
    lines = markdown_literal_lines(value)
    followed = [bool(line and after) for line, after in zip(lines, [*lines[1:], ""], strict=True)]
    return "\n".join(f"{line}  " if broken else line for line, broken in zip(lines, followed, strict=True))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table of texts, each cell shown as itself (markdown_literal: its `|` and any other syntax escaped,
    its line breaks as spaces), a column of figures aligned right so that its digits line up, as in a spreadsheet."""

    def cell(text: str) -> str:
        return markdown_literal(text)

    def is_figures(column: int) -> bool:
        values = [row[column].strip() for row in rows if column < len(row)]
        shown = [value for value in values if value not in _NO_VALUE]
        return bool(shown) and all(_FIGURE.fullmatch(value) for value in shown)

    rule = "|" + "|".join("---:" if is_figures(i) else "---" for i in range(len(header))) + "|"
    return ["| " + " | ".join(cell(h) for h in header) + " |", rule] + [
        "| " + " | ".join(cell(value) for value in row) + " |" for row in rows
    ]


# A lone surrogate half: JSON's escape "\ud800" makes one, and no UTF-8 encoder writes it (an answer, a page or a
# database would fail on it).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """`text` with each lone surrogate half made U+FFFD, so that it can be written as UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text)


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
