"""What a first deploy on a real AWS account depends on (issue 11 §6), asserted on the synthesized template."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest

from infra_cdk.config import DOCUMENTS_PREFIX, STATE_MACHINE_FILE, Handler, stage_config
from infra_cdk.stack import LAMBDA_LOCAL_EMBEDDING_MODEL, embedding_environment
from infra_cdk.synthesis import Synthesis, synthesize
from phi import names
from phi.embedded.aws import state_machine_definition
from phi.settings import Settings, requirements_for
from tests.infra.test_template import as_list, function_role, phi_functions, role_statements

pytestmark = pytest.mark.infra


def environment(properties: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = properties["Environment"]["Variables"]
    return variables


def test_migrations_wait_for_the_proxy_target_group(dev: Synthesis) -> None:
    """Without it CloudFormation registers the instance with the proxy in parallel, and the first migration
    finds a proxy with no target: the deploy fails and rolls back."""
    (target_group_id,) = dev.resources("AWS::RDS::DBProxyTargetGroup")
    (migrations,) = dev.resources("Custom::PhiDatabaseMigrations").values()
    assert target_group_id in as_list(migrations.get("DependsOn", []))


def test_exactly_one_ingress_rule_lets_the_proxy_reach_the_database(dev: Synthesis) -> None:
    ((instance_id, instance),) = dev.resources("AWS::RDS::DBInstance").items()
    (database_group,) = [ref["Fn::GetAtt"][0] for ref in instance["Properties"]["VPCSecurityGroups"]]
    (proxy,) = dev.resources("AWS::RDS::DBProxy").values()
    (proxy_group,) = [ref["Fn::GetAtt"][0] for ref in proxy["Properties"]["VpcSecurityGroupIds"]]
    rules = [
        rule["Properties"]
        for rule in dev.resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [database_group, "GroupId"]}
    ]
    rules += dev.template_json["Resources"][database_group]["Properties"].get("SecurityGroupIngress", [])
    assert len(rules) == 1, rules
    (rule,) = rules
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [proxy_group, "GroupId"]}
    # The instance's own port (5433), as add_proxy wires it.
    assert rule["FromPort"] == rule["ToPort"] == {"Fn::GetAtt": [instance_id, "Endpoint.Port"]}
    assert instance["Properties"]["Port"] == "5433"


def test_the_default_deploy_embeds_with_wordllama_and_an_openai_key_switches_to_openai(dev: Synthesis) -> None:
    for handler, (_, properties) in phi_functions(dev).items():
        variables = environment(properties)
        assert variables["PHI_EMBEDDING_PROVIDER"] == "local", handler
        assert variables["PHI_EMBEDDING_MODEL"] == LAMBDA_LOCAL_EMBEDDING_MODEL == "wordllama-l2-supercat-256"
    (output,) = [o for name, o in dev.template_json["Outputs"].items() if name == "EmbeddingModel"]
    assert output["Value"] == LAMBDA_LOCAL_EMBEDDING_MODEL

    with_key = stage_config(
        {"openaiApiKeySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf"}.get
    )
    assert embedding_environment(with_key) == {"PHI_EMBEDDING_PROVIDER": "openai"}


def test_the_execution_timeout_is_in_the_definition_so_the_timed_out_alarm_can_fire(dev: Synthesis) -> None:
    (state_machine,) = dev.resources("AWS::StepFunctions::StateMachine").values()
    substitutions = state_machine["Properties"]["DefinitionSubstitutions"]
    assert substitutions[names.EXECUTION_TIMEOUT_PLACEHOLDER] == str(names.EXECUTION_TIMEOUT_SECONDS)
    text = STATE_MACHINE_FILE.read_text(encoding="utf-8")
    assert re.search(r'^  "TimeoutSeconds": \$\{ExecutionTimeoutSeconds\},$', text, re.MULTILINE)
    # What CloudFormation hands Step Functions: the same text with every placeholder substituted.
    definition = json.loads(state_machine_definition(text, {p: "arn" for p in names.FUNCTION_PLACEHOLDERS}))
    assert definition["TimeoutSeconds"] == 86_400
    alarms = [a["Properties"] for a in dev.resources("AWS::CloudWatch::Alarm").values()]
    assert any(a.get("MetricName") == "ExecutionsTimedOut" for a in alarms)


def test_each_function_logs_and_emits_metrics_as_its_own_service(dev: Synthesis) -> None:
    functions = phi_functions(dev)
    services = {handler: environment(props)["POWERTOOLS_SERVICE_NAME"] for handler, (_, props) in functions.items()}
    assert services == {handler: f"phi-dev-{handler.service.value}" for handler in Handler}
    observability = Path(names.__file__).parent / "handlers" / "observability.py"
    assert "service=" not in observability.read_text(encoding="utf-8")


def test_api_gateway_preflight_and_the_app_agree_on_cors(dev: Synthesis) -> None:
    methods = [m["Properties"] for m in dev.resources("AWS::ApiGateway::Method").values()]
    options = [m for m in methods if m["HttpMethod"] == "OPTIONS"]
    assert options
    for method in options:
        headers = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert "method.response.header.Access-Control-Allow-Credentials" not in headers
        allowed = headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
        assert allowed == list(names.CORS_ALLOW_HEADERS)
    assert names.CORS_ALLOW_CREDENTIALS is False


def test_the_api_function_times_out_with_api_gateway(dev: Synthesis) -> None:
    _, api = phi_functions(dev)[Handler.API]
    assert api["Timeout"] == names.API_INTEGRATION_TIMEOUT_SECONDS == 29


def test_names_come_from_the_one_module(dev: Synthesis) -> None:
    stage = dev.config.stage.value
    queues = {q["Properties"]["QueueName"] for q in dev.resources("AWS::SQS::Queue").values()}
    assert queues == {names.ingest_queue_name(stage), names.ingest_dlq_name(stage), names.agent_dlq_name(stage)}
    assert not names.agent_dlq_name(stage).startswith(names.agent_queue_prefix(stage))
    (state_machine,) = dev.resources("AWS::StepFunctions::StateMachine").values()
    assert state_machine["Properties"]["StateMachineName"] == names.state_machine_name(stage)
    (group,) = dev.resources("AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == names.scheduler_group_name(stage)


def test_the_scheduler_may_assume_its_role_for_the_stages_schedule_group(dev: Synthesis) -> None:
    """EventBridge Scheduler names the schedule *group* as aws:SourceArn when it assumes a schedule's role; a
    condition on schedule ARNs never matches, and every scheduled run fails to start."""
    (group_id,) = dev.resources("AWS::Scheduler::ScheduleGroup")
    roles = dev.resources("AWS::IAM::Role")
    (trust,) = next(r for logical_id, r in roles.items() if "StartExecutionRole" in logical_id)["Properties"][
        "AssumeRolePolicyDocument"
    ]["Statement"]
    source_arns = [values["aws:SourceArn"] for values in trust["Condition"].values() if "aws:SourceArn" in values]
    assert source_arns == [{"Fn::GetAtt": [group_id, "Arn"]}]


def test_every_function_but_migrate_waits_for_the_migrations(dev: Synthesis) -> None:
    """Otherwise the sweeper's rule, the ingest event source and the API go live on a database without tables
    (errors and alarms on the first deploy), and on an update new code meets the old schema."""
    (migrations_id,) = dev.resources("Custom::PhiDatabaseMigrations")
    waiting = {
        handler
        for handler, (logical_id, _) in phi_functions(dev).items()
        if migrations_id in as_list(dev.template_json["Resources"][logical_id].get("DependsOn", []))
    }
    assert waiting == set(Handler) - {Handler.MIGRATE}


def test_direct_uploads_fit_through_api_gateway_and_lambda(dev: Synthesis) -> None:
    """A multipart body reaches the function base64-encoded inside the event, and Lambda takes at most 6 MB
    synchronously: the API's own limit must refuse (readably, naming upload-url) before that one does."""
    from phi.api.limits import MULTIPART_OVERHEAD_BYTES

    event_envelope_bytes = 64 * 1024  # headers, multiValueHeaders and requestContext around the body
    functions = phi_functions(dev)
    direct_limit = int(environment(functions[Handler.API][1])["PHI_MAX_UPLOAD_BYTES"])
    encoded_body = math.ceil((direct_limit + MULTIPART_OVERHEAD_BYTES) / 3) * 4
    assert encoded_body + event_envelope_bytes <= 6 * 1024 * 1024
    # Pre-signed uploads go straight to S3: ingest keeps the full document limit.
    assert "PHI_MAX_UPLOAD_BYTES" not in environment(functions[Handler.INGEST][1])
    assert Settings.model_fields["max_upload_bytes"].default > direct_limit


def _placeholder(name: str, value: Any) -> str:
    """A CloudFormation intrinsic (Ref, GetAtt, Join) resolves at deploy time: a plausible stand-in."""
    return value if isinstance(value, str) else f"arn:aws:placeholder:us-east-1:123456789012:{name.lower()}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_function_starts_with_the_environment_the_template_gives_it(
    stage: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What each handler checks at its cold start (phi.settings.settings_for), from the template's variables."""
    synthesis: Synthesis = request.getfixturevalue(stage)
    for name in list(os.environ):
        if name.startswith(("PHI_", "AWS_")):
            monkeypatch.delenv(name)
    for handler, (_, properties) in phi_functions(synthesis).items():
        variables = {name: _placeholder(name, value) for name, value in environment(properties).items()}
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        settings = Settings()
        settings.require(requirements_for(handler.service, settings))
        # Secrets travel as ARNs only: no key, password or token value in a function's environment.
        secret_looking = [
            n for n in variables if re.search("SECRET|PASSWORD|TOKEN|API_KEY", n) and not n.endswith("_ARN")
        ]
        assert secret_looking == [], handler
        for name in variables:
            monkeypatch.delenv(name)


def test_agent_configs_served_on_aws_point_at_the_deployed_api(dev: Synthesis) -> None:
    """The API writes PHI_API_URL into every agent config it serves; unset, it is the default 127.0.0.1:8000."""
    functions = phi_functions(dev)
    api_url = environment(functions[Handler.API][1])["PHI_API_URL"]
    (rest_api_id,) = dev.resources("AWS::ApiGateway::RestApi")
    parts = api_url["Fn::Join"][1]
    assert parts[0] == "https://"
    assert {"Ref": rest_api_id} in parts
    assert parts[-1].endswith(f"/{dev.config.stage.value}/")
    assert api_url == environment(functions[Handler.THINK][1])["PHI_API_URL"]


def test_the_api_reaches_only_uploaded_documents_and_request_results_in_the_bucket(dev: Synthesis) -> None:
    """It stores/deletes documents and pre-signs result downloads; the bucket's other keys (tool results of every
    organisation's tasks) are Think's alone."""
    (bucket_id,) = (i for i in dev.resources("AWS::S3::Bucket") if i.startswith("StorageDocuments"))
    statements = role_statements(dev, function_role(dev, Handler.API))
    object_grants = {
        action: resource["Fn::Join"][1][1]
        for statement in statements
        for action in as_list(statement["Action"])
        if action.startswith("s3:")
        for resource in as_list(statement["Resource"])
        if isinstance(resource, dict)
        and resource.get("Fn::Join", ["", [None]])[1][0] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    }
    assert object_grants == {
        "s3:PutObject": f"/{DOCUMENTS_PREFIX}*",
        "s3:DeleteObject": f"/{DOCUMENTS_PREFIX}*",
        "s3:GetObject": f"/{names.REQUEST_RESULTS_PREFIX}*",
    }


def test_no_function_but_the_api_may_use_the_agent_queues(dev: Synthesis) -> None:
    """StartTask reads the agent's queue URL from its row; the state machine sends, the API administers."""
    prefix = f":{names.agent_queue_prefix(dev.config.stage.value)}*"
    for handler in set(Handler) - {Handler.API}:
        statements = role_statements(dev, function_role(dev, handler))
        assert prefix not in json.dumps(statements), handler


def test_errors_api_gateway_answers_itself_are_readable_by_the_web_app(dev: Synthesis, prod: Synthesis) -> None:
    """Throttling, the 29 s timeout, a function failing before the app: without CORS headers the browser shows
    only a CORS error."""
    expected = {"dev": "method.request.header.Origin", "prod": "'https://app.example.com'"}
    for synthesis in (dev, prod):
        responses = {
            r["Properties"]["ResponseType"]: r["Properties"]["ResponseParameters"]
            for r in synthesis.resources("AWS::ApiGateway::GatewayResponse").values()
        }
        assert set(responses) >= {"DEFAULT_4XX", "DEFAULT_5XX"}
        for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
            allow_origin = responses[response_type]["gatewayresponse.header.Access-Control-Allow-Origin"]
            assert allow_origin == expected[synthesis.config.stage.value]


def test_the_database_pins_the_major_version_only_and_takes_minor_upgrades(dev: Synthesis) -> None:
    """A pinned minor ("16.13") with automatic minor upgrades drifts from the template at the first upgrade, and a
    stack created after that minor is retired cannot be created at all; pgvector 0.8 is in every 16 minor from 16.5
    on, which RDS reaches by its default minor and the maintenance window's upgrades."""
    (instance,) = dev.resources("AWS::RDS::DBInstance").values()
    assert instance["Properties"]["EngineVersion"] == "16"
    assert instance["Properties"]["AutoMinorVersionUpgrade"] is True
    (parameters,) = dev.resources("AWS::RDS::DBParameterGroup").values()
    assert parameters["Properties"]["Family"] == "postgres16"


def _secret_named(synthesis: Synthesis, name: str) -> dict[str, Any]:
    (secret,) = [
        s for s in synthesis.resources("AWS::SecretsManager::Secret").values() if s["Properties"]["Name"] == name
    ]
    return secret


def test_prod_keeps_what_restoring_its_final_snapshot_needs(dev: Synthesis, prod: Synthesis) -> None:
    """prod's database leaves a final snapshot on destroy; its password is in the admin secret, which CloudFormation
    would delete at once (no recovery window). The keys that encrypt the documents and organisations' secrets are
    kept in every stage; dev, torn down on purpose, deletes its secret."""
    admin = _secret_named(prod, "phi-prod/db/admin")
    assert admin["DeletionPolicy"] == admin["UpdateReplacePolicy"] == "Retain"
    (instance,) = prod.resources("AWS::RDS::DBInstance").values()
    assert instance["DeletionPolicy"] == "Snapshot"
    assert _secret_named(dev, "phi-dev/db/admin")["DeletionPolicy"] == "Delete"
    for synthesis in (dev, prod):
        data_keys = [
            key
            for key in synthesis.resources("AWS::KMS::Key").values()
            if "alarm notifications" not in key["Properties"]["Description"]
        ]
        assert len(data_keys) == 2 and all(key["DeletionPolicy"] == "Retain" for key in data_keys)


def test_a_new_checkpointer_in_the_layer_runs_the_migrations_again(dev: Synthesis, layer_report: Any) -> None:
    """LangGraph's checkpoint tables are set up (PostgresSaver.setup(), its own versioned migrations) only by the
    migrate function, which CloudFormation calls again only when the custom resource's properties change: the
    layer's langgraph-checkpoint-postgres version is one of them, so a deploy with a new one sets its tables up."""
    site_packages = Path(layer_report.layers[0].path) / "python"
    (dist_info,) = site_packages.glob("langgraph_checkpoint_postgres-*.dist-info")
    version = dist_info.name.removeprefix("langgraph_checkpoint_postgres-").removesuffix(".dist-info")
    (migrations,) = dev.resources("Custom::PhiDatabaseMigrations").values()
    assert migrations["Properties"]["CheckpointerVersion"] == f"langgraph-checkpoint-postgres=={version}"


LLM_CALLERS = {Handler.API, Handler.THINK}


def test_the_llm_routes_go_only_to_the_functions_that_call_an_llm(dev: Synthesis, prod: Synthesis) -> None:
    """PHI_LLM_ROUTES can be kilobytes of JSON, and Lambda allows 4 KB of environment per function: only the API and
    Think read it (phi.llm); the others would only carry it towards the limit."""
    from tests.infra.conftest import PROD_LLM_ROUTE_KEY_ARN, PROD_LLM_ROUTES

    for handler, (_, properties) in phi_functions(prod).items():
        routes = environment(properties).get("PHI_LLM_ROUTES")
        assert routes == (PROD_LLM_ROUTES if handler in LLM_CALLERS else None), handler
        route_key_readers = PROD_LLM_ROUTE_KEY_ARN in json.dumps(role_statements(prod, function_role(prod, handler)))
        assert route_key_readers == (handler in LLM_CALLERS), handler
    assert all("PHI_LLM_ROUTES" not in environment(properties) for _, properties in phi_functions(dev).values())


def test_an_environment_over_lambdas_4_kb_fails_the_synth_naming_the_function(tmp_path: Path, dev: Synthesis) -> None:
    """Lambda refuses a function whose variables pass 4 KB only when CloudFormation creates it, mid-deploy."""
    from infra_cdk.lambdas import LAMBDA_ENVIRONMENT_LIMIT_BYTES, estimated_environment_bytes

    largest = max(estimated_environment_bytes(environment(p)) for _, p in phi_functions(dev).values())
    assert largest <= LAMBDA_ENVIRONMENT_LIMIT_BYTES - 1024, largest  # today's room, references counted long
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vllm-AbCdEf"
    route = {"model": "m" * 200, "base_url": "https://vllm.internal/" + "v" * 400, "api_key_secret_arn": arn}
    routes = json.dumps({purpose: [route, route] for purpose in ("default", "analysis", "planning")})
    synthesis = synthesize(tmp_path, {"llmRoutes": routes}, nag=False)
    assert synthesis.validation_error is not None
    assert "over Lambda's 4 KB" in synthesis.validation_error and "PHI_LLM_ROUTES" in synthesis.validation_error
    assert "(phi.handlers.api.handler)" in synthesis.validation_error  # and not the functions without the routes
    assert "phi.handlers.ingest.handler" not in synthesis.validation_error
