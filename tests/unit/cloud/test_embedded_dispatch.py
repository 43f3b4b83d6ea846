"""The embedded stack's shortcuts in moto's Step Functions interpreter (phi.embedded.aws.fast_step_functions)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sqs

from phi.embedded import aws
from tests.support.waiting import wait_until


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


def test_a_heartbeat_sent_before_the_step_waits_is_accepted_as_on_aws(shortcuts: None) -> None:
    # A local agent that checks each request had its heartbeat refused (InvalidToken) in the moment between the
    # message being sent and the step setting up its wait, and dropped a live request as if its step had ended.
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager

    pool = CallbackPoolManager(activity_store={})
    endpoint = pool.add("token")
    assert pool.heartbeat("token") is True  # the message is out, the wait not set up yet
    heartbeat = endpoint.setup_heartbeat_endpoint(heartbeat_seconds=3600)
    assert pool.heartbeat("token") is True and heartbeat.clear_and_wait() is True  # a later one resets the wait
    assert pool.heartbeat("another token") is False  # an unknown token is still refused


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


def test_json_bodies_are_not_scanned_for_an_xml_request_id(shortcuts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core import responses

    scanned: list[str] = []
    real_sub = responses.re.sub

    def counting_sub(pattern: str, replacement: str, body: str) -> str:
        scanned.append(body)
        return real_sub(pattern, replacement, body)

    monkeypatch.setattr(responses.re, "sub", counting_sub)
    body = json.dumps({"events": [{"type": "PassStateEntered", "input": "x" * 1000}]})
    headers, same = responses.BaseResponse._enrich_response({"status": 200}, body)  # type: ignore[arg-type]
    assert same is body and body not in scanned
    assert headers["status"] == "200" and headers["x-amzn-requestid"]  # the headers are enriched as before
    headers, xml = responses.BaseResponse._enrich_response(  # type: ignore[arg-type]
        {}, "<R><RequestId>placeholder</RequestId></R>"
    )
    assert xml == f"<R><RequestId>{headers['x-amzn-requestid']}</RequestId></R>"


@pytest.fixture(scope="module")
def step_functions() -> Iterator[Any]:
    """A moto server of its own (no stack needed for Pass states) and a Step Functions client on it."""
    import boto3
    from moto.server import ThreadedMotoServer

    aws.patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield boto3.client(
        "stepfunctions",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    server.stop()


def _pass_machine(sfn: Any) -> str:
    definition = {
        "Comment": uuid.uuid4().hex,  # a definition text no other test has parsed
        "StartAt": "Greet",
        "States": {
            "Greet": {"Type": "Pass", "Parameters": {"who.$": "$.name"}, "ResultPath": "$.greeting", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    return str(
        sfn.create_state_machine(
            name=f"pass-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
    )


def _finished(sfn: Any, execution_arn: str) -> dict[str, Any]:
    return wait_until(  # type: ignore[no-any-return]
        lambda: (d := sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and d, 60
    )


def test_each_execution_evaluates_its_own_copy_of_a_definition_parsed_once(
    shortcuts: None, step_functions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    machine = _pass_machine(step_functions)
    parses: list[str] = []
    real_parse = AmazonStateLanguageParser.parse
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(lambda d: parses.append(d) or real_parse(d)))
    names = [f"picker-{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:  # executions started and evaluated concurrently
        arns = list(
            pool.map(
                lambda n: step_functions.start_execution(
                    stateMachineArn=machine, name=n, input=json.dumps({"name": n})
                )["executionArn"],
                names,
            )
        )
        finished = list(pool.map(lambda arn: _finished(step_functions, arn), arns))
    assert [json.loads(f["output"]) for f in finished] == [{"name": n, "greeting": {"who": n}} for n in names]
    assert len(parses) == 1  # moto's own path parses the definition for every execution
    program = aws._parsed_program(parses[0])
    assert program is not aws._parsed_program(parses[0])  # nothing evaluated is shared between executions


def test_history_leaves_out_execution_data_when_asked(shortcuts: None, step_functions: Any) -> None:
    machine = _pass_machine(step_functions)
    execution = step_functions.start_execution(stateMachineArn=machine, name="ada", input=json.dumps({"name": "Ada"}))
    assert _finished(step_functions, execution["executionArn"])["status"] == "SUCCEEDED"

    def details(**options: Any) -> list[dict[str, Any]]:
        events = step_functions.get_execution_history(executionArn=execution["executionArn"], **options)["events"]
        return [v for event in events for k, v in event.items() if k.endswith("EventDetails")]

    assert any("Ada" in str(d.get("input")) for d in details())  # by default, as on AWS, the data is there
    trimmed = details(includeExecutionData=False)
    assert trimmed and not [d for d in trimmed if "input" in d or "output" in d]
    assert {"Greet", "Done"} <= {d.get("name") for d in trimmed}  # what an operator reads stays


def test_a_history_written_directly_reads_as_motos_own_serializer_writes_it(
    shortcuts: None, step_functions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.serialize import ResponseSerializer

    machine = _pass_machine(step_functions)
    execution = step_functions.start_execution(stateMachineArn=machine, name="grace", input=json.dumps({"name": "G"}))
    assert _finished(step_functions, execution["executionArn"])["status"] == "SUCCEEDED"
    serialized: list[Any] = []
    real_serialize = ResponseSerializer.serialize

    def serialize(serializer: Any, result: Any) -> Any:
        # The moto server is shared with whatever else runs (a local agent's calls): only histories are counted.
        if isinstance(result, dict) and "events" in result:
            serialized.append(result)
        return real_serialize(serializer, result)

    monkeypatch.setattr(ResponseSerializer, "serialize", serialize)
    direct = [
        step_functions.get_execution_history(executionArn=execution["executionArn"], **o)
        for o in ({}, {"includeExecutionData": False})
    ]
    assert serialized == []  # written directly, not member by member
    aws.fast_step_functions(False)
    own = [
        step_functions.get_execution_history(executionArn=execution["executionArn"], **o)
        for o in ({}, {"includeExecutionData": False})
    ]
    assert len(serialized) == 2  # moto's own path
    assert [d["events"] for d in direct] == [o["events"] for o in own]
    assert len(direct[0]["events"]) >= 4 and direct[0]["events"][0]["timestamp"].tzinfo is not None


def test_a_long_executions_history_shows_its_newest_events_and_says_older_ones_were_left_out(
    shortcuts: None, step_functions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phi.services import tasks as tasks_service

    states: dict[str, Any] = {f"Step{i}": {"Type": "Pass", "Next": f"Step{i + 1}"} for i in range(40)}
    states["Step40"] = {"Type": "Fail", "Error": "Warehouse.Unreachable", "Cause": "the local agent is offline"}
    machine = step_functions.create_state_machine(
        name=f"long-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "Step0", "States": states}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    arn = step_functions.start_execution(stateMachineArn=machine, name="long", input="{}")["executionArn"]
    assert _finished(step_functions, arn)["status"] == "FAILED"
    monkeypatch.setattr(tasks_service, "client", lambda service: step_functions)

    short = tasks_service.execution_history(arn, limit=10)
    whole = tasks_service.execution_history(arn, limit=1000)

    assert short is not None and whole is not None
    assert [e.type for e in short.events] == [e.type for e in whole.events][-10:]  # the newest, oldest first
    assert short.events[-1].type == "ExecutionFailed" and short.events[-1].error == "Warehouse.Unreachable"
    assert not short.complete
    assert whole.complete and whole.events[0].type == "ExecutionStarted" and len(whole.events) > 80

    # The embedded engine pages as AWS does: newest first on request, maxResults at a time, then the token
    first = step_functions.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=50)
    rest = step_functions.get_execution_history(
        executionArn=arn, reverseOrder=True, maxResults=1000, nextToken=first["nextToken"]
    )
    assert "nextToken" not in rest
    ids = [e["id"] for e in first["events"] + rest["events"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(whole.events)
