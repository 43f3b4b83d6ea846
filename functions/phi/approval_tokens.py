"""Waking an execution that waits on an approval: SendTaskSuccess / SendTaskFailure with the approval's task token,
after its decision is committed. Shared by the API (a person decides) and the AwaitApproval step (a retried step
finds the decision already taken)."""

from __future__ import annotations

import json
import logging

from phi.aws import client
from phi.domain.models import ApprovalStatus, ApprovalWithToken

# A token the execution no longer waits on: the step timed out or the execution ended meanwhile.
STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
log = logging.getLogger("phi.approvals")


def complete_token(approval: ApprovalWithToken) -> None:
    """Resumes the execution. The recorded decision is what Think reads; the token only wakes the execution."""
    stepfunctions = client("stepfunctions")
    try:
        if approval.status == ApprovalStatus.APPROVED:
            output = {"v": 1, "approval_id": str(approval.id), "decision": "approved"}
            stepfunctions.send_task_success(taskToken=approval.task_token, output=json.dumps(output))
        else:
            stepfunctions.send_task_failure(
                taskToken=approval.task_token,
                error="Approval.Rejected",
                cause=f"Rejected by {approval.decided_by_email}",
            )
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in STALE_TOKEN_ERRORS:
            # The step ended meanwhile (timeout, or the execution stopped): Think has read or reads the decision.
            log.warning("approval %s decided after its step ended (%s)", approval.id, code)
            return
        # The decision is committed and stands: the execution resumes with it when its step times out at the
        # latest (Think reads the recorded decision), so the caller is not told the decision failed.
        log.exception("approval %s: completing its task token failed (%s)", approval.id, code or type(exc).__name__)
