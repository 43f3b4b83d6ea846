"""Each database statement of an API request is limited (PHI_API_STATEMENT_TIMEOUT_SECONDS): a statement that
waits or runs past it is stopped, the request answers 503 `request_timed_out`, nothing half-done is kept, and the
limit ends with the request's transaction."""

from __future__ import annotations

import psycopg
import pytest

from phi.db.connection import after_commit, api_transaction, transaction
from phi.errors import RequestTimedOut
from tests.conftest import apply_settings
from tests.support.api import ApiSession


def test_a_statement_past_the_limit_is_stopped_and_the_request_answers_503(
    stack: object, new_user: ApiSession, settings_override: dict[str, str]
) -> None:
    agent = new_user.create_agent()
    apply_settings({"PHI_API_STATEMENT_TIMEOUT_SECONDS": "0.5"})
    database_url = stack.info.database_url  # type: ignore[attr-defined]
    with psycopg.connect(database_url) as holder:
        # Another session holds the agent's row: the request's UPDATE waits for it, past the limit.
        holder.execute("SELECT id FROM agents WHERE id = %s FOR UPDATE", (agent["id"],))
        response = new_user.request("PATCH", f"/agents/{agent['id']}", json={"name": "Renamed while locked"})
        holder.rollback()
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "request_timed_out"
    assert "took longer than the database allows" in error["message"]

    # The checks after it under the default limit: on a busy machine a plain statement may take longer than 0.5 s.
    apply_settings({"PHI_API_STATEMENT_TIMEOUT_SECONDS": "20"})
    assert new_user.ok("GET", f"/agents/{agent['id']}")["name"] == agent["name"]  # nothing of it was kept
    renamed = new_user.ok("PATCH", f"/agents/{agent['id']}", json={"name": "Renamed"})
    assert renamed["name"] == "Renamed"


def test_the_limit_holds_for_the_request_s_transaction_only(stack: object, settings_override: dict[str, str]) -> None:
    apply_settings({"PHI_API_STATEMENT_TIMEOUT_SECONDS": "1.5"})
    after: list[str] = []
    with api_transaction() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == {"statement_timeout": "1500ms"}
        after_commit(conn, lambda: after.append(conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"]))
    assert after == ["0"]  # the same connection, once committed: back to the database's default (none)
    with transaction() as conn:  # the task loop's transactions have no such limit
        assert conn.execute("SHOW statement_timeout").fetchone() == {"statement_timeout": "0"}


def test_zero_sets_no_limit(stack: object, settings_override: dict[str, str]) -> None:
    apply_settings({"PHI_API_STATEMENT_TIMEOUT_SECONDS": "0"})
    with api_transaction() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == {"statement_timeout": "0"}


def test_a_slow_statement_surfaces_as_request_timed_out_not_as_an_outage(stack: object) -> None:
    with pytest.raises(RequestTimedOut), transaction(statement_timeout_seconds=0.2) as conn:
        conn.execute("SELECT pg_sleep(30)")
