"""Observability: alarms (to an SNS topic) and one dashboard for the whole stage."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra_cdk.config import AGENT_QUEUE_AGE_ALARM_SECONDS, Handler, StageConfig

PERIOD = Duration.minutes(5)
GIB = 1024**3

# Burstable (t3, t4g) DB instance classes by size: memory (GiB) and CPU credits earned per hour.
BURSTABLE_MEMORY_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
BURSTABLE_CREDITS_PER_HOUR = {"micro": 12, "small": 24, "medium": 24, "large": 36, "xlarge": 96, "2xlarge": 192}
# Any other class has at least this much memory (the smallest m and r classes: 8 and 16 GiB).
OTHER_CLASS_MEMORY_GIB = 8
# Sessions RDS Proxy pins (README, Security): a few pass; this many, held for PINNED_MINUTES, means requests pin.
PINNED_SESSIONS_ALARM = 10
PINNED_MINUTES = 15


def burstable_size(instance_class: str) -> str | None:
    """'t4g.micro' → 'micro'; None for a class that is not burstable (or a size not in the tables)."""
    family, _, size = instance_class.removeprefix("db.").partition(".")
    return size if family.startswith("t") and size in BURSTABLE_MEMORY_GIB else None


def agent_queue_age_query(config: StageConfig) -> str:
    """Metrics Insights: the oldest message over all agent queues, which come and go at run time."""
    return (
        'SELECT MAX(ApproximateAgeOfOldestMessage) FROM SCHEMA("AWS/SQS", QueueName) '
        f"WHERE QueueName LIKE '{config.agent_queue_prefix}%'"
    )


def pinned_sessions(proxy: rds.DatabaseProxy) -> cloudwatch.Metric:
    """Sessions the proxy pins to one database connection, summed over the proxy's nodes (each publishes its own)
    each minute."""
    return cloudwatch.Metric(
        namespace="AWS/RDS",
        metric_name="DatabaseConnectionsCurrentlySessionPinned",
        dimensions_map={"ProxyName": proxy.db_proxy_name},
        statistic="Sum",
        period=Duration.minutes(1),
    )


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: Mapping[Handler, lambda_.IFunction],
        state_machine: sfn.StateMachine,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        ingest_queue: sqs.IQueue,
        rest_api: apigw.RestApi,
        database: rds.DatabaseInstance,
        database_proxy: rds.DatabaseProxy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.topic = self._alarm_topic(config)
        self.alarms: list[cloudwatch.Alarm] = []

        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                threshold=1,
                description=f"Messages in the {name} dead-letter queue: they failed repeatedly.",
            )
        self._alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=PERIOD, statistic="Sum"),
            threshold=1,
            description="Agent task executions failed.",
        )
        self._alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
            threshold=1,
            description="Agent task executions hit the state machine timeout.",
        )
        for handler, function in functions.items():
            label = handler.name.title().replace("_", "")
            self._alarm(
                f"{label}Errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{handler.value} raised errors.",
            )
            self._alarm(
                f"{label}Throttles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{handler.value} was throttled.",
            )
        agent_queue_age = cloudwatch.MathExpression(
            expression=agent_queue_age_query(config),
            using_metrics={},
            label="Oldest message in any agent queue (s)",
            period=PERIOD,
        )
        self._alarm(
            "AgentQueueAge",
            agent_queue_age,
            threshold=AGENT_QUEUE_AGE_ALARM_SECONDS,
            description="A tool request waited too long in an agent queue: is that local agent running?",
        )
        self._alarm(
            "Api5xx",
            rest_api.metric_server_error(period=PERIOD, statistic="Sum"),
            threshold=5,
            description="The REST API answered 5xx.",
        )
        self._database_alarms(config, database, database_proxy)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{config.prefix}-overview", default_interval=Duration.hours(6)
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[rest_api.metric_count(period=PERIOD)],
                right=[rest_api.metric_client_error(period=PERIOD), rest_api.metric_server_error(period=PERIOD)],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency (p50, p99)",
                left=[
                    rest_api.metric_latency(period=PERIOD, statistic="p50"),
                    rest_api.metric_latency(period=PERIOD, statistic="p99"),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Agent task executions",
                left=[
                    state_machine.metric_started(period=PERIOD),
                    state_machine.metric_succeeded(period=PERIOD),
                    state_machine.metric_failed(period=PERIOD),
                    state_machine.metric_timed_out(period=PERIOD),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Agent queues: oldest message (s)", left=[agent_queue_age], width=12),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[function.metric_errors(period=PERIOD) for function in functions.values()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p99",
                left=[function.metric_duration(period=PERIOD, statistic="p99") for function in functions.values()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda throttles",
                left=[function.metric_throttles(period=PERIOD) for function in functions.values()],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Ingest queue",
                left=[
                    ingest_queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                    ingest_queue.metric_approximate_age_of_oldest_message(period=PERIOD),
                ],
                right=[
                    queue.metric_approximate_number_of_messages_visible(period=PERIOD, label=f"{name} DLQ")
                    for name, queue in dead_letter_queues.items()
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Database",
                left=[database.metric_cpu_utilization(period=PERIOD)],
                right=[
                    database.metric_database_connections(period=PERIOD),
                    database.metric_free_storage_space(period=PERIOD),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Database memory and CPU credits",
                left=[database.metric_freeable_memory(period=PERIOD)],
                right=[database.metric("CPUCreditBalance", period=PERIOD)],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Proxy: sessions pinned",
                left=[pinned_sessions(database_proxy)],
                width=12,
            ),
        )

    def _database_alarms(self, config: StageConfig, database: rds.DatabaseInstance, proxy: rds.DatabaseProxy) -> None:
        size = burstable_size(config.db_instance_class)
        memory_gib = BURSTABLE_MEMORY_GIB[size] if size else OTHER_CLASS_MEMORY_GIB
        self._alarm(
            "DatabaseCpuHigh",
            database.metric_cpu_utilization(period=PERIOD, statistic="Average"),
            threshold=80,
            evaluation_periods=3,
            description="The database's CPU was at 80 % or more for 15 minutes.",
        )
        self._alarm(
            "DatabaseFreeStorageLow",
            database.metric_free_storage_space(period=PERIOD, statistic="Minimum"),
            # Storage autoscaling adds space below 10 % of the allocation (at most every 6 hours, up to the
            # maximum): this fires when it has not, or cannot.
            threshold=0.1 * config.db_allocated_storage_gb * GIB,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=2,
            description="The database's free storage is at 10 % of its first allocation or less: storage "
            "autoscaling has not added space (or has reached its maximum).",
        )
        self._alarm(
            "DatabaseFreeableMemoryLow",
            database.metric_freeable_memory(period=PERIOD, statistic="Minimum"),
            threshold=0.1 * memory_gib * GIB,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=3,
            description=f"The database's freeable memory was at 10 % of {memory_gib} GiB or less for 15 minutes.",
        )
        if size is not None:
            credits_per_hour = BURSTABLE_CREDITS_PER_HOUR[size]
            self._alarm(
                "DatabaseCpuCreditsLow",
                database.metric("CPUCreditBalance", period=Duration.hours(1), statistic="Minimum"),
                # A new instance starts with no credits and earns them: idle, it is above two hours' worth
                # within three hours, so only a balance held low for four hours fires.
                threshold=2 * credits_per_hour,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=4,
                description=f"The database's CPU credits stayed under two hours' earnings ({2 * credits_per_hour}) "
                "for four hours: it runs above its baseline, and RDS bills the surplus credits of its "
                "unlimited mode. Consider a larger class (dbInstanceClass).",
            )
        self._alarm(
            "ProxySessionsPinned",
            pinned_sessions(proxy),
            threshold=PINNED_SESSIONS_ALARM,
            evaluation_periods=PINNED_MINUTES,
            description=f"RDS Proxy held {PINNED_SESSIONS_ALARM} or more sessions pinned for {PINNED_MINUTES} "
            "minutes: it cannot share their connections. See README, Security (bounded database time).",
        )

    def _alarm_topic(self, config: StageConfig) -> sns.Topic:
        # CloudWatch can publish to an encrypted topic only through a customer managed key it may use.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"{config.prefix}: alarm notifications",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],
            )
        )
        topic = sns.Topic(self, "AlarmTopic", topic_name=f"{config.prefix}-alarms", master_key=key, enforce_ssl=True)
        if config.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        return topic

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_name=f"{self._config.prefix}-{construct_id}",
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
