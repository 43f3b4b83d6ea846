"""Local agent access: a role the API assumes for one local agent, narrowed by a session policy.

On-prem agents never hold long-lived keys: the API (after checking the agent's key) calls
``sts:AssumeRole`` on this role with a session policy naming that agent's queue and the state
machine, and hands the short-lived credentials (at most 1 hour: role chaining) to the agent.
The role's own policy is the ceiling: the stage's agent queues and task responses, nothing else.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra_cdk.common import agent_queues_arn
from infra_cdk.config import StageConfig
from infra_cdk.nag import Suppression, suppress

AGENT_QUEUE_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
TASK_RESPONSE_ACTIONS = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]


class AgentAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api_role: iam.IRole,
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "LocalAgentRole",
            description=f"{config.prefix}: assumed by the API for one local agent with a session policy",
            # Only the API's role; it may tag the session with the agent's id for CloudTrail.
            assumed_by=iam.ArnPrincipal(api_role.role_arn).with_session_tags(),
            max_session_duration=Duration.hours(1),
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=AGENT_QUEUE_ACTIONS, resources=[agent_queues_arn(config)]))
        self.role.add_to_policy(
            iam.PolicyStatement(actions=TASK_RESPONSE_ACTIONS, resources=[state_machine.state_machine_arn])
        )
        api_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole", "sts:TagSession"], resources=[self.role.role_arn])
        )
        suppress(
            self.role,
            [
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason=f"Ceiling for all local agents of the stage ({config.agent_queue_prefix}*, queues "
                    "created at run time); each session is narrowed to one queue by the session policy "
                    "the API passes to sts:AssumeRole.",
                    findings=[
                        "Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:"
                        f"{config.agent_queue_prefix}*"
                    ],
                )
            ],
        )
