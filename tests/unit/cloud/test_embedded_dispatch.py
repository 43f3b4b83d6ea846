"""The embedded stack's shortcuts in moto's Step Functions interpreter (phi.embedded.aws.fast_step_functions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sqs

from phi.embedded import aws


@pytest.fixture
def shortcuts() -> Iterator[None]:
    aws.patch_moto()
    yield
    aws.fast_step_functions(True)


def test_a_lambda_task_is_answered_in_process_the_way_invoke_answers(shortcuts: None) -> None:
    response = aws._invoke_in_process(
        {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:phi-dev-unknown", "Payload": b"{}"},
        "us-east-1",
        None,
    )
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"  # what moto's caller turns into Lambda.Unknown / a Catch
    assert response["Payload"]["errorType"] == "ResourceNotFound"


def test_the_shortcuts_can_be_turned_off_and_on_again(shortcuts: None) -> None:
    assert lambda_eval_utils._invoke_lambda_function is aws._invoke_in_process
    assert state_task_service_sqs.boto_client_for is aws._cached_boto_client
    aws.fast_step_functions(False)
    assert lambda_eval_utils._invoke_lambda_function is not aws._invoke_in_process
    assert state_task_service_sqs.boto_client_for is not aws._cached_boto_client
    aws.fast_step_functions(True)
    assert lambda_eval_utils._invoke_lambda_function is aws._invoke_in_process


def test_the_server_finds_services_from_one_listing_of_motos_package(shortcuts: None) -> None:
    from moto import backends

    listed_once = backends.list_of_moto_modules()
    assert listed_once is backends.list_of_moto_modules()  # no folder listing per request
    aws.fast_step_functions(False)
    assert set(backends.list_of_moto_modules()) == set(listed_once) >= {"sqs", "stepfunctions", "s3", "scheduler"}
    aws.fast_step_functions(True)
    assert backends.list_of_moto_modules() is listed_once


def test_one_client_per_service_and_moto_port(shortcuts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_PORT", "5999")
    first = aws._cached_boto_client("us-east-1", "sqs")
    assert aws._cached_boto_client("us-east-1", "sqs") is first
    assert aws._cached_boto_client("us-east-1", "lambda") is not first
    monkeypatch.setenv("MOTO_PORT", "5998")  # a restarted stack on another port gets its own client
    assert aws._cached_boto_client("us-east-1", "sqs") is not first


def test_an_answer_that_arrives_before_the_heartbeat_wait_starts_is_not_lost(shortcuts: None) -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, CallbackOutcomeSuccess

    endpoint = CallbackEndpoint(callback_id="token")
    endpoint.notify(CallbackOutcomeSuccess(callback_id="token", output="{}"))  # the agent was quick
    heartbeat = endpoint.setup_heartbeat_endpoint(heartbeat_seconds=3600)
    assert heartbeat.clear_and_wait() is True  # returns at once instead of waiting out the heartbeat
    assert endpoint.get_outcome() is not None


def test_each_json_path_is_parsed_once_and_evaluates_as_before(shortcuts: None) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    state = {"think": {"tool_call": {"args": {"sql": "SELECT 1"}}}, "rows": [[1], [2]]}
    assert json_path.parse("$.think.tool_call.args") is json_path.parse("$.think.tool_call.args")
    shortcut_values = [json_path.extract_json(p, state) for p in ("$.think.tool_call.args", "$.rows[1]", "$.rows[*]")]
    aws.fast_step_functions(False)
    assert json_path.parse("$.think.tool_call.args") is not json_path.parse("$.think.tool_call.args")
    assert shortcut_values == [
        json_path.extract_json(p, state) for p in ("$.think.tool_call.args", "$.rows[1]", "$.rows[*]")
    ]
    assert shortcut_values == [{"sql": "SELECT 1"}, [2], [[1], [2]]]
