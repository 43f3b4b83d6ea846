"""CDK assertions on the synthesized template: resources, key properties, least-privilege IAM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra_cdk.config import DOCUMENTS_PREFIX, STATE_MACHINE_FILE, Handler
from infra_cdk.data import migrations_hash
from infra_cdk.synthesis import Synthesis
from phi import names
from phi.embedded.aws import state_machine_definition

pytestmark = pytest.mark.infra

# Services holding customer data or controlling it: never a wildcard action on these.
DATA_SERVICES = {"s3", "sqs", "kms", "secretsmanager", "rds", "rds-db", "states", "scheduler", "sts", "iam", "dynamodb"}
COMMON_ENVIRONMENT = {
    "PHI_STAGE",
    "PHI_DB_SECRET_ARN",
    "PHI_DB_HOST",
    "PHI_DB_NAME",
    "PHI_AGENT_QUEUE_PREFIX",
    "PHI_DOCUMENTS_BUCKET",
    "PHI_SECRETS_KEY_ARN",
    "PHI_LLM_PROVIDER",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "PYDANTIC_DISABLE_PLUGINS",
}
API_ONLY_ENVIRONMENT = {
    "PHI_JWT_SECRET_ARN",
    "PHI_STATE_MACHINE_ARN",
    "PHI_AGENT_DLQ_ARN",
    "PHI_AGENT_ROLE_ARN",
    "PHI_SCHEDULER_GROUP",
    "PHI_SCHEDULER_ROLE_ARN",
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def phi_functions(synthesis: Synthesis) -> dict[Handler, tuple[str, dict[str, Any]]]:
    by_handler = {}
    for logical_id, resource in synthesis.resources("AWS::Lambda::Function").items():
        handler = resource["Properties"].get("Handler", "")
        if handler.startswith("phi."):
            by_handler[Handler(handler)] = (logical_id, resource["Properties"])
    return by_handler


def role_statements(synthesis: Synthesis, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement granted to a role: its inline policies and the AWS::IAM::Policy resources on it."""
    statements: list[dict[str, Any]] = []
    role = synthesis.template_json["Resources"][role_logical_id]["Properties"]
    for policy in role.get("Policies", []):
        statements += policy["PolicyDocument"]["Statement"]
    for policy in synthesis.resources("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def function_role(synthesis: Synthesis, handler: Handler) -> str:
    _, properties = phi_functions(synthesis)[handler]
    logical_id: str = properties["Role"]["Fn::GetAtt"][0]
    return logical_id


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def all_statements(synthesis: Synthesis) -> Iterator[dict[str, Any]]:
    for policy in synthesis.resources("AWS::IAM::Policy").values():
        yield from policy["Properties"]["PolicyDocument"]["Statement"]
    for role in synthesis.resources("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]
    for topic_policy in synthesis.resources("AWS::SQS::QueuePolicy").values():
        yield from topic_policy["Properties"]["PolicyDocument"]["Statement"]


def test_resource_counts(dev: Synthesis) -> None:
    template = Template.from_json(dev.template_json)
    assert set(phi_functions(dev)) == set(Handler)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.resource_count_is("AWS::RDS::DBInstance", 1)
    template.resource_count_is("AWS::RDS::DBProxy", 1)
    template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    template.resource_count_is("AWS::SQS::Queue", 3)  # ingest, ingest DLQ, agents' DLQ
    template.resource_count_is("AWS::Scheduler::ScheduleGroup", 1)
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.resource_count_is("AWS::EC2::NatGateway", 1)
    template.resource_count_is("Custom::PhiDatabaseMigrations", 1)


def test_functions_share_code_layer_runtime_vpc_and_tracing(dev: Synthesis) -> None:
    functions = phi_functions(dev)
    code_keys = {properties["Code"]["S3Key"] for _, properties in functions.values()}
    assert len(code_keys) == 1, "one code asset (functions/) for every handler"
    for handler, (_, properties) in functions.items():
        assert properties["Runtime"] == "python3.12", handler
        assert properties["Architectures"] == ["x86_64"]
        assert len(properties["Layers"]) == 1
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["VpcConfig"]["SubnetIds"], handler
        environment = set(properties["Environment"]["Variables"])
        assert environment >= COMMON_ENVIRONMENT, (handler, COMMON_ENVIRONMENT - environment)
        assert properties["Environment"]["Variables"]["PHI_AGENT_QUEUE_PREFIX"] == "phi-dev-agent-"
        assert properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "PhiAgents"
        assert "PHI_XRAY_SDK" not in environment, "off by default: the SDK's import is ~0.2 s of each cold start"
        if handler is Handler.API:
            assert environment >= API_ONLY_ENVIRONMENT
        else:
            assert not environment & API_ONLY_ENVIRONMENT, handler
    for handler in (Handler.API, Handler.THINK, Handler.START_TASK, Handler.INGEST):
        assert "PHI_API_URL" in functions[handler][1]["Environment"]["Variables"]


def test_no_wildcard_actions_on_data_services(dev: Synthesis) -> None:
    offenders = []
    # Deny statements (TLS-only queue and bucket policies) may and should say sqs:* / s3:*.
    for statement in (s for s in all_statements(dev) if s["Effect"] == "Allow"):
        for action in as_list(statement.get("Action", [])):
            service = action.split(":")[0]
            if action == "*" or ("*" in action and service in DATA_SERVICES):
                offenders.append(action)
    assert offenders == []


def test_database_is_postgres16_encrypted_private_behind_a_tls_proxy(dev: Synthesis) -> None:
    template = Template.from_json(dev.template_json)
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "EngineVersion": "16",
            "StorageEncrypted": True,
            "PubliclyAccessible": False,
            "DBName": "phi",
            "MasterUserPassword": Match.object_like({"Fn::Join": Match.any_value()}),
        },
    )
    template.has_resource_properties("AWS::RDS::DBProxy", {"EngineFamily": "POSTGRESQL", "RequireTLS": True})
    template.has_resource_properties("AWS::RDS::DBParameterGroup", {"Parameters": {"rds.force_ssl": "1"}})
    (instance,) = dev.resources("AWS::RDS::DBInstance").values()
    subnet_group = dev.template_json["Resources"][instance["Properties"]["DBSubnetGroupName"]["Ref"]]
    isolated = {
        logical_id
        for logical_id, subnet in dev.resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in subnet["Properties"]["Tags"]
    }
    assert {ref["Ref"] for ref in subnet_group["Properties"]["SubnetIds"]} == isolated


def test_migrations_run_on_deploy_when_migrations_change(dev: Synthesis) -> None:
    (migrations,) = dev.resources("Custom::PhiDatabaseMigrations").values()
    properties = migrations["Properties"]
    assert properties["MigrationsHash"] == migrations_hash()
    assert properties["ProxyEndpoint"]["Fn::GetAtt"][1] == "Endpoint"
    provider_function = dev.template_json["Resources"][properties["ServiceToken"]["Fn::GetAtt"][0]]
    migrate_id, migrate = phi_functions(dev)[Handler.MIGRATE]
    assert migrate_id in json.dumps(provider_function["Properties"]["Environment"])
    # on a first deploy it waits minutes for RDS Proxy's new target, and still has time for the migrations
    from phi.db.migrate import CONNECT_BUDGET_SECONDS, MIGRATIONS_RESERVE_SECONDS

    assert migrate["Timeout"] >= CONNECT_BUDGET_SECONDS + MIGRATIONS_RESERVE_SECONDS


def test_a_migration_that_runs_out_of_time_fails_the_deploy_at_once(dev: Synthesis) -> None:
    """The provider framework's function invokes migrate and answers CloudFormation. Were both to time out
    together (900 s each), the framework would die without answering, and CloudFormation would wait out the
    custom resource's service timeout (one hour by default) before failing. Migrate stops first, so the framework
    answers FAILED; the service timeout is just above the framework's, should it ever not answer."""
    from phi.db.migrate import CONNECT_BUDGET_SECONDS, MIGRATIONS_RESERVE_SECONDS, connect_budget_seconds

    (migrations,) = dev.resources("Custom::PhiDatabaseMigrations").values()
    framework = dev.template_json["Resources"][migrations["Properties"]["ServiceToken"]["Fn::GetAtt"][0]]
    framework_timeout = framework["Properties"]["Timeout"]
    _, migrate = phi_functions(dev)[Handler.MIGRATE]
    assert migrate["Timeout"] <= framework_timeout - 60, (migrate["Timeout"], framework_timeout)
    assert framework_timeout < int(migrations["Properties"]["ServiceTimeout"]) <= framework_timeout + 120
    # The connect budget follows the time the invocation has left, keeping the migrations' reserve.
    assert connect_budget_seconds(migrate["Timeout"]) == CONNECT_BUDGET_SECONDS
    assert connect_budget_seconds(migrate["Timeout"] - 100) == migrate["Timeout"] - 100 - MIGRATIONS_RESERVE_SECONDS
    assert connect_budget_seconds(MIGRATIONS_RESERVE_SECONDS / 2) == 0


def test_documents_bucket_is_kms_encrypted_private_versioned_tls_only(dev: Synthesis) -> None:
    bucket_id, bucket = next(
        (logical_id, resource)
        for logical_id, resource in dev.resources("AWS::S3::Bucket").items()
        if resource["Properties"].get("VersioningConfiguration")
    )
    properties = bucket["Properties"]
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "KMSMasterKeyID" in encryption["ServerSideEncryptionByDefault"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in properties
    policy = next(
        p for p in dev.resources("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    )
    assert any(
        statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_ingest_pipeline(dev: Synthesis) -> None:
    template = Template.from_json(dev.template_json)
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    Match.object_like(
                        {
                            "Events": ["s3:ObjectCreated:*"],
                            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": DOCUMENTS_PREFIX}]}},
                        }
                    )
                ]
            }
        },
    )
    ingest_id, _ = phi_functions(dev)[Handler.INGEST]
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionName": {"Ref": ingest_id}, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "phi-dev-ingest",
            "RedrivePolicy": Match.object_like({"maxReceiveCount": 3}),
            "SqsManagedSseEnabled": True,
        },
    )


def test_api_gateway_throttled_logged_with_cors(dev: Synthesis) -> None:
    template = Template.from_json(dev.template_json)
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with(
                [Match.object_like({"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40})]
            ),
        },
    )
    preflight_origins = {
        response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"]
        for method in dev.resources("AWS::ApiGateway::Method").values()
        if method["Properties"]["HttpMethod"] == "OPTIONS"
        for response in method["Properties"]["Integration"]["IntegrationResponses"]
    }
    assert preflight_origins == {"'http://localhost:5173'"}, "CORS preflight answers the web app's origin"
    api_id, _ = phi_functions(dev)[Handler.API]
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "ANY",
            "Integration": Match.object_like({"Type": "AWS_PROXY"}),
        },
    )
    assert any(
        api_id in json.dumps(permission["Properties"]["FunctionName"])
        for permission in dev.resources("AWS::Lambda::Permission").values()
    )


def test_state_machine_role_is_least_privilege(dev: Synthesis) -> None:
    (state_machine,) = dev.resources("AWS::StepFunctions::StateMachine").values()
    role_id = state_machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = role_statements(dev, role_id)
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert len(invoke) == 1
    functions = phi_functions(dev)
    workflow = {Handler.START_TASK, Handler.THINK, Handler.FINISH_TASK, Handler.MARK_FAILED, Handler.AWAIT_APPROVAL}
    assert {r["Fn::GetAtt"][0] for r in as_list(invoke[0]["Resource"])} == {functions[h][0] for h in workflow}
    send = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    assert len(send) == 1 and "phi-dev-agent-*" in json.dumps(send[0]["Resource"])


def test_api_role_can_manage_agent_queues_executions_schedules(dev: Synthesis) -> None:
    statements = role_statements(dev, function_role(dev, Handler.API))
    actions = actions_of(statements)
    assert {
        "sqs:CreateQueue",
        "sqs:DeleteQueue",
        "sqs:TagQueue",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "iam:PassRole",
        "sts:AssumeRole",
        "s3:PutObject",
        "secretsmanager:GetSecretValue",
    } <= actions
    queue_admin = next(s for s in statements if "sqs:CreateQueue" in as_list(s["Action"]))
    assert "phi-dev-agent-*" in json.dumps(queue_admin["Resource"])
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    schedules = next(s for s in statements if "scheduler:CreateSchedule" in as_list(s["Action"]))
    assert ":schedule/phi-dev/*" in json.dumps(schedules["Resource"])
    # The agents' DLQ is outside the prefix the API may delete.
    template = Template.from_json(dev.template_json)
    template.has_resource_properties("AWS::SQS::Queue", {"QueueName": "phi-dev-dlq-agent-tasks"})


def test_webhook_secrets_are_encrypted_by_the_api_and_decrypted_by_think_only(dev: Synthesis) -> None:
    """The secrets key: rotated yearly, retained; the API may only encrypt with it and Think only decrypt, each
    under the webhook secrets' encryption-context purpose; no other function may use it."""
    keys = {
        logical_id: resource
        for logical_id, resource in dev.resources("AWS::KMS::Key").items()
        if "organisations' secrets" in resource["Properties"].get("Description", "")
    }
    assert len(keys) == 1
    ((key_id, key),) = keys.items()
    assert key["Properties"]["EnableKeyRotation"] is True and key["DeletionPolicy"] == "Retain"
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    for handler, (_, properties) in phi_functions(dev).items():
        assert properties["Environment"]["Variables"]["PHI_SECRETS_KEY_ARN"] == key_arn, handler
        on_key = [s for s in role_statements(dev, function_role(dev, handler)) if key_arn in as_list(s["Resource"])]
        expected = {Handler.API: ["kms:Encrypt"], Handler.THINK: ["kms:Decrypt"]}.get(handler)
        if expected is None:
            assert on_key == [], handler
            continue
        assert [as_list(s["Action"]) for s in on_key] == [expected], handler
        assert on_key[0]["Condition"] == {
            "StringEquals": {"kms:EncryptionContext:purpose": names.WEBHOOK_SECRET_PURPOSE}
        }


def test_local_agent_role_trusts_only_the_api_and_is_bounded(dev: Synthesis) -> None:
    api_role_id = function_role(dev, Handler.API)
    agent_role_id, agent_role = next(
        (logical_id, role)
        for logical_id, role in dev.resources("AWS::IAM::Role").items()
        if "LocalAgentRole" in logical_id
    )
    trust = agent_role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1
    assert trust[0]["Principal"] == {"AWS": {"Fn::GetAtt": [api_role_id, "Arn"]}}
    assert set(as_list(trust[0]["Action"])) == {"sts:AssumeRole", "sts:TagSession"}
    assert agent_role["Properties"]["MaxSessionDuration"] == 3600
    statements = role_statements(dev, agent_role_id)
    assert actions_of(statements) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
    assume = next(s for s in role_statements(dev, api_role_id) if "sts:AssumeRole" in as_list(s["Action"]))
    assert assume["Resource"] == {"Fn::GetAtt": [agent_role_id, "Arn"]}


def test_scheduler_group_and_role(dev: Synthesis) -> None:
    template = Template.from_json(dev.template_json)
    template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": "phi-dev"})
    role_id, role = next(
        (logical_id, role)
        for logical_id, role in dev.resources("AWS::IAM::Role").items()
        if "StartExecutionRole" in logical_id
    )
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    assert actions_of(role_statements(dev, role_id)) == {"states:StartExecution"}


def test_alarms_cover_dlqs_executions_lambdas_and_agent_queues(dev: Synthesis) -> None:
    names = {alarm["Properties"]["AlarmName"] for alarm in dev.resources("AWS::CloudWatch::Alarm").values()}
    expected = {
        "phi-dev-IngestDeadLetters",
        "phi-dev-AgentDeadLetters",
        "phi-dev-ExecutionsFailed",
        "phi-dev-AgentQueueAge",
    }
    for handler in Handler:
        label = handler.name.title().replace("_", "")
        expected |= {f"phi-dev-{label}Errors", f"phi-dev-{label}Throttles"}
    assert expected <= names
    age = next(
        alarm["Properties"]
        for alarm in dev.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["AlarmName"] == "phi-dev-AgentQueueAge"
    )
    assert "QueueName LIKE 'phi-dev-agent-%'" in age["Metrics"][0]["Expression"]
    for alarm in dev.resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"], alarm["Properties"]["AlarmName"]


def test_prod_is_multi_az_protected_and_nag_clean(prod: Synthesis) -> None:
    assert prod.validation_error is None, prod.validation_error
    template = Template.from_json(prod.template_json)
    template.has_resource_properties(
        "AWS::RDS::DBInstance", {"MultiAZ": True, "DeletionProtection": True, "BackupRetentionPeriod": 14}
    )
    template.resource_count_is("AWS::EC2::NatGateway", 2)
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
    template.has_resource_properties("AWS::ApiGateway::Stage", {"StageName": "prod"})
    assert prod.config.stack_name == "PhiAgents-prod"
    for handler, (_, properties) in phi_functions(prod).items():
        assert properties["Environment"]["Variables"]["PHI_XRAY_SDK"] == "true", handler
        assert properties["TracingConfig"] == {"Mode": "Active"}


def test_sweeper_runs_on_a_schedule_and_may_stop_executions(dev: Synthesis) -> None:
    sweeper_id, _ = phi_functions(dev)[Handler.SWEEPER]
    (rule,) = dev.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [sweeper_id, "Arn"]}
    statements = role_statements(dev, function_role(dev, Handler.SWEEPER))
    # it asks how each execution of a running task ended (describe_execution) and stops overdue ones
    for action in ("states:DescribeExecution", "states:StopExecution"):
        granted = [s for s in statements if action in as_list(s["Action"])]
        assert granted and all(":execution:phi-dev-agent-task:*" in json.dumps(s["Resource"]) for s in granted), action


def test_approvals_complete_task_tokens_of_the_agent_task_state_machine_only(dev: Synthesis) -> None:
    (logical_id,) = dev.resources("AWS::StepFunctions::StateMachine")
    api_statements = role_statements(dev, function_role(dev, Handler.API))
    respond = [s for s in api_statements if any(a.startswith("states:SendTask") for a in as_list(s["Action"]))]
    assert {"states:SendTaskSuccess", "states:SendTaskFailure"} <= actions_of(respond)
    assert "states:SendTaskHeartbeat" not in actions_of(api_statements)
    # CDK merges them with StartExecution: the one resource they share is the agent-task state machine.
    assert all(as_list(s["Resource"]) == [{"Ref": logical_id}] for s in respond)
    # The await-approval function completes a token only when a retried step finds the decision taken: the same
    # two actions on the same state machine (named, not referenced: the state machine names the function)
    approval_statements = role_statements(dev, function_role(dev, Handler.AWAIT_APPROVAL))
    states_actions = {a for a in actions_of(approval_statements) if a.startswith("states:")}
    assert states_actions == {"states:SendTaskSuccess", "states:SendTaskFailure"}
    (own,) = [s for s in approval_statements if any(a.startswith("states:") for a in as_list(s["Action"]))]
    assert ":stateMachine:phi-dev-agent-task" in json.dumps(own["Resource"])
    # The state machine waits on it with a task token, for as long as the node says.
    definition = json.loads(
        state_machine_definition(STATE_MACHINE_FILE.read_text(), {p: "arn" for p in names.FUNCTION_PLACEHOLDERS})
    )
    await_approval = definition["States"]["AwaitApproval"]
    assert await_approval["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert await_approval["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert await_approval["TimeoutSecondsPath"] == "$.think.approval.timeout_seconds"
    assert [c["Next"] for c in await_approval["Catch"]] == ["NextStep"]


def _alarm(synthesis: Synthesis, name: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for a in synthesis.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == f"{synthesis.config.prefix}-{name}"
    ]
    return alarm


def test_the_database_and_its_proxy_alarm_to_the_alarm_topic(dev: Synthesis, prod: Synthesis) -> None:
    """CPU, storage and memory of the instance, its CPU credits (t classes, which RDS runs in unlimited mode:
    running out costs surplus credits), and sessions the proxy pins (README, Security: watch it)."""
    gib = 1024**3
    for synthesis, memory_gib, credits_per_hour in ((dev, 1, 12), (prod, 4, 24)):
        (instance_id,) = synthesis.resources("AWS::RDS::DBInstance")
        (proxy_id,) = synthesis.resources("AWS::RDS::DBProxy")
        (topic_id,) = synthesis.resources("AWS::SNS::Topic")
        on_instance = [{"Name": "DBInstanceIdentifier", "Value": {"Ref": instance_id}}]
        expected = {
            "DatabaseCpuHigh": ("CPUUtilization", on_instance, "GreaterThanOrEqualToThreshold", 80),
            "DatabaseFreeStorageLow": (
                "FreeStorageSpace",
                on_instance,
                "LessThanOrEqualToThreshold",
                0.1 * synthesis.config.db_allocated_storage_gb * gib,
            ),
            "DatabaseFreeableMemoryLow": (
                "FreeableMemory",
                on_instance,
                "LessThanOrEqualToThreshold",
                0.1 * memory_gib * gib,
            ),
            "DatabaseCpuCreditsLow": ("CPUCreditBalance", on_instance, "LessThanThreshold", 2 * credits_per_hour),
            "ProxySessionsPinned": (
                "DatabaseConnectionsCurrentlySessionPinned",
                [{"Name": "ProxyName", "Value": {"Ref": proxy_id}}],
                "GreaterThanOrEqualToThreshold",
                10,
            ),
        }
        for name, (metric, dimensions, comparison, threshold) in expected.items():
            alarm = _alarm(synthesis, name)
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == ("AWS/RDS", metric, dimensions)
            assert alarm["ComparisonOperator"] == comparison and alarm["Threshold"] == threshold, name
            assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        # a new t instance starts with no credits and earns them: it must not alarm in its first hours
        credits = _alarm(synthesis, "DatabaseCpuCreditsLow")
        assert credits["Period"] * credits["EvaluationPeriods"] >= 4 * 3600 and credits["Statistic"] == "Minimum"


def test_the_database_log_export_has_a_retention(dev: Synthesis, prod: Synthesis) -> None:
    for synthesis, days in ((dev, 14), (prod, 365)):
        (instance_id,) = synthesis.resources("AWS::RDS::DBInstance")
        (retention,) = [
            r["Properties"]
            for r in synthesis.resources("Custom::LogRetention").values()
            if "/postgresql" in json.dumps(r["Properties"]["LogGroupName"])
        ]
        assert retention["LogGroupName"] == {
            "Fn::Join": ["", ["/aws/rds/instance/", {"Ref": instance_id}, "/postgresql"]]
        }
        assert retention["RetentionInDays"] == days
