"""Data: the VPC, RDS PostgreSQL 16 (pgvector) behind RDS Proxy, and migrations on every deploy."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra_cdk.common import data_removal_policy, stage_log_group
from infra_cdk.config import (
    DB_ADMIN_USER,
    DB_INSTANCE_PORT,
    DB_NAME,
    DB_PROXY_PORT,
    MIGRATIONS_DIR,
    StageConfig,
)
from infra_cdk.lambdas import layer_distribution_version
from infra_cdk.nag import Suppression, arn_of, suppress

# The major version only: RDS creates the instance at its default 16 minor and upgrades minors in the maintenance
# window (auto_minor_version_upgrade), so the template never names a retired minor nor drifts from the instance.
# pgvector 0.8 (iterative index scans, README) is in every 16 minor from 16.5 on.
POSTGRES_VERSION = rds.PostgresEngineVersion.VER_16

# aws-cdk-lib's custom resource provider framework function (cr.Provider's onEvent) runs at most this long; it is
# not configurable. The migrate function's timeout is below it (names.MIGRATE_TIMEOUT_SECONDS).
PROVIDER_FRAMEWORK_TIMEOUT = Duration.minutes(15)

# LangGraph's PostgreSQL checkpointer, whose tables the migrate function sets up (phi.db.migrate).
CHECKPOINTER = "langgraph-checkpoint-postgres"

PRIVATE_APP_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
ISOLATED_DB_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


class Data(Construct):
    """Network and database. Lambdas join ``lambda_security_group`` to reach the proxy."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
                ec2.SubnetConfiguration(name="db", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            # S3 traffic (documents, tool results) stays off the NAT gateways, which bill per GB.
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        self.vpc.add_flow_log(
            "RejectedTrafficFlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(stage_log_group(self, "FlowLogs", config)),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        self.lambda_security_group = ec2.SecurityGroup(
            self, "LambdaSecurityGroup", vpc=self.vpc, description="Phi Lambda functions", allow_all_outbound=True
        )
        proxy_security_group = ec2.SecurityGroup(
            self, "ProxySecurityGroup", vpc=self.vpc, description="RDS Proxy", allow_all_outbound=True
        )
        db_security_group = ec2.SecurityGroup(
            self, "DatabaseSecurityGroup", vpc=self.vpc, description="RDS PostgreSQL", allow_all_outbound=False
        )

        self.instance = rds.DatabaseInstance(
            self,
            "Postgres",
            engine=rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION),
            instance_type=ec2.InstanceType(config.db_instance_class),
            vpc=self.vpc,
            vpc_subnets=ISOLATED_DB_SUBNETS,
            security_groups=[db_security_group],
            port=DB_INSTANCE_PORT,
            database_name=DB_NAME,
            credentials=rds.Credentials.from_generated_secret(DB_ADMIN_USER, secret_name=f"{config.prefix}/db/admin"),
            storage_encrypted=True,
            allocated_storage=config.db_allocated_storage_gb,
            max_allocated_storage=config.db_max_allocated_storage_gb,
            storage_type=rds.StorageType.GP3,
            multi_az=config.db_multi_az,
            backup_retention=Duration.days(config.db_backup_retention_days),
            deletion_protection=config.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=["postgresql"],
            # RDS creates the export's log group (/aws/rds/instance/<id>/postgresql) with no expiry; a CDK custom
            # resource gives it the stage's retention (the group itself outlives the stack, its events expire).
            cloudwatch_logs_retention=logs.RetentionDays[config.log_retention],
            enable_performance_insights=config.is_prod,
            parameter_group=rds.ParameterGroup(
                self,
                "Parameters",
                engine=rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION),
                parameters={"rds.force_ssl": "1"},
            ),
        )
        secret = self.instance.secret
        assert secret is not None, "from_generated_secret always creates a secret"
        # prod's final snapshot is restored with this password; CloudFormation would delete the secret at once.
        # (``instance.secret`` is its attachment to the instance; the generated secret is the instance's child.)
        generated = self.instance.node.find_child("Secret")
        assert isinstance(generated, rds.DatabaseSecret), "from_generated_secret names its secret 'Secret'"
        generated.apply_removal_policy(data_removal_policy(config))
        self.secret: secretsmanager.ISecret = secret

        self.proxy = self.instance.add_proxy(
            "Proxy",
            secrets=[self.secret],
            vpc=self.vpc,
            vpc_subnets=PRIVATE_APP_SUBNETS,
            security_groups=[proxy_security_group],
            require_tls=True,
            # Lambdas hold connections only while they run; the proxy multiplexes them.
            idle_client_timeout=Duration.minutes(30),
            max_connections_percent=90,
            debug_logging=False,
        )
        # add_proxy already lets the proxy's security group reach the instance's port (one ingress rule).
        proxy_security_group.add_ingress_rule(
            self.lambda_security_group, ec2.Port.tcp(DB_PROXY_PORT), "Lambda functions to RDS Proxy"
        )
        self.proxy_security_group = proxy_security_group
        target_group = self.proxy.node.find_child("ProxyTargetGroup")
        assert isinstance(target_group, rds.CfnDBProxyTargetGroup), "aws-cdk-lib names the proxy's target group"
        self.proxy_target_group = target_group
        self._suppress_findings(config)

    def _suppress_findings(self, config: StageConfig) -> None:
        reasons = [
            Suppression(
                rule="AwsSolutions-SMG4",
                reason="The Lambdas cache the database password for the life of an execution environment; "
                "rotating it under them would break connections until the app re-reads the secret on "
                "authentication failure. Rotate by hand (README, Deploying to AWS) until then.",
            ),
            Suppression(
                rule="AwsSolutions-RDS6",
                reason="Clients authenticate to RDS Proxy with the Secrets Manager credentials; IAM database "
                "authentication is not used by the application.",
            ),
        ]
        if not config.db_multi_az:
            reasons.append(
                Suppression(
                    rule="AwsSolutions-RDS3",
                    reason="dev runs a single-AZ instance to halve its cost; prod is Multi-AZ.",
                )
            )
        if not config.deletion_protection:
            reasons.append(
                Suppression(
                    rule="AwsSolutions-RDS10",
                    reason="dev can be torn down with `cdk destroy`; a final snapshot is still taken "
                    "(removal policy SNAPSHOT). prod has deletion protection.",
                )
            )
        suppress(self, reasons)


def migrations_hash(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """A fingerprint of the migration files, so a changed or added migration re-runs the resource."""
    digest = hashlib.sha256()
    for path in sorted(migrations_dir.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class DatabaseMigrations(Construct):
    """Runs ``phi.handlers.migrate`` (yoyo, the embedded stack's migrations) during every deploy.

    The custom resource's properties carry the migrations' hash, the database endpoint and the layer's LangGraph
    checkpointer version (whose tables migrate sets up), so CloudFormation calls the handler again whenever one
    of them changes; a failure fails the deploy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        migrate_function: lambda_.IFunction,
        data: Data,
    ) -> None:
        super().__init__(scope, construct_id)
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=migrate_function,
            log_group=stage_log_group(self, "ProviderLogs", config),
        )
        self.resource = CustomResource(
            self,
            "Run",
            service_token=provider.service_token,
            resource_type="Custom::PhiDatabaseMigrations",
            # CloudFormation's wait for an answer (one hour by default): just above the provider framework
            # function's own timeout, which answers FAILED when migrate (shorter still) runs out of time.
            service_timeout=PROVIDER_FRAMEWORK_TIMEOUT.plus(Duration.minutes(1)),
            properties={
                "MigrationsHash": migrations_hash(),
                # PostgresSaver.setup() applies the checkpointer's own migrations: a new version must run it again.
                "CheckpointerVersion": f"{CHECKPOINTER}=={layer_distribution_version(CHECKPOINTER)}",
                "DatabaseEndpoint": data.instance.db_instance_endpoint_address,
                "ProxyEndpoint": data.proxy.endpoint,
            },
        )
        # The handler connects through the proxy: its ingress rules and its target group (the proxy's link to the
        # instance, which CloudFormation otherwise creates in parallel) must exist first.
        self.resource.node.add_dependency(data.proxy_security_group)
        self.resource.node.add_dependency(data.proxy_target_group)
        suppress(
            provider,
            [
                Suppression(
                    rule="AwsSolutions-IAM4",
                    reason="The CDK custom resource provider framework function uses "
                    "AWSLambdaBasicExecutionRole to write its own logs.",
                    findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
                ),
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason="The provider framework may invoke any version of the migrate function "
                    "(<arn>:*); that is one function.",
                    findings=[arn_of(migrate_function, ":*")],
                ),
                Suppression(
                    rule="AwsSolutions-L1",
                    reason="The provider framework's runtime is chosen and updated by aws-cdk-lib.",
                ),
            ],
        )
