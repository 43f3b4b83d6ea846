"""Schedules: the EventBridge Scheduler group the API writes agents' schedules into, and their role."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra_cdk.common import data_removal_policy
from infra_cdk.config import StageConfig


class Schedules(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, state_machine: sfn.IStateMachine
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.ScheduleGroup(
            self,
            "Group",
            schedule_group_name=config.scheduler_group_name,
            removal_policy=data_removal_policy(config),
        )
        self.role = iam.Role(
            self,
            "StartExecutionRole",
            description=f"{config.prefix}: EventBridge Scheduler starts agent task executions",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                # Confused-deputy guard: only this account's schedules in this group. Scheduler presents the
                # schedule *group's* ARN as aws:SourceArn (its user guide: "must be a schedule group", never a
                # schedule); a schedule/<group>/* pattern never matches, and every scheduled run would fail to
                # assume this role.
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": self.group.schedule_group_arn},
                },
            ),
        )
        state_machine.grant_start_execution(self.role)
