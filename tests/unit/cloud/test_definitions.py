"""The state machine file and its placeholder substitution (shared by CDK and the embedded stack)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from phi import names
from phi.embedded.aws import PLACEHOLDERS, state_machine_definition, substitute_placeholders

ASL = Path(__file__).resolve().parents[3] / "statemachines" / "agent_task.asl.json"
ARNS = {name: f"arn:aws:lambda:us-east-1:1:function:{name}" for name in PLACEHOLDERS}


def definition() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(state_machine_definition(ASL.read_text(), ARNS))
    return loaded


def test_the_asl_file_is_json_once_exactly_the_known_placeholders_are_substituted() -> None:
    text = ASL.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(names.ASL_PLACEHOLDERS)
    loaded = definition()
    assert loaded["States"]["Think"]["Parameters"]["FunctionName"] == ARNS["ThinkFunctionArn"]
    # The execution timeout is a number at the top level (what makes ExecutionsTimedOut possible).
    assert loaded["TimeoutSeconds"] == names.EXECUTION_TIMEOUT_SECONDS


def test_a_missing_substitution_is_refused() -> None:
    with pytest.raises(ValueError, match="unsubstituted"):
        substitute_placeholders(ASL.read_text(), {"ThinkFunctionArn": "x"})


def test_every_waiting_state_has_a_timeout_and_a_catch_and_machines_heartbeat() -> None:
    states = definition()["States"]
    waiting = {n: s for n, s in states.items() if str(s.get("Resource", "")).endswith(".waitForTaskToken")}
    assert set(waiting) == {"RunLocalTool", "AwaitApproval"}
    for state in waiting.values():
        assert state["TimeoutSecondsPath"]
        assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"]
        assert state["Catch"][0]["Next"] == "NextStep"  # the error goes back to Think
    # The local agent heartbeats while a tool runs; a person deciding does not, so only the timeout bounds that.
    assert waiting["RunLocalTool"]["HeartbeatSecondsPath"]
    assert "HeartbeatSecondsPath" not in waiting["AwaitApproval"]
    # An inline result comes back as one JSON text that the states after it carry without looking inside.
    assert waiting["RunLocalTool"]["Parameters"]["MessageBody"]["result_as_text"] is True


def test_the_loop_is_bounded_by_a_step_counter() -> None:
    states = definition()["States"]
    bound = states["Route"]["Choices"][0]
    assert bound["Next"] == "StepLimitReached"
    assert {"Variable": "$.step", "NumericGreaterThanEqualsPath": "$.ctx.max_steps"} in bound["And"]
    assert "States.MathAdd($.step, 1)" in states["NextStep"]["Parameters"]["step.$"]
