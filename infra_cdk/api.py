"""API: API Gateway REST API (throttled, access-logged, CORS) -> the FastAPI app in Lambda via Mangum."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra_cdk import grants
from infra_cdk.common import (
    APPROVAL_RESPONSE_ACTIONS,
    agent_queues_arn,
    executions_arn,
    schedules_arn,
    stage_log_group,
)
from infra_cdk.config import DOCUMENTS_PREFIX, REQUEST_RESULTS_PREFIX, Handler, StageConfig
from infra_cdk.lambdas import FunctionSpec, PhiFunctions
from infra_cdk.nag import Suppression, arn_of, suppress
from infra_cdk.schedules import Schedules
from infra_cdk.storage import Storage
from phi import names

API = FunctionSpec(
    handler=Handler.API,
    description="Phi Agents REST API (FastAPI through Mangum)",
    memory_mb=1024,
    # API Gateway's integration timeout; every outbound call of a request has a budget below it (phi.budgets).
    timeout_seconds=names.API_INTEGRATION_TIMEOUT_SECONDS,
)
# Lambda takes at most 6 MB in a synchronous invocation, and API Gateway hands a multipart upload to the function
# base64-encoded (4/3 larger) inside an event of headers and request context. A larger direct upload would fail in
# front of the app (API Gateway's bare 413/5xx, no CORS headers); under this limit the app answers its own readable
# 413 naming /documents/upload-url, the pre-signed path straight to S3 (up to the ingest limit, PHI_MAX_UPLOAD_BYTES
# of the ingest function). 4 MiB: base64 of it is 5.3 MiB, which leaves the event's other parts room under 6 MB.
DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024
AGENT_QUEUE_ADMIN_ACTIONS = [
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:TagQueue",
]
SCHEDULE_ACTIONS = [
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
]
EXECUTION_ACTIONS = ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"]


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: PhiFunctions,
        storage: Storage,
        schedules: Schedules,
        state_machine_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function: lambda_.Function = functions.create(
            self,
            API,
            extra_environment={
                "PHI_CORS_ALLOW_ORIGINS": ",".join(config.cors_allow_origins),
                "PHI_MAX_UPLOAD_BYTES": str(DIRECT_UPLOAD_MAX_BYTES),
            },
        )
        self._grant(config, storage, schedules, state_machine_arn)

        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.prefix}-api",
            description="Phi Agents REST API",
            handler=self.function,
            proxy=True,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            # Multipart document uploads arrive base64-encoded in the Lambda event.
            binary_media_types=["multipart/form-data", "application/octet-stream"],
            deploy_options=apigw.StageOptions(
                stage_name=config.stage.value,
                throttling_rate_limit=config.api_rate_limit_rps,
                throttling_burst_limit=config.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(stage_log_group(self, "AccessLogs", config)),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
            # The same policy as the app's CORSMiddleware (phi.names): bearer tokens, no credentialed requests.
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=config.cors_allow_origins,
                allow_methods=list(names.CORS_ALLOW_METHODS),
                allow_headers=list(names.CORS_ALLOW_HEADERS),
                allow_credentials=names.CORS_ALLOW_CREDENTIALS,
            ),
        )
        self._cors_on_gateway_errors(config)
        self._suppress_findings(config, storage)

    def _cors_on_gateway_errors(self, config: StageConfig) -> None:
        """The errors API Gateway answers itself (throttling 429, the 29 s integration timeout 504, a function that
        fails before the app runs 502, a body over 10 MB 413) carry no CORS headers by default: the browser hides
        them, and the web app sees a bare network/CORS error instead of the status. With one origin it is named;
        with several the request's Origin is echoed (these bodies are API Gateway's own messages, and the API
        takes bearer tokens, never credentials, so nothing more is readable than the status)."""
        origins = config.cors_allow_origins
        allow_origin = f"'{origins[0]}'" if len(origins) == 1 else "method.request.header.Origin"
        for construct_id, response_type in (
            ("GatewayErrors4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("GatewayErrors5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.rest_api.add_gateway_response(
                construct_id,
                type=response_type,
                response_headers={"Access-Control-Allow-Origin": allow_origin, "Vary": "'Origin'"},
            )

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _grant(self, config: StageConfig, storage: Storage, schedules: Schedules, state_machine_arn: str) -> None:
        role = self.function.role
        assert role is not None
        statements = [
            iam.PolicyStatement(actions=AGENT_QUEUE_ADMIN_ACTIONS, resources=[agent_queues_arn(config)]),
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[state_machine_arn]),
            # A person's decision completes the task token an AwaitApproval step waits on.
            iam.PolicyStatement(actions=APPROVAL_RESPONSE_ACTIONS, resources=[state_machine_arn]),
            iam.PolicyStatement(actions=EXECUTION_ACTIONS, resources=[executions_arn(config)]),
            iam.PolicyStatement(actions=SCHEDULE_ACTIONS, resources=[schedules_arn(config)]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[schedules.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            ),
        ]
        for statement in statements:
            role.add_to_principal_policy(statement)
        # Objects by what the API does with them: stores and deletes uploaded documents (and pre-signs their upload),
        # pre-signs the download of ad-hoc requests' results. Tool results and everything else are Think's.
        grants.objects(
            self.function,
            storage.bucket,
            storage.key,
            actions=["s3:PutObject", "s3:DeleteObject"],
            prefixes=[DOCUMENTS_PREFIX],
        )
        grants.objects(
            self.function, storage.bucket, storage.key, actions=["s3:GetObject"], prefixes=[REQUEST_RESULTS_PREFIX]
        )
        # Rotating an organisation's webhook secret stores it encrypted; only Think decrypts it (to sign).
        grants.org_secrets(self.function, storage.secrets_key, encrypt=True, purpose=names.WEBHOOK_SECRET_PURPOSE)

    def _suppress_findings(self, config: StageConfig, storage: Storage) -> None:
        suppress(
            self.function,
            [
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason="Run-time resources the API manages by name pattern: the stage's agent queues "
                    f"({config.agent_queue_prefix}*), executions of the one state machine, schedules in the "
                    "stage's group, uploaded documents and ad-hoc requests' results (one key each).",
                    findings=[
                        "Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:"
                        f"{config.agent_queue_prefix}*",
                        "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                        f"{config.state_machine_name}:*",
                        "Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/"
                        f"{config.scheduler_group_name}/*",
                        arn_of(storage.bucket, f"/{DOCUMENTS_PREFIX}*"),
                        arn_of(storage.bucket, f"/{REQUEST_RESULTS_PREFIX}*"),
                    ],
                )
            ],
        )
        suppress(
            self.rest_api,
            [
                Suppression(
                    rule="AwsSolutions-APIG2",
                    reason="Every request is validated by the FastAPI app's pydantic models (one proxy route).",
                ),
                Suppression(
                    rule="AwsSolutions-APIG4",
                    reason="The app authenticates every route itself (JWT for users, agent keys for local "
                    "agents); /auth/signup and /auth/login and CORS preflight must stay open.",
                ),
                Suppression(
                    rule="AwsSolutions-COG4",
                    reason="Users authenticate with the app's own JWTs, not a Cognito user pool.",
                ),
                Suppression(
                    rule="AwsSolutions-APIG3",
                    reason="No WAF web ACL by default (about 6 USD/month plus requests); stage throttling "
                    "limits abuse. Associate a web ACL for internet-facing production.",
                ),
                Suppression(
                    rule="AwsSolutions-IAM4",
                    reason="API Gateway's account-level CloudWatch role uses the AWS managed policy "
                    "AmazonAPIGatewayPushToCloudWatchLogs, which is what that role is for.",
                    findings=[
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                    ],
                ),
            ],
        )
