"""Storage: the KMS-encrypted, versioned, private documents bucket (documents and tool results), and the KMS key
of organisations' secrets kept in the database."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra_cdk.config import NONCURRENT_VERSION_EXPIRY_DAYS, TOOL_RESULTS_EXPIRY_DAYS, TOOL_RESULTS_PREFIX, StageConfig
from infra_cdk.nag import Suppression, suppress


def _retained_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    """A customer-managed key rotated yearly and kept when the stack goes: what it encrypted outlives the stack."""
    return kms.Key(
        scope, construct_id, description=description, enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN
    )


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        # Customer documents outlive the stack: the key and the bucket are retained on delete.
        self.key = _retained_key(self, "DocumentsKey", f"{config.prefix}: documents and tool results")
        # Organisations' secrets kept in the database (webhook signing secrets) are KMS ciphertexts under this key:
        # a copy of the database alone cannot sign a webhook. Retained too: the ciphertexts outlive the stack.
        self.secrets_key = _retained_key(
            self, "SecretsKey", f"{config.prefix}: organisations' secrets kept in the database"
        )
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logs can only be delivered to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365 if config.is_prod else 30))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        suppress(
            access_logs,
            [
                Suppression(
                    rule="AwsSolutions-S1",
                    reason="This is the server access log bucket itself; logging it into itself would loop.",
                )
            ],
        )
        self.bucket = s3.Bucket(
            self,
            "Documents",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            # One data key per bucket instead of one KMS request per object: KMS cost and throttling.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="documents-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_EXPIRY_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(2),
                ),
                s3.LifecycleRule(
                    id="expire-tool-results",
                    prefix=TOOL_RESULTS_PREFIX,
                    expiration=Duration.days(TOOL_RESULTS_EXPIRY_DAYS),
                ),
            ],
            cors=[
                s3.CorsRule(
                    # Browsers upload large documents straight to S3 with pre-signed URLs.
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.GET],
                    allowed_origins=config.cors_allow_origins,
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
