"""Small helpers shared by the constructs: log groups, removal policies, ARNs of run-time resources."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra_cdk.config import StageConfig


def data_removal_policy(config: StageConfig) -> RemovalPolicy:
    """Production keeps logs and layers when the stack goes; dev cleans up after itself."""
    return RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY


def stage_log_group(scope: Construct, construct_id: str, config: StageConfig) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        construct_id,
        retention=logs.RetentionDays[config.log_retention],
        removal_policy=data_removal_policy(config),
    )


def agent_queues_arn(config: StageConfig) -> str:
    """Every per-agent queue the API creates at run time (``phi-<stage>-agent-*``)."""
    return f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:{Aws.ACCOUNT_ID}:{config.agent_queue_prefix}*"


def schedules_arn(config: StageConfig) -> str:
    return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{config.scheduler_group_name}/*"


# What completes the task token an AwaitApproval step waits on: a person's decision (the API), or a retried step
# that finds the decision already taken (the await-approval function).
APPROVAL_RESPONSE_ACTIONS = ["states:SendTaskSuccess", "states:SendTaskFailure"]


def state_machine_arn(config: StageConfig) -> str:
    """The agent task state machine's ARN by its name: for its own functions' policies, which a reference would
    make a dependency cycle (the state machine names the functions)."""
    return f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:{config.state_machine_name}"


def executions_arn(config: StageConfig) -> str:
    return f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:{config.state_machine_name}:*"


def ses_identities_arn() -> str:
    """Every SES identity (domain or address) of this account and region. SES authorises a send against the From
    address's own identity when it is verified (else its domain's) and, in the sandbox, against each recipient's
    too; the policy's ses:FromAddress condition is what pins the sender."""
    return f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:identity/*"
