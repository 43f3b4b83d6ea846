"""The Phi Agents stack: wires the constructs of each concern together and exports what clients need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, CfnOutput, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra_cdk import grants
from infra_cdk.agent_access import AgentAccess
from infra_cdk.api import Api
from infra_cdk.common import ses_identities_arn
from infra_cdk.config import (
    DB_NAME,
    DOCUMENTS_PREFIX,
    PROJECT,
    TOOL_RESULTS_PREFIX,
    Handler,
    StageConfig,
    sender_address,
)
from infra_cdk.data import Data, DatabaseMigrations
from infra_cdk.ingest import Ingest
from infra_cdk.lambdas import FunctionSpec, PhiFunctions
from infra_cdk.nag import Suppression, suppress
from infra_cdk.observability import Observability
from infra_cdk.orchestration import Orchestration
from infra_cdk.schedules import Schedules
from infra_cdk.storage import Storage
from phi import names

# The offline embedding model that fits Lambda (phi.embeddings.local.WORDLLAMA; its package is in the layer).
LAMBDA_LOCAL_EMBEDDING_MODEL = "wordllama-l2-supercat-256"

# The functions that call an LLM (phi.llm: requests, profiles, workflow nodes): the routes and their keys are theirs.
LLM_CALLERS = (Handler.API, Handler.THINK)

MIGRATE = FunctionSpec(
    handler=Handler.MIGRATE,
    description="Applies the versioned SQL migrations (yoyo) during deploys",
    # On a first deploy it waits for RDS Proxy's new target (phi.db.migrate.CONNECT_BUDGET_SECONDS); a minute or
    # more below the provider framework function's 900 s, so the framework answers CloudFormation when it fails.
    timeout_seconds=names.MIGRATE_TIMEOUT_SECONDS,
)


class PhiStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=f"Phi Agents ({config.stage.value})", **kwargs)
        self.config = config
        for key, value in {"project": PROJECT, "stage": config.stage.value}.items():
            # CloudFormation rejects Tags on proxy target groups although the L1 construct offers them.
            Tags.of(self).add(key, value, exclude_resource_types=["AWS::RDS::DBProxyTargetGroup"])

        data = Data(self, "Data", config=config)
        storage = Storage(self, "Storage", config=config)
        jwt_secret = secretsmanager.Secret(
            self,
            "JwtSigningSecret",
            secret_name=f"{config.prefix}/jwt-signing-key",
            description="HMAC key that signs the API's user tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        )
        suppress(
            jwt_secret,
            [
                Suppression(
                    rule="AwsSolutions-SMG4",
                    reason="Rotating the signing key logs every user out; it is rotated by hand "
                    "(put-secret-value) when compromised, not on a schedule.",
                )
            ],
        )
        openai_secret = (
            secretsmanager.Secret.from_secret_complete_arn(self, "OpenAiApiKey", config.openai_api_key_secret_arn)
            if config.openai_api_key_secret_arn
            else None
        )

        functions = PhiFunctions(
            self,
            "Functions",
            config=config,
            vpc=data.vpc,
            security_group=data.lambda_security_group,
            environment=_common_environment(config, data, storage),
        )
        migrate = functions.create(self, MIGRATE)
        migrations = DatabaseMigrations(self, "Migrations", config=config, migrate_function=migrate, data=data)
        ingest = Ingest(self, "Ingest", config=config, storage=storage, functions=functions)
        orchestration = Orchestration(self, "Orchestration", config=config, storage=storage, functions=functions)
        state_machine = orchestration.state_machine
        schedules = Schedules(self, "Schedules", config=config, state_machine=state_machine)
        api = Api(
            self,
            "Api",
            config=config,
            functions=functions,
            storage=storage,
            schedules=schedules,
            state_machine_arn=state_machine.state_machine_arn,
        )
        api_role = api.function.role
        assert api_role is not None
        agent_access = AgentAccess(self, "AgentAccess", config=config, api_role=api_role, state_machine=state_machine)

        _add_environment(
            api.function,
            {
                "PHI_JWT_SECRET_ARN": jwt_secret.secret_arn,
                "PHI_STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "PHI_AGENT_DLQ_ARN": orchestration.agent_dead_letter_queue.queue_arn,
                "PHI_AGENT_ROLE_ARN": agent_access.role.role_arn,
                "PHI_SCHEDULER_GROUP": schedules.group.schedule_group_name,
                "PHI_SCHEDULER_ROLE_ARN": schedules.role.role_arn,
            },
        )
        # Built from the RestApi id alone: the deployment stage depends on the API function, and
        # the workflow functions must not (API function -> state machine -> workflow functions).
        # The API function needs it most: it writes it into every agent config it serves (GET /agents/{id}/config);
        # without it a downloaded config sends the local agent to the default http://127.0.0.1:8000.
        api_url = f"https://{api.rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{config.stage.value}/"
        for function in [api.function, ingest.function, *orchestration.workflow_functions.values()]:
            function.add_environment("PHI_API_URL", api_url)

        all_functions = functions.functions
        _run_after_migrations(all_functions, migrations)
        for function in all_functions.values():
            grants.read_secrets(function, [data.secret])
        grants.read_secrets(api.function, [jwt_secret])
        if openai_secret is not None:
            for handler in (Handler.API, Handler.THINK, Handler.INGEST):
                grants.read_secrets(all_functions[handler], [openai_secret])
        route_secrets = [
            secretsmanager.Secret.from_secret_complete_arn(self, f"LlmRouteKey{index}", arn)
            for index, arn in enumerate(config.llm_route_secret_arns)
        ]
        for handler in LLM_CALLERS:
            grants.read_secrets(all_functions[handler], route_secrets)
            if config.llm_routes:  # up to kilobytes of JSON, of Lambda's 4 KB of environment: only where read
                all_functions[handler].add_environment("PHI_LLM_ROUTES", config.llm_routes)

        email_delivery = _email_delivery(config, [orchestration.workflow_functions[Handler.THINK], api.function])

        observability = Observability(
            self,
            "Observability",
            config=config,
            functions=all_functions,
            state_machine=state_machine,
            dead_letter_queues={"Ingest": ingest.dead_letter_queue, "Agent": orchestration.agent_dead_letter_queue},
            ingest_queue=ingest.queue,
            rest_api=api.rest_api,
            database=data.instance,
            database_proxy=data.proxy,
        )

        outputs = {
            "ApiUrl": (api.url, "REST API base URL: the web app's API URL and the local agent's api_url"),
            "Region": (Aws.REGION, "Region of the queues and the state machine (local agent config)"),
            "DocumentsBucketName": (storage.bucket.bucket_name, "Documents and tool results"),
            "StateMachineArn": (state_machine.state_machine_arn, "Agent task state machine"),
            "AgentQueuePrefix": (config.agent_queue_prefix, "Name prefix of per-agent SQS queues"),
            "AgentRoleArn": (agent_access.role.role_arn, "Role the API assumes for local agents"),
            "SchedulerGroupName": (schedules.group.schedule_group_name, "EventBridge Scheduler group"),
            "DatabaseProxyEndpoint": (data.proxy.endpoint, "RDS Proxy endpoint (private)"),
            "DatabaseSecretArn": (data.secret.secret_arn, "Database admin credentials"),
            "DatabaseName": (DB_NAME, "Database name"),
            "EmbeddingModel": (
                "openai" if config.openai_api_key_secret_arn else LAMBDA_LOCAL_EMBEDDING_MODEL,
                "Embeds documents and queries: WordLlama in the Lambda (no key), or OpenAI's API when a key is set",
            ),
            "AlarmTopicArn": (observability.topic.topic_arn, "Subscribe to receive alarms"),
            "DashboardName": (observability.dashboard.dashboard_name, "CloudWatch dashboard"),
            "EmailDelivery": (
                email_delivery,
                "How notify nodes' e-mails go out: through Amazon SES from the emailSender context value, or "
                "kept in the outbox (GET /orgs/{id}/outbox) when no sender is configured",
            ),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)

        _suppress_cdk_internals(self)


def _common_environment(config: StageConfig, data: Data, storage: Storage) -> dict[str, str]:
    environment = {
        "PHI_STAGE": config.stage.value,
        "PHI_DB_SECRET_ARN": data.secret.secret_arn,
        "PHI_DB_HOST": data.proxy.endpoint,
        "PHI_DB_NAME": DB_NAME,
        "PHI_AGENT_QUEUE_PREFIX": config.agent_queue_prefix,
        "PHI_DOCUMENTS_BUCKET": storage.bucket.bucket_name,
        "PHI_SECRETS_KEY_ARN": storage.secrets_key.key_arn,
        "PHI_DOCUMENTS_PREFIX": DOCUMENTS_PREFIX,
        "PHI_TOOL_RESULTS_PREFIX": TOOL_RESULTS_PREFIX,
        "PHI_LLM_PROVIDER": config.llm_provider,
        **embedding_environment(config),
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # No pydantic plugins are used; without this, the first model built at each cold start looks for their
        # entry points through every package's metadata in the layer (~15 ms of a handler's import).
        "PYDANTIC_DISABLE_PLUGINS": "1",
    }
    if config.openai_api_key_secret_arn:
        environment["PHI_OPENAI_API_KEY_SECRET_ARN"] = config.openai_api_key_secret_arn
    if config.xray_sdk:
        environment["PHI_XRAY_SDK"] = "true"
    return environment


def embedding_environment(config: StageConfig) -> dict[str, str]:
    """With an OpenAI key, OpenAI's embeddings; without one (the default deploy), WordLlama from the layer: numpy
    only, weights in the wheel, so uploads are ingested and searchable with no key (torch models do not fit)."""
    if config.openai_api_key_secret_arn:
        return {"PHI_EMBEDDING_PROVIDER": "openai"}
    return {"PHI_EMBEDDING_PROVIDER": "local", "PHI_EMBEDDING_MODEL": LAMBDA_LOCAL_EMBEDDING_MODEL}


def _email_delivery(config: StageConfig, senders: list[lambda_.Function]) -> str:
    """Notify nodes run in Think and invitations are sent by the API: with a sender, they may send through SES
    from that address only (on the account's identities: which ones SES checks depends on what is verified and on
    the sandbox); without one, e-mails are kept in the outbox. Returns what the EmailDelivery output says."""
    identity = config.email_identity
    if config.email_sender is None or identity is None:
        for function in senders:
            function.add_environment("PHI_EMAIL_DELIVERY", "outbox")
        return "outbox (no emailSender in the CDK context)"
    for function in senders:
        _add_environment(function, {"PHI_EMAIL_DELIVERY": "ses", "PHI_EMAIL_SENDER": config.email_sender})
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[ses_identities_arn()],
                conditions={"StringEquals": {"ses:FromAddress": sender_address(config.email_sender)}},
            )
        )
        suppress(
            function,
            [
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason="ses:SendEmail is authorised against the From address's identity when it is verified "
                    "(else its domain's) and, in the SES sandbox, each recipient's; the ses:FromAddress "
                    "condition limits the grant to the configured sender.",
                    findings=["Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*"],
                )
            ],
        )
    return f"ses from {config.email_sender} (identity {identity}, verified in SES by you)"


def _run_after_migrations(functions: Mapping[Handler, lambda_.Function], migrations: DatabaseMigrations) -> None:
    """Every function but ``migrate`` is created (and, on an update, gets its new code) only once the migrations
    have run: otherwise the sweeper's rule, the ingest queue's event source and the API are live while the
    database has no tables yet (errors and alarms on the very first deploy), and new code meets an old schema.
    Everything that invokes a function (rule, event source, API integration, state machine) follows it."""
    for handler, function in functions.items():
        if handler is not Handler.MIGRATE:
            function.node.add_dependency(migrations.resource)


def _add_environment(function: lambda_.Function, environment: dict[str, str]) -> None:
    for key, value in environment.items():
        function.add_environment(key, value)


def _suppress_cdk_internals(stack: Stack) -> None:
    """Findings on resources that aws-cdk-lib creates for its own custom resources."""
    suppress(
        stack,
        [
            Suppression(
                rule="AwsSolutions-IAM4",
                reason="Lambda functions (the app's and aws-cdk-lib's custom resource handlers) use the AWS "
                "managed execution policies that exist for exactly this: writing their own logs and, in "
                "the VPC, managing their network interfaces.",
                findings=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
                ],
            ),
        ],
    )
    # aws-cdk-lib's singleton handlers scope their own actions to Resource '*'.
    _suppress_resource_star(
        stack,
        "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a",
        "aws-cdk-lib's log retention handler sets the retention of the log group RDS creates for the instance's "
        "postgresql log export; it scopes its logs:PutRetentionPolicy and DeleteRetentionPolicy to Resource '*'.",
    )
    _suppress_resource_star(
        stack,
        "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",
        "aws-cdk-lib's bucket notifications handler calls s3:PutBucketNotification, which it scopes to Resource '*'.",
    )


def _suppress_resource_star(stack: Stack, child_id: str, reason: str) -> None:
    """AwsSolutions-IAM5 on `Resource::*` for one of aws-cdk-lib's singleton handlers, when the stack has it."""
    child = stack.node.try_find_child(child_id)
    if child is not None:
        suppress(child, [Suppression(rule="AwsSolutions-IAM5", reason=reason, findings=["Resource::*"])])
