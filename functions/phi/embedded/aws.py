"""The embedded stack's AWS: a moto server with Step Functions execution on, whose Lambda invocations run
this project's handlers in-process. This is the embedded target's stand-in for AWS (DESIGN §1), not a test double
of our own code: the same handlers and the same ASL file run here as on AWS."""

from __future__ import annotations

import copy
import functools
import importlib
import json
import logging
import os
import socket
import threading
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from phi import names

# Lambda function name suffix → handler module (the same handlers CDK deploys).
HANDLERS = {service.value: service.module for service in names.FUNCTION_PLACEHOLDERS.values()}
# ASL placeholder → function name suffix.
PLACEHOLDERS = {placeholder: service.value for placeholder, service in names.FUNCTION_PLACEHOLDERS.items()}


@dataclass
class LambdaContext:
    """The attributes Powertools reads from a real Lambda context."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = ""
    log_group_name: str = "/embedded"
    log_stream_name: str = "embedded"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _dispatch(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    name = function_name.rsplit(":", 1)[-1]
    suffix = next((s for s in HANDLERS if name.endswith(s)), None)
    if suffix is None:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": "ResourceNotFound", "errorMessage": f"no handler for {name}"}).encode()
    event = json.loads(body) if body else {}
    context = LambdaContext(function_name=name, invoked_function_arn=function_name, aws_request_id=str(uuid.uuid4()))
    try:
        handler = importlib.import_module(HANDLERS[suffix]).handler
        return json.dumps(handler(event, context), default=str).encode()
    except Exception as exc:  # reported the way Lambda reports an unhandled error
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(
            {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc) or type(exc).__name__,
                "stackTrace": traceback.format_exception(exc)[-5:],
            }
        ).encode()


def _send_task_failure_with_cause(self: Any) -> Any:
    """moto 5.2's server drops `cause` from SendTaskFailure; forward it as AWS does."""
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def _execution_history(self: Any) -> Any:
    """GetExecutionHistory, with two changes to moto 5.2's: `includeExecutionData` false leaves each event's input
    and output out, as AWS does (moto ignores it; a history carries the whole state at every step, which a caller
    reading names, errors and causes should not have to receive and parse); and, with the shortcuts on, the
    events written as JSON directly. moto's generic serializer tries every one of the ~60 members a history event
    may have, under several spellings each, for every event: milliseconds of CPU per call for the history of one
    report, which the API reads on every task view (a console or script polling a running task)."""
    from moto.core.responses import ActionResult

    history = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
    if self._get_param("includeExecutionData", True) is False:
        history = {**history, "events": [_without_execution_data(event) for event in history["events"]]}
    history = _history_page(
        history, self._get_param("reverseOrder", False), self._get_param("maxResults"), self._get_param("nextToken")
    )
    if _moto_originals.get("history_as_json"):
        return json.dumps(history, default=_epoch_seconds)  # moto answers a str as the 200 body
    return ActionResult(history)


def _history_page(
    history: dict[str, Any], reverse: bool, max_results: int | None, next_token: str | None
) -> dict[str, Any]:
    """`reverseOrder`, `maxResults` (1-1000, 0 or absent: 100) and `nextToken` as AWS applies them (moto 5.2
    ignores them and answers every event, oldest first): a caller asking for the newest events of a long
    execution gets those, and the token for the rest."""
    events = list(reversed(history["events"])) if reverse else list(history["events"])
    start = int(next_token) if next_token and next_token.isdigit() else 0
    size = max_results if isinstance(max_results, int) and 0 < max_results <= 1000 else 100
    page = {key: value for key, value in history.items() if key != "nextToken"}
    page["events"] = events[start : start + size]
    if start + size < len(events):
        page["nextToken"] = str(start + size)
    return page


def _epoch_seconds(value: Any) -> float:
    """Timestamps as the JSON protocol writes them (what moto's serializer writes too)."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _without_execution_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {k: v for k, v in value.items() if k not in ("input", "output")}
        if key.endswith("EventDetails") and isinstance(value, dict)
        else value
        for key, value in event.items()
    }


def _copy_sharing_executions(self: Any, memo: dict[int, Any]) -> Any:
    """moto deep-copies the state machine on every StartExecution, running executions (threads, locks)
    included, which fails from the second execution on; the copy only needs the definition."""
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        shared = name in {"executions", "backend"}
        setattr(clone, name, value if shared else copy.deepcopy(value, memo))
    return clone


def _invoke_in_process(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
    """Step Functions' `lambda:invoke` without the HTTP hop back into moto: the same dispatch to our handler,
    answered in the shape boto3's Invoke returns (Payload already parsed, as moto's caller expects)."""
    payload = parameters.get("Payload")
    body = payload if isinstance(payload, bytes | str) or payload is None else json.dumps(payload)
    response_headers: dict[str, str] = {}
    raw = _dispatch(
        None,  # type: ignore[arg-type]
        parameters["FunctionName"],
        parameters.get("Qualifier"),
        body,
        None,
        response_headers,
    )
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": parsed}
    if "x-amz-function-error" in response_headers:
        response["FunctionError"] = response_headers["x-amz-function-error"]
    return response


_cached_clients: dict[tuple[str, str, str], Any] = {}
_cached_clients_lock = threading.Lock()
_moto_originals: dict[str, Any] = {}


def _cached_boto_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's interpreter builds a new boto3 client for every service call it makes (tens of ms of CPU each);
    clients are thread-safe, so one per region, service and moto port serves every execution."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    key = (region, service, f"{moto_server_port()}:{botocore_stubber.enabled}")
    with _cached_clients_lock:
        if key not in _cached_clients:
            _cached_clients[key] = _moto_originals["boto_client_for"](region, service, state_credentials)
        return _cached_clients[key]


def _parsed_program(definition: str) -> Any:
    """An execution's own copy of the definition's parsed program. moto parses the ASL again with ANTLR for every
    execution (~28 ms of CPU for ours); the parse is kept per definition text and each execution gets a deep copy
    (~2 ms), so nothing an evaluation might set on a component (e.g. its lazily drawn heap key) is shared."""
    return copy.deepcopy(_moto_originals["parse_program_once"](definition))


def _evaluation_entrypoint_from_parsed_program(self: Any) -> Any:
    return _parsed_program(self._evaluation_details.state_machine_details.definition)


def _enrich_response_without_scanning_json(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    """moto runs a look-behind regex over every response body to put the request id into an XML <RequestId>;
    over a JSON body (GetExecutionHistory's runs to hundreds of KB) it finds nothing and costs milliseconds.
    Same result: the headers are enriched as before, the body rewritten only when it has the element."""
    if isinstance(body, str) and "<RequestId>" in body:
        return _moto_originals["enrich_response"](headers, body)
    headers, _ = _moto_originals["enrich_response"](headers, "")
    return headers, body


def fast_step_functions(enabled: bool = True) -> None:
    """Shortcuts in moto's Step Functions interpreter (on by default through patch_moto): Lambda tasks
    dispatched in-process instead of through an HTTP call back into moto, and one boto3 client per service
    instead of one per call; moto's server finding each request's service without listing its package folder
    (it stats each of its ~200 entries, per request, under the one lock every request shares; the folder does not
    change while the process runs); each JSONPath of the definition parsed once (moto builds a new PLY parser
    for every path it evaluates, ~0.5 ms each, some twenty per tool round trip; a parsed path is only read), the
    ResultPaths included; the definition parsed once per text rather than once per execution (each execution
    evaluates its own copy); no regex over JSON response bodies looking for an XML request id; and execution
    histories written as JSON directly (see _execution_history).
    Off restores moto's own path (bench/bench_roundtrip.py's baseline)."""
    from moto import backends
    from moto.core.responses import BaseResponse
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sqs
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if "invoke" not in _moto_originals:
        _moto_originals.update(
            invoke=lambda_eval_utils._invoke_lambda_function,
            boto_client_for=lambda_eval_utils.boto_client_for,
            list_of_moto_modules=backends.list_of_moto_modules,
            parse_json_path=json_path.parse,
            parse_result_path=result_path.parse,
            evaluation_entrypoint=ExecutionWorker._get_evaluation_entrypoint,
            enrich_response=BaseResponse._enrich_response,
        )
        modules = tuple(backends.list_of_moto_modules())
        _moto_originals["listed_once"] = lambda: modules
        _moto_originals["parse_json_path_once"] = functools.lru_cache(maxsize=4096)(json_path.parse)
        _moto_originals["parse_result_path_once"] = functools.lru_cache(maxsize=4096)(result_path.parse)
        # A few definitions per stack (one per state machine and version); each parse is kept whole.
        _moto_originals["parse_program_once"] = functools.lru_cache(maxsize=32)(
            lambda definition: AmazonStateLanguageParser.parse(definition)[0]
        )
    lambda_eval_utils._invoke_lambda_function = _invoke_in_process if enabled else _moto_originals["invoke"]
    client_for = _cached_boto_client if enabled else _moto_originals["boto_client_for"]
    lambda_eval_utils.boto_client_for = client_for
    state_task_service_sqs.boto_client_for = client_for
    backends.list_of_moto_modules = _moto_originals["listed_once" if enabled else "list_of_moto_modules"]
    json_path.parse = _moto_originals["parse_json_path_once" if enabled else "parse_json_path"]
    result_path.parse = _moto_originals["parse_result_path_once" if enabled else "parse_result_path"]
    ExecutionWorker._get_evaluation_entrypoint = (  # type: ignore[method-assign]
        _evaluation_entrypoint_from_parsed_program if enabled else _moto_originals["evaluation_entrypoint"]
    )
    _moto_originals["history_as_json"] = enabled
    BaseResponse._enrich_response = staticmethod(  # type: ignore[method-assign]
        _enrich_response_without_scanning_json if enabled else _moto_originals["enrich_response"]
    )


def _heartbeat_endpoint_seeing_early_answers(self: Any, heartbeat_seconds: int) -> Any:
    """moto 5.2 sets up a waitForTaskToken step's heartbeat endpoint only after it has sent the message; an answer
    (SendTaskSuccess/Failure) that arrives in between is stored but never wakes the heartbeat wait, so the step
    sits until its timeout and fails with States.Timeout. A fast local agent on a busy machine hits that window:
    wake the new endpoint when the answer is already in."""
    endpoint = _moto_originals["setup_heartbeat_endpoint"](self, heartbeat_seconds)
    if self._outcome is not None:
        endpoint.notify()
    return endpoint


def _heartbeat_accepted_before_the_wait(self: Any) -> bool:
    """moto 5.2 refuses a SendTaskHeartbeat (InvalidToken) until the step has set up its heartbeat wait, which it
    does only after it has sent the message. On AWS the token is valid as soon as the message is sent. A local
    agent that checks a request before running it (a request that waited, or `stale_request_seconds: 0`) and is
    quicker than the interpreter took the refusal for a step that had ended, and dropped a live request: accept
    the heartbeat, as there is no wait yet whose timer it would reset."""
    endpoint = self._heartbeat_endpoint
    if endpoint is not None:
        endpoint.notify()
    return True


def _set_stop_waking_callback_waits(self: Any, stop_date: Any, cause: str | None, error: str | None) -> None:
    """moto 5.2's StopExecution marks the program stopped but leaves a waitForTaskToken step waiting until its
    heartbeat or timeout (minutes), the execution RUNNING all that time; on AWS the execution ends ABORTED at once.
    Wake every wait of the execution: each finds the program stopped and the execution ends, as on AWS."""
    _moto_originals["set_stop"](self, stop_date=stop_date, cause=cause, error=error)
    for endpoint in list(self.callback_pool_manager._pool.values()):
        endpoint._notify_event.set()
        if endpoint._heartbeat_endpoint is not None:
            endpoint._heartbeat_endpoint.notify()


def _set_error_unless_stopped(self: Any, error: Any) -> None:
    """A step that a stop interrupted fails as it unwinds (its wait ended without an answer); moto records that
    failure over the stop and the execution ends FAILED. On AWS a stopped execution is ABORTED, whatever its
    steps were doing."""
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    if isinstance(self._program_state, ProgramStopped):
        return
    _moto_originals["set_error"](self, error=error)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def patch_moto() -> None:
    """Step Functions execution on, Lambda invocations dispatched to our handlers, and seven moto 5.2 fixes.
    Idempotent; process-wide, like moto's own backends."""
    from moto.stepfunctions.models import StateMachineInstance
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.responses import StepFunctionResponse

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}
    LambdaSimpleBackend.invoke = _dispatch  # type: ignore[method-assign]
    fast_step_functions(True)
    if "setup_heartbeat_endpoint" not in _moto_originals:
        _moto_originals["setup_heartbeat_endpoint"] = CallbackEndpoint.setup_heartbeat_endpoint
        CallbackEndpoint.setup_heartbeat_endpoint = _heartbeat_endpoint_seeing_early_answers  # type: ignore[method-assign]
        CallbackEndpoint.notify_heartbeat = _heartbeat_accepted_before_the_wait  # type: ignore[method-assign]
    if "set_stop" not in _moto_originals:
        _moto_originals.update(set_stop=Environment.set_stop, set_error=Environment.set_error)
        Environment.set_stop = _set_stop_waking_callback_waits  # type: ignore[method-assign]
        Environment.set_error = _set_error_unless_stopped  # type: ignore[method-assign]
    StepFunctionResponse.send_task_failure = _send_task_failure_with_cause  # type: ignore[method-assign]
    StepFunctionResponse.get_execution_history = _execution_history  # type: ignore[method-assign]
    StateMachineInstance.__deepcopy__ = _copy_sharing_executions  # type: ignore[attr-defined]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
    evaluation_log = logging.getLogger(_MOTO_EVALUATION_LOGGER)
    if not any(isinstance(f, _QuietHandledFailures) for f in evaluation_log.filters):
        evaluation_log.addFilter(_QuietHandledFailures())


# moto's interpreter logs every failure event at ERROR as it passes each state, with the whole state's repr
# (thousands of characters): a tool error the ASL catches, a cancelled task's stopped wait. Step Functions itself
# logs nothing of the kind; the execution history and the task's own error say what failed. Unexpected exceptions
# in the interpreter are still logged.
_MOTO_EVALUATION_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


class _QuietHandledFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        first = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        return not str(first).startswith("Exception=FailureEventException")


def start_moto(port: int) -> ThreadedMotoServer:
    os.environ["MOTO_PORT"] = str(port)  # moto's ASL interpreter calls services back through this port
    patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def persistent_kms_key(key_file: Path, region: str, description: str) -> str:
    """A KMS key in moto that is the same key at every start of the stack (moto keeps keys in memory only): its id
    and 256-bit material live in `key_file` (owner-only, like the JWT secret; written whole or not at all) and are
    put back into moto's KMS backend, so what it encrypted before a restart still decrypts. Returns the key's ARN.
    A file that is not such a key stops the start, naming the file: made anew, it would orphan every secret."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.kms.models import kms_backends

    if not key_file.exists():
        _write_new_key_file(key_file)
    key_id, material = _read_key_file(key_file)
    backend = kms_backends[os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)][region]
    key = backend.create_key(
        policy=None, key_usage="ENCRYPT_DECRYPT", key_spec="SYMMETRIC_DEFAULT", description=description, tags=None
    )
    del backend.keys[key.id]
    key.arn = key.arn.rsplit("/", 1)[0] + "/" + key_id
    key.id = key_id
    key.key_material = material
    backend.keys[key.id] = key
    return str(key.arn)


def _write_new_key_file(key_file: Path) -> None:
    import base64
    import secrets as token_source
    import tempfile

    saved = {"key_id": str(uuid.uuid4()), "material": base64.b64encode(token_source.token_bytes(32)).decode()}
    descriptor, temporary = tempfile.mkstemp(prefix=".kms-", dir=key_file.parent)  # created 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(saved, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, key_file)  # whole, and never over a key another start wrote first
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)


def _read_key_file(key_file: Path) -> tuple[str, bytes]:
    import base64
    import binascii

    try:
        saved = json.loads(key_file.read_text())
        key_id = str(uuid.UUID(saved["key_id"]))
        material = base64.b64decode(saved["material"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error, OSError) as exc:
        raise RuntimeError(
            f"{key_file} is not the embedded stack's secrets key ({type(exc).__name__}); restore it from a backup of "
            "the data folder (a new key cannot decrypt the webhook secrets stored with the old one)"
        ) from None
    if len(material) != 32:
        raise RuntimeError(f"{key_file} holds a key of {len(material)} bytes, not 32; restore it from a backup")
    return key_id, material


def state_machine_definition(template: str, function_arns: dict[str, str]) -> str:
    """The ASL file with the function ARNs, the execution timeout and the partition substituted, as CDK deploys it."""
    values = {
        **function_arns,
        names.EXECUTION_TIMEOUT_PLACEHOLDER: str(names.EXECUTION_TIMEOUT_SECONDS),
        names.PARTITION_PLACEHOLDER: names.EMBEDDED_PARTITION,
    }
    return substitute_placeholders(template, values)


def substitute_placeholders(definition: str, values: dict[str, str]) -> str:
    """The same `${Name}` substitution CDK's definition_substitutions performs."""
    for name, value in values.items():
        definition = definition.replace("${" + name + "}", value)
    if "${" in definition:
        raise ValueError("unsubstituted placeholder left in the state machine definition")
    return definition
