"""Short-lived AWS credentials for one local agent: its own queue and the SendTask* calls, nothing else."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from phi.aws import client
from phi.domain.models import Agent
from phi.errors import ServiceUnavailable
from phi.settings import get_settings

SESSION_SECONDS = 3600
_QUEUE_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
_CALLBACK_ACTIONS = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]


def queue_arn(queue_url: str, region: str) -> str:
    account, name = urlparse(queue_url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def session_policy(agent: Agent, region: str) -> dict[str, Any]:
    """Narrows the agent role to this agent's queue. The role's own policy bounds it further (intersection)."""
    assert agent.queue_url is not None
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": _QUEUE_ACTIONS, "Resource": queue_arn(agent.queue_url, region)},
            # Task tokens are not resources; the role limits these to the task state machine's executions.
            {"Effect": "Allow", "Action": _CALLBACK_ACTIONS, "Resource": "*"},
        ],
    }


def vend_credentials(agent: Agent) -> dict[str, Any]:
    settings = get_settings()
    if not settings.agent_role_arn:
        raise ServiceUnavailable("Credential vending is not configured (PHI_AGENT_ROLE_ARN).")
    response = client("sts").assume_role(
        RoleArn=settings.agent_role_arn,
        RoleSessionName=f"phi-agent-{str(agent.id)[:40]}",
        Policy=json.dumps(session_policy(agent, settings.region)),
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
