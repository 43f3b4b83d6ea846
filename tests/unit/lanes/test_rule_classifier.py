"""The rule-based lane classifier (no LLM): the seed's eight examples, and harder ones that trip naive cue
matching — questions that contain "always", negations, quotes, one-offs, hyphenated words."""

from __future__ import annotations

import pytest

from phi.services.lanes import classify_by_rules

SEED = [
    ("always send email when price drops", "patch"),
    ("whenever user signs up, notify slack", "patch"),
    ("add notification step after processing", "patch"),
    ("if error occurs then alert ops team", "patch"),
    ("show me top 10 flights", "execute"),
    ("fetch latest prices", "execute"),
    ("what are the most expensive items?", "execute"),
    ("get users who signed up today", "execute"),
]

HARDER = [
    # questions that describe the data with a standing cue
    ("Why are the Leeds pickers always slow on Mondays?", "execute"),
    ("Which carriers are always late", "execute"),
    ("Do we always ship on time?", "execute"),
    ("What happens whenever a picker logs out?", "execute"),
    ("What were the totals every day last week?", "execute"),
    ("When did the last order ship?", "execute"),
    ("Is there a step that alerts ops?", "execute"),
    # polite requests are instructions, not questions
    ("Can you always send the report to ops when the late rate is over 5%?", "patch"),
    ("Could you add a step that emails the shift lead?", "patch"),
    # negations and one-offs
    ("I don't want this every time, show me today's late orders", "execute"),
    ("Not every time — just this once, email me the backlog", "execute"),
    ("Don't notify me every time a picker logs in", "patch"),
    ("Just this once, send the late orders to the shift lead", "execute"),
    # quotes and hyphenated words
    ('Find orders whose note says "always fragile"', "execute"),
    ("List the always-on conveyors", "execute"),
    ("Show me the one-time customers", "execute"),
    # descriptions after a query verb; schedules are standing
    ("Show me the orders that were late every time they shipped with DHL", "execute"),
    ("Show me the late orders every morning", "patch"),
    ("From now on, include cancelled orders in the report", "patch"),
    ("Every Monday send the backlog to the warehouse manager", "patch"),
    ("Stop sending the carrier email", "patch"),
    ("Remove the SOP search from the daily report", "patch"),
    # conditional actions: standing unless pinned to one day
    ("If the late rate goes above 5%, notify the ops team", "patch"),
    ("If there are late orders today, send me the list", "execute"),
    ("Notify the ops team about yesterday's late orders", "execute"),
]


@pytest.mark.parametrize(("prompt", "lane"), SEED)
def test_the_seed_examples(prompt: str, lane: str) -> None:
    result = classify_by_rules(prompt)
    assert result.lane == lane, result.reason
    assert result.reason.startswith("Rule-based")


@pytest.mark.parametrize(("prompt", "lane"), HARDER)
def test_harder_examples(prompt: str, lane: str) -> None:
    result = classify_by_rules(prompt)
    assert result.lane == lane, result.reason
    assert 0 < result.confidence <= 1


def test_the_reason_names_the_cue() -> None:
    assert "'whenever'" in classify_by_rules("whenever user signs up, notify slack").reason
    assert "question" in classify_by_rules("Which carriers are always late?").reason
