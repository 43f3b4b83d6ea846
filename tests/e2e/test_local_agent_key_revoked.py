"""A local agent whose key is revoked, or whose agent is deleted, while it runs: the real API answers its next
heartbeat 401 and the agent process stops with exit code 4 rather than retrying a key that never works again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import ApiSession
from tests.support.e2e import StartAgent
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _online(session: ApiSession, agent_id: str) -> bool:
    return any(entry["status"] == "ONLINE" for entry in session.ok("GET", f"/agents/{agent_id}/local-agents"))


@pytest.mark.parametrize("how", ["key revoked", "agent deleted"])
def test_a_local_agent_stops_with_code_4_when_its_key_no_longer_works(
    new_user: ApiSession, warehouse_db: Path, start_local_agent: StartAgent, how: str
) -> None:
    # Given a local agent that is online
    agent = new_user.create_agent()
    local = start_local_agent(new_user, agent, f"sqlite:///{warehouse_db}")
    wait_until(lambda: _online(new_user, agent["id"]), timeout=120)

    # When its key is revoked in the cloud, or its agent deleted
    if how == "key revoked":
        for key in new_user.ok("GET", f"/agents/{agent['id']}/keys"):
            new_user.request("DELETE", f"/agents/{agent['id']}/keys/{key['id']}").raise_for_status()
    else:
        new_user.request("DELETE", f"/agents/{agent['id']}").raise_for_status()

    # Then within a heartbeat (30 s) it stops, exit code 4, saying why and what to do
    assert local.process.wait(timeout=180) == 4, local.log()
    assert "the Phi API refused this agent's key" in local.log()
    assert "issue a new key in the console" in local.log()
