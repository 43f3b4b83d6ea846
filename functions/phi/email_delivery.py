"""Sending one e-mail through Amazon SES: what a workflow's `notify` node and an invitation share. Each caller
first commits the notification row (PENDING), then sends after that commit and records the outcome this
returns (the keyword arguments of phi.db.notifications.record_delivery)."""

from __future__ import annotations

from typing import Any


def send_with_ses(sender: str, to: list[str], subject: str, body: str) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    from phi.aws import client

    try:
        answer = client("sesv2").send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": to},
            Content={
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                }
            },
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return {"status": "FAILED", "error": f"SES refused the email: {error.get('Code')}: {error.get('Message')}"}
    except BotoCoreError as exc:
        return {"status": "FAILED", "error": f"SES could not be reached: {type(exc).__name__}"}
    return {"status": "SENT", "provider_message_id": answer.get("MessageId")}
