"""Text from outside that Markdown would read as markup, and role reports run through their real render path on a
database that holds it: for the tests that check a report shows such text exactly as it came (the console renders
report Markdown to HTML, so a customer's row must never become a link, an image or a heading there)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from uuid import uuid4

from phi.definitions.document import validate_definition
from phi.definitions.templates import get_template
from phi.documents.models import SearchHit
from phi.workflows.compiler import compile_definition
from phi.workflows.ports import graph_config
from tests.support.fake_ports import fake_ports, snapshot, sqlite_tools
from tests.support.role_schemas import HANDOVER_SCHEMA

# The reviewer's: a shift_exceptions row's description that became a live link and a tracking pixel.
ATTACK = "[open the carrier portal](https://evil.example/login) ![t](https://evil.example/pixel.png)"

# Each construct Markdown reads (inline and at the start of a line), as data might carry it.
HOSTILE = [
    ATTACK,
    "_22__img_0001_.md",
    "<script>alert(1)</script> <img src=x onerror=alert(1)>",
    "<https://evil.example/autolink> <mailto:a@evil.example>",
    "**bold** *em* `code` ~~gone~~ __strong__",
    "# Heading",
    "## Heading two ##",
    "- item",
    "+ item",
    "* item",
    "1. first",
    "2) second",
    "> quoted",
    "a | b | c",
    "&lt;entity&gt; &#106;avascript &amp;",
    "[ref]: https://evil.example/ref",
    "\\*not emphasis\\* C:\\new\\_dir\\",
    "---",
    "===",
    "Bay #",
    "javascript:alert(1)",
]

# Several lines, as a quoted passage or a model's answer holds them.
HOSTILE_LINES = "Escalate to the lead.\n# Heading\n- item\n\n1. first\n===\n> quote\n    indented\n" + ATTACK


def hit(text: str = HOSTILE_LINES, filename: str = "_22__img_0001_.md", heading: str | None = ATTACK) -> SearchHit:
    return SearchHit(
        document_id=uuid4(), filename=filename, chunk_index=0, text=text, page=None, heading=heading, score=0.9
    )


def handover_database(path: Path, description: str = ATTACK, carrier: str = "DPD", lead: str = "Tom") -> Path:
    """A late shift with one order open at handover and one exception still open whose description is given."""
    with sqlite3.connect(path) as db:
        db.executescript(HANDOVER_SCHEMA)
        shift = ("S1", "2026-11-20", "late", "2026-11-20 14:00:00", "2026-11-20 22:00:00", lead, 9)
        db.execute("INSERT INTO shifts VALUES (?, ?, ?, ?, ?, ?, ?)", shift)
        db.execute(
            "INSERT INTO orders VALUES ('SO-1', '2026-11-20 09:00:00', '2026-11-20 18:00:00', 'express', ?)",
            (description,),
        )
        db.execute("INSERT INTO shipments VALUES ('P1', 'SO-1', ?, '2026-11-20 18:00:00', NULL)", (carrier,))
        db.execute(
            "INSERT INTO shift_exceptions VALUES ('X1', '2026-11-20 15:00:00', 'missed_pickup', 'Z1', 'SO-1', ?, ?, "
            "NULL)",
            (carrier, description),
        )
    return path


def run_handover(
    db: Path,
    *,
    site: str | None = None,
    hits: list[SearchHit] | None = None,
    llm_answers: list[str | Exception] | None = None,
    agent_name: str = "Test analyst",
) -> dict[str, Any]:
    """The SHIFT_HANDOVER template compiled and run as a task runs it (fake ports, the SQLite file as the local
    agent's database): its output."""
    document = get_template("shift_handover").definition
    task_input = {"date": "2026-11-20", "shift": "late", **({"site": site} if site is not None else {})}
    task = snapshot(task_type=document["key"], task_input=task_input).model_copy(update={"agent_name": agent_name})
    ports = fake_ports(task, sqlite_tools(db), hits=hits, llm_answers=llm_answers)
    graph = compile_definition(validate_definition(document)).compile()
    state = graph.invoke({"task_id": "t", "org_id": "o", "agent_id": "a"}, graph_config("t", ports))
    assert state.get("failure") is None, state.get("failure")
    output: dict[str, Any] = state["output"]
    return output
