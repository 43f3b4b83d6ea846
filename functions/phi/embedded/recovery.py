"""What a restart of the embedded stack must repair: moto keeps no state, PostgreSQL does."""

from __future__ import annotations

import logging
from uuid import UUID

from phi.db import agents as agents_repo
from phi.db import approvals as approvals_repo
from phi.db import tasks as tasks_repo
from phi.db.connection import transaction
from phi.services.queues import create_agent_queue

log = logging.getLogger("phi.embedded")


def restore_agent_queues() -> None:
    with transaction() as conn:
        for agent in agents_repo.list_all_queues(conn):
            url = create_agent_queue(UUID(str(agent["id"])), UUID(str(agent["org_id"])))
            if url != agent["queue_url"]:
                agents_repo.set_queue_url(conn, agent["id"], url)


def fail_orphaned_tasks() -> None:
    reason = "The embedded stack stopped while this task was running; its workflow execution was lost."
    with transaction() as conn:
        failed = tasks_repo.fail_all_unfinished(conn, reason)
        for task_id, org_id in failed:  # as every other failure does: nobody can decide for a failed task
            approvals_repo.cancel_pending_for_task(conn, task_id, org_id)
    if failed:
        log.warning("%d unfinished task(s) from the previous run marked FAILED", len(failed))
