"""The state machine file and its placeholder substitution (shared by CDK and the embedded stack)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phi.embedded.aws import PLACEHOLDERS, substitute_placeholders

ASL = Path(__file__).resolve().parents[3] / "statemachines" / "agent_task.asl.json"


def test_the_asl_file_is_plain_json_with_exactly_the_known_placeholders() -> None:
    text = ASL.read_text()
    json.loads(text)
    values = {name: f"arn:aws:lambda:us-east-1:1:function:{name}" for name in PLACEHOLDERS}
    definition = json.loads(substitute_placeholders(text, values))
    assert definition["States"]["Think"]["Parameters"]["FunctionName"] == values["ThinkFunctionArn"]


def test_a_missing_substitution_is_refused() -> None:
    with pytest.raises(ValueError, match="unsubstituted"):
        substitute_placeholders(ASL.read_text(), {"ThinkFunctionArn": "x"})


def test_every_waiting_state_has_a_timeout_a_heartbeat_and_a_catch() -> None:
    states = json.loads(ASL.read_text())["States"]
    waiting = [s for s in states.values() if str(s.get("Resource", "")).endswith(".waitForTaskToken")]
    assert waiting
    for state in waiting:
        assert state["TimeoutSecondsPath"] and state["HeartbeatSecondsPath"]
        assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"]
        assert state["Catch"][0]["Next"] == "NextStep"  # the error goes back to Think


def test_the_loop_is_bounded_by_a_step_counter() -> None:
    states = json.loads(ASL.read_text())["States"]
    bound = states["Route"]["Choices"][0]
    assert bound["Next"] == "StepLimitReached"
    assert {"Variable": "$.step", "NumericGreaterThanEqualsPath": "$.ctx.max_steps"} in bound["And"]
    assert "States.MathAdd($.step, 1)" in states["NextStep"]["Parameters"]["step.$"]
