"""Orchestration: the Standard state machine from ``statemachines/agent_task.asl.json`` and its Lambdas."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra_cdk import grants
from infra_cdk.common import (
    APPROVAL_RESPONSE_ACTIONS,
    agent_queues_arn,
    data_removal_policy,
    executions_arn,
    state_machine_arn,
)
from infra_cdk.config import (
    ASL_PLACEHOLDERS,
    REQUEST_RESULTS_PREFIX,
    STATE_MACHINE_FILE,
    SWEEPER_INTERVAL_MINUTES,
    TOOL_RESULTS_PREFIX,
    Handler,
    StageConfig,
)
from infra_cdk.lambdas import FunctionSpec, PhiFunctions
from infra_cdk.nag import Suppression, arn_of, suppress
from infra_cdk.storage import Storage
from phi.names import (
    EXECUTION_TIMEOUT_PLACEHOLDER,
    EXECUTION_TIMEOUT_SECONDS,
    PARTITION_PLACEHOLDER,
    WEBHOOK_SECRET_PURPOSE,
)

WORKFLOW_FUNCTIONS = (
    FunctionSpec(
        handler=Handler.START_TASK,
        description="Creates or claims the task row and resolves the agent's queue",
    ),
    FunctionSpec(
        handler=Handler.THINK,
        description="Resumes the task's LangGraph graph until it needs a local tool or finishes",
        memory_mb=1024,
        # LLM calls dominate; the state machine retries only Lambda service errors.
        timeout_seconds=600,
    ),
    FunctionSpec(handler=Handler.FINISH_TASK, description="Stores output, final status"),
    FunctionSpec(handler=Handler.MARK_FAILED, description="Records the error, FAILED"),
    FunctionSpec(
        handler=Handler.AWAIT_APPROVAL,
        description="Records an approval request with the task token the execution waits on",
    ),
)
SWEEPER = FunctionSpec(
    handler=Handler.SWEEPER,
    description="Stops executions and fails tasks that passed their overall deadline",
    timeout_seconds=120,
)


class Orchestration(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        storage: Storage,
        functions: PhiFunctions,
    ) -> None:
        super().__init__(scope, construct_id)
        self.workflow_functions: dict[Handler, lambda_.Function] = {
            spec.handler: functions.create(self, spec) for spec in WORKFLOW_FUNCTIONS
        }
        think = self.workflow_functions[Handler.THINK]
        # Think reads large tool results and pre-signs the upload URLs local agents put them to; it writes the
        # full results of ad-hoc requests (the API pre-signs their downloads).
        grants.objects(
            think,
            storage.bucket,
            storage.key,
            actions=["s3:GetObject", "s3:PutObject"],
            prefixes=[TOOL_RESULTS_PREFIX, REQUEST_RESULTS_PREFIX],
        )
        # Think signs webhooks with the organisation's secret, stored encrypted by the API.
        grants.org_secrets(think, storage.secrets_key, encrypt=False, purpose=WEBHOOK_SECRET_PURPOSE)

        self.agent_dead_letter_queue = sqs.Queue(
            self,
            "AgentDeadLetterQueue",
            queue_name=config.agent_dlq_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            # "byQueue" would cap the sources at 10 queue ARNs; agent queues come and go at run time.
            redrive_allow_policy=sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.ALLOW_ALL),
        )

        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"/aws/vendedlogs/states/{config.state_machine_name}",
            retention=logs.RetentionDays[config.log_retention],
            removal_policy=data_removal_policy(config),
        )
        self.state_machine = sfn.StateMachine(
            self,
            "AgentTask",
            state_machine_name=config.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(STATE_MACHINE_FILE)),
            # The execution timeout lives in the file (TimeoutSeconds): from_file ignores `timeout=`.
            definition_substitutions={
                **{
                    placeholder: self.workflow_functions[handler].function_arn
                    for placeholder, handler in ASL_PLACEHOLDERS.items()
                },
                EXECUTION_TIMEOUT_PLACEHOLDER: str(EXECUTION_TIMEOUT_SECONDS),
                PARTITION_PLACEHOLDER: Aws.PARTITION,
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group,
                level=sfn.LogLevel.ALL,
                # Payloads carry customers' warehouse data; task_events in PostgreSQL is the audit trail.
                include_execution_data=False,
            ),
        )
        self.state_machine.apply_removal_policy(RemovalPolicy.DESTROY)
        # The ASL comes from a file, so CDK cannot infer these; only the unqualified ARNs it names.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in self.workflow_functions.values()],
            )
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[agent_queues_arn(config)])
        )
        # A retried AwaitApproval step (a new token) that finds the decision already taken completes that token
        self.workflow_functions[Handler.AWAIT_APPROVAL].add_to_role_policy(
            iam.PolicyStatement(actions=APPROVAL_RESPONSE_ACTIONS, resources=[state_machine_arn(config)])
        )
        self.sweeper = self._sweeper(config, functions)
        self._suppress_findings(config, storage)

    def _sweeper(self, config: StageConfig, functions: PhiFunctions) -> lambda_.Function:
        sweeper = functions.create(self, SWEEPER)
        # DescribeExecution: a task whose execution ended without recording it is failed at the next sweep, not at
        # its overall deadline; StopExecution: an overdue one is stopped.
        sweeper.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions_arn(config)]
            )
        )
        events.Rule(
            self,
            "SweeperSchedule",
            description="Fails agent tasks that passed their overall deadline",
            schedule=events.Schedule.rate(Duration.minutes(SWEEPER_INTERVAL_MINUTES)),
            targets=[targets.LambdaFunction(sweeper, retry_attempts=0)],
        )
        suppress(
            sweeper,
            [
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason="Stops whichever execution of the agent task state machine is overdue; executions "
                    "are created at run time.",
                    findings=[
                        "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                        f"{config.state_machine_name}:*"
                    ],
                )
            ],
        )
        return sweeper

    def _suppress_findings(self, config: StageConfig, storage: Storage) -> None:
        suppress(
            self.workflow_functions[Handler.THINK],
            [
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason="Tool results get one object key per tool call under tool-results/, ad-hoc request "
                    "results one per task under request-results/.",
                    findings=[
                        arn_of(storage.bucket, f"/{TOOL_RESULTS_PREFIX}*"),
                        arn_of(storage.bucket, f"/{REQUEST_RESULTS_PREFIX}*"),
                    ],
                )
            ],
        )
        suppress(
            self.agent_dead_letter_queue,
            [Suppression(rule="AwsSolutions-SQS3", reason="This queue is the agents' dead-letter queue.")],
        )
        suppress(
            self.state_machine,
            [
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason=f"Per-agent queues are created at run time by the API, all named "
                    f"{config.agent_queue_prefix}*; the ASL sends to the task's queue (QueueUrl.$). "
                    "X-Ray and CloudWatch Logs delivery actions do not support resource-level permissions.",
                    findings=[
                        "Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:"
                        f"{config.agent_queue_prefix}*",
                        "Resource::*",
                    ],
                )
            ],
        )
