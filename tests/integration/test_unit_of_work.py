"""The unit of work: side effects outside the database run only after the commit, never after a rollback."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from phi.db.connection import after_commit, commit, transaction
from tests.support.api import ApiSession


def _exists(org_id: UUID) -> bool:
    with transaction() as conn:
        return conn.execute("SELECT 1 FROM organizations WHERE id = %s", (org_id,)).fetchone() is not None


def test_hooks_run_after_the_commit_and_see_the_committed_row(stack: object) -> None:
    org_id, seen = uuid4(), []
    with transaction() as conn:
        conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'uow')", (org_id,))
        after_commit(conn, lambda: seen.append(_exists(org_id)))  # another connection: sees only committed data
        assert seen == []
    assert seen == [True]


def test_a_rollback_drops_the_hooks(stack: object) -> None:
    org_id, seen = uuid4(), []
    with pytest.raises(RuntimeError), transaction() as conn:
        conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'uow')", (org_id,))
        after_commit(conn, lambda: seen.append("ran"))
        raise RuntimeError("the request failed")
    assert seen == [] and not _exists(org_id)


def test_an_early_commit_runs_the_hooks_registered_so_far(stack: object) -> None:
    org_id, seen = uuid4(), []
    with transaction() as conn:
        conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'uow')", (org_id,))
        after_commit(conn, lambda: seen.append("first"))
        commit(conn)
        assert seen == ["first"]
        after_commit(conn, lambda: seen.append("second"))
    assert seen == ["first", "second"]


def test_a_failed_agent_creation_leaves_no_queue_behind(new_user: ApiSession, stack: object) -> None:
    from phi.aws import client
    from phi.db import orgs as orgs_repo
    from phi.services.agents import AgentCreate, create_agent
    from phi.services.queues import queue_name

    me = new_user.ok("GET", "/me")["user"]
    body = AgentCreate(
        name="Rolled back",
        role_key="warehouse_analyst",
        industry_key="logistics",
        tools={"db": {"url_env": "PHI_WAREHOUSE_DB_URL"}},
    )
    created: list[UUID] = []
    with pytest.raises(RuntimeError), transaction() as conn:
        org = orgs_repo.get_org_for_user(conn, UUID(str(new_user.org_id)), UUID(me["id"]))
        assert org is not None
        created.append(create_agent(conn, org, UUID(me["id"]), body).id)
        raise RuntimeError("something later in the request failed")
    queues = client("sqs").list_queues(QueueNamePrefix=queue_name(created[0])).get("QueueUrls", [])
    assert queues == []


def test_a_created_agent_gets_its_queue_after_the_commit(new_user: ApiSession) -> None:
    agent = new_user.create_agent()
    assert agent["queue_url"] and agent["queue_url"].endswith(agent["id"])
