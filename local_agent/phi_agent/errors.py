"""Tool failures: the error names are the contract with the state machine (SendTaskFailure `error`)."""

from __future__ import annotations

from typing import Literal

from phi_agent.logs import redact

ToolErrorName = Literal[
    "Tool.SqlError",
    "Tool.NotAllowed",
    "Tool.ReadOnlyViolation",
    "Tool.Timeout",
    "Tool.FileNotFound",
    "Tool.PathNotAllowed",
    "Tool.BadRequest",
    "Tool.ResultTooLarge",
    "Tool.InternalError",
]

MAX_CAUSE_BYTES = 32_000


class ToolError(Exception):
    """A failure to report to the cloud: `error` is a contract name, `cause` a readable, secret-free text."""

    def __init__(self, error: ToolErrorName, cause: str) -> None:
        super().__init__(cause)
        self.error: ToolErrorName = error
        self.cause = clip_cause(cause)


def clip_cause(cause: str) -> str:
    cleaned = redact(cause)
    encoded = cleaned.encode("utf-8")
    if len(encoded) <= MAX_CAUSE_BYTES:
        return cleaned
    return encoded[: MAX_CAUSE_BYTES - 20].decode("utf-8", errors="ignore") + " …(truncated)"
