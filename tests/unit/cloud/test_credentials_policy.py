"""The session policy that scopes a local agent's vended credentials to its own queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from phi.domain.models import Agent
from phi.services.credentials import queue_arn, session_policy


def _agent(queue_name: str) -> Agent:
    now = datetime.now(UTC)
    return Agent(
        id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        name="a",
        status="ACTIVE",
        created_at=now,
        updated_at=now,
        queue_url=f"https://sqs.eu-west-1.amazonaws.com/111122223333/{queue_name}",
    )


STATE_MACHINE = "arn:aws:states:eu-west-1:111122223333:stateMachine:phi-prod-agent-task"


def test_the_queue_statement_names_only_the_agents_own_queue() -> None:
    agent = _agent("phi-prod-agent-1234")
    policy = session_policy(agent, "eu-west-1", STATE_MACHINE)

    queue_statement = policy["Statement"][0]
    assert queue_statement["Resource"] == "arn:aws:sqs:eu-west-1:111122223333:phi-prod-agent-1234"
    assert "*" not in queue_statement["Resource"]
    assert all(action.startswith("sqs:") and "*" not in action for action in queue_statement["Action"])
    assert "sqs:SendMessage" not in queue_statement["Action"]  # an agent answers through Step Functions only


def test_the_only_other_permissions_are_the_task_callbacks_on_the_task_state_machine() -> None:
    policy = session_policy(_agent("phi-prod-agent-9"), "eu-west-1", STATE_MACHINE)
    others = policy["Statement"][1:]
    assert {action for statement in others for action in statement["Action"]} == {
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
    # IAM checks callback-token calls against the state machine that issued the token: never "*"
    assert [statement["Resource"] for statement in others] == [STATE_MACHINE]


def test_a_disabled_agent_gets_no_credentials() -> None:
    import pytest

    from phi.errors import Forbidden
    from phi.services.credentials import vend_credentials

    agent = _agent("phi-prod-agent-5").model_copy(update={"status": "DISABLED"})
    with pytest.raises(Forbidden):
        vend_credentials(agent)


def test_sessions_last_the_shortest_duration_sts_allows() -> None:
    from phi.services.credentials import SESSION_SECONDS

    assert SESSION_SECONDS == 900


def test_queue_arn_from_a_local_endpoint_url() -> None:
    assert queue_arn("http://127.0.0.1:4566/123456789012/phi-dev-agent-x", "us-east-1") == (
        "arn:aws:sqs:us-east-1:123456789012:phi-dev-agent-x"
    )


def test_the_queue_is_named_in_the_state_machines_partition() -> None:
    agent = _agent("phi-prod-agent-7").model_copy(
        update={"queue_url": "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/phi-prod-agent-7"}
    )
    policy = session_policy(agent, "cn-north-1", "arn:aws-cn:states:cn-north-1:111122223333:stateMachine:phi-prod")
    assert policy["Statement"][0]["Resource"] == "arn:aws-cn:sqs:cn-north-1:111122223333:phi-prod-agent-7"
