"""Reading a KPI threshold out of the SOP passage that states it (when the agent's config names the SOP).

Each supported threshold has a search topic (to find the passage) and a pattern (to read the value).
Deterministic on purpose: a threshold that drives an anomaly must not be an LLM's guess."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThresholdReader:
    topic: str
    pattern: re.Pattern[str]
    convert: Callable[[str], float]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _percent(text: str) -> float:
    return _number(text) / 100


def _share(text: str) -> float:
    words = {"half": 0.5, "a third": 1 / 3, "a quarter": 0.25}
    return words[text.lower()] if text.lower() in words else _percent(text.rstrip("%").strip())


READERS: dict[str, ThresholdReader] = {
    "max_late_rate": ThresholdReader(
        "maximum share of late shipments of the orders due in a day",
        re.compile(r"(\d+(?:\.\d+)?)\s*%"),
        _percent,
    ),
    "max_backlog_orders": ThresholdReader(
        "limit on open orders at the end of the day",
        re.compile(r"(?:must not exceed|no more than|at most|maximum of)\s+(\d[\d,]*)", re.IGNORECASE),
        _number,
    ),
    "max_backlog_age_hours": ThresholdReader(
        "maximum age in hours of the oldest open order",
        re.compile(r"older than\s+(\d+(?:\.\d+)?)\s*hours?", re.IGNORECASE),
        _number,
    ),
    "min_picker_lines_per_hour": ThresholdReader(
        "minimum pick rate per picker in order lines per hour",
        re.compile(r"(\d+(?:\.\d+)?)\s*(?:order\s+)?lines\s+(?:per|an|each)\s+hour", re.IGNORECASE),
        _number,
    ),
    "min_hourly_pick_ratio": ThresholdReader(
        "an hour's picks falling below a share of the day's median hour",
        re.compile(r"below\s+(half|a third|a quarter|\d+(?:\.\d+)?\s*%)\s+of", re.IGNORECASE),
        _share,
    ),
}


def read_threshold(field: str, passage: str) -> float | None:
    """The threshold's value as stated in the passage, or None when the passage does not state it."""
    match = READERS[field].pattern.search(passage)
    return READERS[field].convert(match.group(1)) if match else None
