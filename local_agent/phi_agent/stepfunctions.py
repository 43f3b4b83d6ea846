"""Answers to Step Functions for one task token, tolerant of steps that are already over."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, EndpointConnectionError

from phi_agent.errors import clip_cause
from phi_agent.logs import log_fields, token_hint

logger = logging.getLogger(__name__)

# The step ended (timed out, was answered before, or its execution stopped): nothing left to answer.
STEP_OVER_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_NETWORK_ERRORS = (EndpointConnectionError, ConnectionError)
_ATTEMPTS = 4


class StepOver(Exception):
    """Step Functions no longer accepts answers for this token."""


class TaskAnswerer:
    def __init__(self, sfn: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sfn = sfn
        self._sleep = sleep

    def _call(self, operation: str, **kwargs: Any) -> None:
        """Call with retries on network errors (botocore retries throttling and 5xx itself)."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                getattr(self._sfn, operation)(**kwargs)
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in STEP_OVER_CODES:
                    raise StepOver(error.response["Error"]["Code"]) from None
                raise
            except _NETWORK_ERRORS:
                if attempt == _ATTEMPTS:
                    raise
                self._sleep(min(10.0, 0.5 * 2**attempt))

    def _answer(self, operation: str, task_token: str, **kwargs: Any) -> bool:
        """True when the step is over (answered now or before), so its message may be deleted."""
        try:
            self._call(operation, taskToken=task_token, **kwargs)
        except StepOver as over:
            logger.warning(
                "the step was already over; answer dropped",
                extra=log_fields(code=str(over), token=token_hint(task_token), operation=operation),
            )
        except (ClientError, BotoCoreError) as error:
            logger.error(
                "could not answer Step Functions; the message will be retried",
                extra=log_fields(problem=str(error), token=token_hint(task_token), operation=operation),
            )
            return False
        return True

    def succeed(self, task_token: str, output: dict[str, Any]) -> bool:
        # UTF-8 as it is, not \u-escaped: the inline limit counts UTF-8 bytes, and an escaped character takes up to
        # three times its bytes, past Step Functions' 256 KiB.
        encoded = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
        return self._answer("send_task_success", task_token, output=encoded)

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        return self._answer("send_task_failure", task_token, error=error[:256], cause=clip_cause(cause))

    def heartbeat(self, task_token: str) -> bool:
        """False once the step is over: the tool's work is no longer wanted."""
        try:
            self._call("send_task_heartbeat", taskToken=task_token)
        except StepOver:
            return False
        except (ClientError, BotoCoreError) as error:
            logger.warning("task heartbeat failed", extra=log_fields(problem=str(error), token=token_hint(task_token)))
        return True
