"""Short-lived AWS credentials for one local agent: its own queue and the SendTask* calls, nothing else.

Scope of the callbacks: for task tokens handed out by a service integration (our
`sqs:sendMessage.waitForTaskToken` step), IAM authorises SendTaskSuccess/Failure/Heartbeat against the
ARN of the *state machine* whose execution issued the token (for activity tokens it is the activity's ARN).
It cannot be narrowed to one execution or one task: every organisation's tasks run on the same state
machine, so the policy names that state machine and the separation between organisations rests on the
token itself, a bearer secret that travels only in the agent's own queue (README, Security).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from phi.aws import client
from phi.domain.models import Agent, AgentStatus
from phi.errors import Forbidden, ServiceUnavailable
from phi.settings import get_settings

# The shortest session STS grants (AssumeRole's DurationSeconds minimum): a revoked or disabled agent key
# stops working at the next refresh, at most this long after the revocation.
SESSION_SECONDS = 900
QUEUE_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
CALLBACK_ACTIONS = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]


def queue_arn(queue_url: str, region: str, partition: str = "aws") -> str:
    account, name = urlparse(queue_url).path.strip("/").split("/")[-2:]
    return f"arn:{partition}:sqs:{region}:{account}:{name}"


def session_policy(agent: Agent, region: str, state_machine_arn: str) -> dict[str, Any]:
    """Narrows the agent role to this agent's queue and the task state machine's callbacks. The role's own
    policy bounds it further (the session gets the intersection)."""
    assert agent.queue_url is not None
    # The queue lives in the state machine's partition (aws, aws-cn, aws-us-gov): an ARN in another one matches
    # nothing, and the agent would be denied its own queue.
    partition = state_machine_arn.split(":")[1]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": QUEUE_ACTIONS, "Resource": queue_arn(agent.queue_url, region, partition)},
            # IAM evaluates callback-token calls against the issuing state machine's ARN (module docstring).
            {"Effect": "Allow", "Action": CALLBACK_ACTIONS, "Resource": state_machine_arn},
        ],
    }


def require_enabled(agent: Agent) -> None:
    """A disabled agent's local agent gets nothing, and is not recorded as alive: its heartbeats are refused too."""
    if agent.status != AgentStatus.ACTIVE:
        raise Forbidden("This agent is disabled; enable it before its local agent can connect.")


def vend_credentials(agent: Agent) -> dict[str, Any]:
    require_enabled(agent)
    settings = get_settings()
    if not settings.agent_role_arn or not settings.state_machine_arn:
        raise ServiceUnavailable("Credential vending is not configured (PHI_AGENT_ROLE_ARN, PHI_STATE_MACHINE_ARN).")
    response = client("sts").assume_role(
        RoleArn=settings.agent_role_arn,
        RoleSessionName=f"phi-agent-{str(agent.id)[:40]}",
        Policy=json.dumps(session_policy(agent, settings.region, settings.state_machine_arn)),
        DurationSeconds=SESSION_SECONDS,
        Tags=[{"Key": "phi:agent_id", "Value": str(agent.id)}, {"Key": "phi:org_id", "Value": str(agent.org_id)}],
    )
    creds = response["Credentials"]
    return {
        "access_key_id": creds["AccessKeyId"],
        "secret_access_key": creds["SecretAccessKey"],
        "session_token": creds["SessionToken"],
        "expiration": creds["Expiration"].isoformat(),
        "region": settings.region,
        "queue_url": agent.queue_url,
        "aws_endpoint_url": settings.aws_endpoint_url,
    }
