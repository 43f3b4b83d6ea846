"""Each agent has its own SQS queue; tool requests for that agent go there and nowhere else."""

from __future__ import annotations

import contextlib
import json
from uuid import UUID

from phi.aws import client
from phi.settings import get_settings

_MAX_RECEIVES = 5


def queue_name(agent_id: UUID) -> str:
    return f"{get_settings().agent_queue_prefix}{agent_id}"


def create_agent_queue(agent_id: UUID, org_id: UUID) -> str:
    settings = get_settings()
    attributes = {"MessageRetentionPeriod": "86400", "VisibilityTimeout": "60", "SqsManagedSseEnabled": "true"}
    if settings.agent_dlq_arn:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": settings.agent_dlq_arn, "maxReceiveCount": _MAX_RECEIVES}
        )
    response = client("sqs").create_queue(
        QueueName=queue_name(agent_id),
        Attributes=attributes,
        tags={"phi:org_id": str(org_id), "phi:agent_id": str(agent_id)},
    )
    return str(response["QueueUrl"])


def delete_agent_queue(queue_url: str) -> None:
    sqs = client("sqs")
    with contextlib.suppress(sqs.exceptions.QueueDoesNotExist):
        sqs.delete_queue(QueueUrl=queue_url)
