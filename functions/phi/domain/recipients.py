"""Who an agent may e-mail: the recipients its owner configured on its `email` tool (catalog migration
0002_seed_catalog.sql, tool config `{"recipients": [...]}`), and nobody else. Checked when a definition is
validated for the agent (phi.definitions.patching) and again when a notify node sends
(phi.workflows.live_ports), since the recipients may change after a workflow was saved."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from phi.domain.models import AgentTool

EMAIL_TOOL = "email"


class EmailRecipients(BaseModel):
    """The addresses an agent may write to; `configured` is None when the agent has no email tool at all."""

    configured: frozenset[str] | None = Field(default=None, description="Lower-cased addresses")

    @classmethod
    def of_tools(cls, tools: Iterable[AgentTool]) -> EmailRecipients:
        email = next((t for t in tools if t.key == EMAIL_TOOL), None)
        if email is None:
            return cls(configured=None)
        listed = email.config.get("recipients") or []
        return cls(configured=frozenset(str(a).strip().lower() for a in listed if isinstance(a, str)))

    def refusal(self, addresses: Iterable[str]) -> str | None:
        """Why the agent may not write to `addresses` (a sentence), or None when every one is configured.
        Addresses compare case-insensitively: mail systems treat them so in practice."""
        if self.configured is None:
            return "the agent has no email tool: an owner or admin gives it one with the recipients it may write to"
        unknown = [a for a in addresses if a.strip().lower() not in self.configured]
        if not unknown:
            return None
        listed = ", ".join(sorted(self.configured)) or "none"
        return (
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not among the recipients of the agent's "
            f"email tool ({listed}): an owner or admin adds an address there first"
        )
