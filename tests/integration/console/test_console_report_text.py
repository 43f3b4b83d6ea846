"""A report's text from outside, as the console's task page shows it (embedded stack, real pages over HTTP): the
reviewer's exception description in the customer's shift_exceptions table is text on /console/tasks/{id}, never a
link or an image."""

from __future__ import annotations

import html
import uuid
from pathlib import Path

from tests.support.api import ApiSession
from tests.support.console import ConsoleSession
from tests.support.hostile_text import ATTACK, handover_database, hit, run_handover


def test_an_exception_description_written_as_a_link_is_text_on_the_task_page(api_url: str, tmp_path: Path) -> None:
    from phi.db import tasks as tasks_repo
    from phi.db.connection import transaction
    from phi.domain.models import TaskStatus

    # Given a shift handover rendered through its real path from a database whose open exception reads as a
    # Markdown link and image, quoting an SOP whose file name reads as emphasis
    db = handover_database(tmp_path / "handover.sqlite", description=ATTACK)
    output = run_handover(db, hits=[hit(text=ATTACK, filename="_22__img_0001_.md", heading=None)])

    # and kept as a finished task's output
    console = ConsoleSession(api_url)
    email = console.sign_up()
    owner = ApiSession(api_url)
    login = {"email": email, "password": "console-password-1"}
    owner.token = owner.ok("POST", "/auth/login", json=login)["access_token"]
    owner.create_org("Markdown Ltd")
    agent = owner.create_agent()
    with transaction() as conn:
        task = tasks_repo.create_task(
            conn,
            org_id=uuid.UUID(str(owner.org_id)),
            agent_id=uuid.UUID(agent["id"]),
            task_type="SHIFT_HANDOVER",
            task_input={"date": "2026-11-20", "shift": "late"},
            trigger="api",
            created_by=None,
        )
        tasks_repo.finish(conn, task.id, task.org_id, TaskStatus.SUCCEEDED, output=output)

    # When its page is opened
    page = console.client.get(f"/console/tasks/{task.id}").text
    report = page.split('<article class="markdown">', 1)[1].split("</article>", 1)[0]

    # Then the description is shown as written, and nothing from the data is a link, an image or emphasis
    assert html.escape(ATTACK, quote=False) in report
    assert "evil.example" in report and "href" not in report and "<img" not in report
    assert "<em>" not in report and "_22__img_0001_.md" in report
    assert "<h2>Shift handover — Test analyst — late shift, 2026-11-20</h2>" in report
