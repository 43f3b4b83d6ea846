"""Codes said in words, the same way wherever people read them (reports, the console)."""

from __future__ import annotations


def in_words(code: str) -> str:
    """'missed_pickup' → 'missed pickup': underscores as spaces, each run of blanks as one, the ends trimmed."""
    return " ".join(code.replace("_", " ").split())


def capitalised(text: str) -> str:
    """The first letter upper-case, the rest as it is ('days overdue' → 'Days overdue')."""
    return text[:1].upper() + text[1:]


def workflow_name(key: str) -> str:
    """A workflow key as people read it: 'DAILY_WAREHOUSE_REPORT' → 'Daily warehouse report'."""
    return capitalised(in_words(key.lower())) or key


# A report's SOP section when no passage was cited: also what an agent without documents shows, so it says how
# to give it some.
NO_SOP_PASSAGES = (
    "No relevant SOP passage was found for this report. The agent cites the SOPs uploaded to it (Documents on the "
    "agent's page in the console): upload the site's procedures and the report quotes the passages behind its "
    "limits and anomalies."
)
