"""Reports show text from outside as itself. A customer's row, an SOP passage, a document's name, an agent's or a
site's name and a model's answer are data, never markup: rendered by the console (Markdown to HTML), none becomes
a link, an image, a heading, a list, emphasis or raw HTML. Each report writer is run with such text wherever it
quotes data, and the console's HTML is checked for the structure the report itself writes and nothing more."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from phi.api.console.rendering import environment
from phi.definitions.document import validate_definition
from phi.definitions.functions import RENDER
from phi.definitions.templates import get_template
from phi.wording import markdown_literal, markdown_literal_lines, markdown_literal_text, markdown_table
from phi.workflows.compiler import compile_definition
from phi.workflows.ports import graph_config
from phi.workflows.warehouse.kpis import TabularData, Thresholds, compute_kpis
from phi.workflows.warehouse.report import Citation, relates_to, render_report
from tests.support.fake_ports import fake_ports, snapshot, sqlite_tools
from tests.support.hostile_text import (
    ATTACK,
    HOSTILE,
    HOSTILE_LINES,
    handover_database,
    hit,
    run_handover,
)
from tests.support.role_schemas import WEEKLY_SCHEMA


class _Page(HTMLParser):
    """The console's HTML of a report: its tags counted, its headings' texts and all its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.headings: list[str] = []
        self.text: list[str] = []
        self._heading: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag in ("h2", "h3", "h4"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "h3", "h4") and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


def _console(markdown: str) -> _Page:
    return _Page(str(environment().filters["markdown"](markdown)))


def _as_written(text: str) -> str:
    return " ".join(text.split())


NEVER_FROM_DATA = ("a", "img", "script", "em", "strong", "code", "del", "s", "hr", "pre")


def _nothing_but(page: _Page, **allowed: int) -> None:
    """The page's tags are the report's own: those `allowed` (at most that many) and none of NEVER_FROM_DATA."""
    extra = {tag: n for tag, n in page.tags.items() if tag in NEVER_FROM_DATA and n > allowed.get(tag, 0)}
    assert not extra, f"markup made from data: {extra}"
    for tag in ("ul", "ol", "li", "blockquote", "h2", "h3", "h4", "table", "br"):
        assert page.tags[tag] <= allowed.get(tag, 0), f"{page.tags[tag]} <{tag}> where the report writes {allowed}"


# --- the escaping itself, in every place a report puts a text ------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_shows_as_itself_in_a_sentence_a_heading_a_list_item_and_a_table_cell(text: str) -> None:
    literal = markdown_literal(text)

    sentence = _console(f"Lead {literal}, 9 pickers.")
    assert sentence.words == _as_written(f"Lead {text}, 9 pickers.")
    _nothing_but(sentence, p=1)

    heading = _console(f"# {literal}")
    assert heading.headings == [text]
    _nothing_but(heading, h2=1)

    item = _console(f"- {literal}\n- second")
    assert item.words == _as_written(f"{text} second")
    _nothing_but(item, ul=1, li=2)

    table = _console("\n".join(markdown_table(["Note", text], [[text, "x"]])))
    assert table.words == _as_written(f"Note {text} {text} x")
    _nothing_but(table, table=1, thead=1, tbody=1, tr=2, th=2, td=2)


def test_lines_of_text_show_as_written_in_a_quote_and_as_paragraphs() -> None:
    quote = _console("\n".join(f"> {line}" for line in markdown_literal_lines(HOSTILE_LINES)))
    assert quote.words == _as_written(HOSTILE_LINES)
    _nothing_but(quote, blockquote=1)

    analysis = _console(markdown_literal_text(HOSTILE_LINES))
    assert analysis.words == _as_written(HOSTILE_LINES)
    # its line breaks kept (a model writes line by line), the blank line a paragraph break, nothing else
    _nothing_but(analysis, p=2, br=HOSTILE_LINES.count("\n") - 2)


@pytest.mark.parametrize("lines", ["a | b\n:---", "a | b\n :-:", "total\n:- 5"])
def test_a_line_like_a_table_s_delimiter_row_does_not_make_a_table(lines: str) -> None:
    for markdown in (markdown_literal_text(lines), "\n".join(markdown_literal_lines(lines))):
        shown = _console(markdown)
        assert shown.words == _as_written(lines)
        assert "table" not in shown.tags, markdown


def test_text_that_reads_plainly_is_written_plainly() -> None:
    # The report's Markdown is also read as it is (a webhook's summary, an e-mail body): only what could be syntax
    # where it stands is escaped
    for plain in ("missed_pickup", "SOP-OUT-04.docx", "(limit 5.0%)!", "Order #12", "-4.5", "Zürich — Nord", "a & b"):
        assert markdown_literal(plain) == plain


# --- each report writer, through its real render path -------------------------------------------------------------


def test_the_shift_handover_shows_a_customers_exception_text_as_text_not_a_link(tmp_path: Path) -> None:
    # Given the reviewer's exception description, and every other text of the handover from outside
    db = handover_database(tmp_path / "handover.sqlite", description=ATTACK, carrier="<b>DPD</b>", lead="_Tom_")
    output = run_handover(
        db,
        site="# Leeds [DC](https://evil.example)",
        agent_name="**Agent**",
        hits=[hit()],
        llm_answers=[HOSTILE_LINES],
    )

    # When the console renders it
    page = _console(output["markdown"])

    # Then the text is shown as written, and the page holds only the report's own structure: its headings, the
    # summary's list, its tables, one quoted passage in the SOP list; no link, image or emphasis
    assert ATTACK in page.words
    assert "_22__img_0001_.md" in page.words and "_Tom_" in page.words and "<b>DPD</b>" in page.words
    assert page.headings == [
        "Shift handover — # Leeds [DC](https://evil.example) — late shift, 2026-11-20",
        "Summary",
        "Backlog at handover",
        "Late orders by carrier",
        "Exceptions",
        "SOP references",
        "Handover note",
    ]
    # (the one <strong> is the cited document's name, which the SOP list sets in bold)
    _nothing_but(page, h2=1, h3=6, ul=1, ol=1, li=4, blockquote=1, table=4, strong=1, br=HOSTILE_LINES.count("\n") - 2)
    # the title and the figures stay plain text outside the Markdown
    assert output["title"] == "Shift handover — # Leeds [DC](https://evil.example) — late shift, 2026-11-20"
    assert output["citations"][0]["document"] == "_22__img_0001_.md"


def test_the_weekly_incident_summary_shows_the_incident_log_as_text(tmp_path: Path) -> None:
    # Given an incident log whose zone, type, action and owner are written as Markdown would read them
    path = tmp_path / "weekly.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(WEEKLY_SCHEMA)
        db.execute("INSERT INTO zones VALUES ('Z1', ?)", (ATTACK,))
        db.execute(
            "INSERT INTO safety_incidents VALUES ('I1', '2026-11-18T08:00:00', 'Z1', '_spill_', 'high', ?)", (ATTACK,)
        )
        db.execute("INSERT INTO corrective_actions VALUES ('A1', 'I1', ?, '**Ana**', '2026-11-18', NULL)", (ATTACK,))
    document = get_template("weekly_incident_summary").definition
    task = snapshot(task_type=document["key"], task_input={"week_ending": "2026-11-20", "site": "- Leeds"})
    ports = fake_ports(task, sqlite_tools(path), hits=[hit()], llm_answers=[HOSTILE_LINES])
    graph = compile_definition(validate_definition(document)).compile()
    state = graph.invoke({"task_id": "t", "org_id": "o", "agent_id": "a"}, graph_config("t", ports))
    assert state.get("failure") is None, state.get("failure")

    page = _console(state["output"]["markdown"])

    assert ATTACK in page.words and "**Ana**" in page.words
    assert page.headings[0] == "Weekly incident summary — - Leeds — week ending 2026-11-20"
    assert page.headings[1:] == [
        "Summary",
        "Incidents by type",
        "Incidents by zone",
        "Overdue corrective actions",
        "SOP references",
        "Analysis",
    ]
    # one passage found by each of the two searches is cited once
    _nothing_but(page, h2=1, h3=6, ul=1, ol=1, li=3, blockquote=1, table=4, strong=1, br=HOSTILE_LINES.count("\n") - 2)


def test_the_daily_report_shows_names_ids_passages_and_the_analysis_as_text() -> None:
    # Given a day whose picker, carrier, order ids, SOP passage and analysis are written as Markdown would read them
    picks = TabularData(
        columns=["picker_id", "picker_name", "qty", "picked_at"],
        rows=[["P1", ATTACK, 1, f"2026-11-20T{hour:02d}:00:00"] for hour in range(8, 12)],
    )
    shipments = TabularData(
        columns=["order_id", "promised_at", "shipped_at", "carrier"],
        rows=[["[SO-1](https://evil.example)", "2026-11-20T10:00:00", None, "<b>DHL</b>"],
              ["SO-2", "2026-11-20T10:00:00", "2026-11-20T12:00:00", "# UPS"]],
    )  # fmt: skip
    kpis = compute_kpis(date(2026, 11, 20), {"picks": picks, "shipments": shipments}, Thresholds())
    citation = Citation(document="_22__img_0001_.md", heading=ATTACK, text=HOSTILE_LINES, anomaly_code="LATE_RATE_HIGH")

    report = render_report(
        kpis, narrative=HOSTILE_LINES, citations=[citation], agent_name="**Agent**", warehouse="[Leeds](x)"
    )
    page = _console(report.markdown)

    assert ATTACK in page.words and "[SO-1](https://evil.example)" in page.words and "<b>DHL</b>" in page.words
    assert "Prepared by **Agent** for" in page.words
    assert page.headings[0] == "Daily warehouse report — [Leeds](x) — Friday 20 November 2026"
    assert page.headings[1:] == [
        "Executive summary",
        "Throughput",
        "Picks per hour (UTC)",
        "Pick rate per picker",
        "Late orders",
        "By carrier",
        "Backlog",
        "Anomalies",
        "SOP references",
        "Analysis",
        "Data notes",
    ]
    _nothing_but(
        page, h2=1, h3=10, h4=1, ul=2, ol=1, li=7, blockquote=1, table=7, strong=1, br=HOSTILE_LINES.count("\n") - 2
    )


def test_the_sections_template_shows_results_and_notes_as_text() -> None:
    results: dict[str, Any] = {
        "late": {"columns": ["order", ATTACK], "rows": [[ATTACK, "- item"], ["# Bay", "1. first"]]},
        "narrative": {"text": HOSTILE_LINES},
        "sops": {"hits": [{"filename": "_22__img_0001_.md", "page": 1, "text": ATTACK}]},
        "figures": {"**key**": ATTACK, "nested": {"a": ATTACK}},
    }

    output = RENDER["sections"].run(f"Late {ATTACK}", results, [f"note {ATTACK}"], "agent")
    page = _console(output["markdown"])

    assert page.headings == [f"Late {ATTACK}", "late", "narrative", "sops", "figures", "Notes"]
    assert page.words.count(ATTACK) == 8  # the narrative's last line among them
    _nothing_but(page, h2=1, h3=5, ul=3, li=4, table=1, strong=2, br=HOSTILE_LINES.count("\n") - 2)


def test_why_a_passage_is_cited_reads_as_a_sentence() -> None:
    assert relates_to("LATE_RATE_HIGH") == "It relates to the anomaly “Late rate high”."
    assert relates_to("threshold max_late_rate, threshold max_backlog_age_hours") == (
        "It relates to the limits on the late rate and the age of the oldest open order."
    )
    assert relates_to("threshold max_backlog_orders, LATE_RATE_HIGH, PICKER_SLOW") == (
        "It relates to the limit on the orders open at the end of the day, and to the anomalies “Late rate high” and "
        "“Picker slow”."
    )
    assert relates_to("") == ""
