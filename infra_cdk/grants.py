"""Least-privilege grants written out action by action.

The CDK ``grant_*`` helpers hand out wildcard actions (``s3:GetObject*``, ``kms:ReEncrypt*``); the
data resources here get only the named actions each function uses.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
KMS_DECRYPT_ACTIONS = ["kms:Decrypt"]
KMS_ENCRYPT_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


def read_secrets(grantee: iam.IGrantable, secrets: Iterable[secretsmanager.ISecret]) -> None:
    arns = [secret.secret_arn for secret in secrets]
    if arns:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=SECRET_READ_ACTIONS, resources=arns)
        )


def objects(
    grantee: iam.IGrantable,
    bucket: s3.IBucket,
    key: kms.IKey,
    *,
    actions: list[str],
    prefixes: Iterable[str] = ("",),
) -> None:
    """Object-level S3 actions under the given key prefixes, plus the KMS use they imply."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{p}*") for p in prefixes])
    )
    writes = any(action in ("s3:PutObject",) for action in actions)
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=KMS_ENCRYPT_ACTIONS if writes else KMS_DECRYPT_ACTIONS, resources=[key.key_arn])
    )


def org_secrets(grantee: iam.IGrantable, key: kms.IKey, *, encrypt: bool, purpose: str) -> None:
    """Organisations' secrets kept in the database (phi.secrets): kms:Encrypt for the function that stores them,
    kms:Decrypt for the one that uses them, each only under the encryption context's `purpose`."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt"] if encrypt else ["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:EncryptionContext:purpose": purpose}},
        )
    )
