"""cdk-nag acknowledgments (v3: CDK ``Validations``), each with the reason it is acceptable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct
from pydantic import BaseModel, ConfigDict


class Suppression(BaseModel):
    """A rule acknowledged on a construct; ``findings`` narrows it (e.g. ``Resource::*`` of IAM5)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    reason: str
    findings: Sequence[str] = ()

    def acknowledgment_ids(self) -> list[str]:
        return [f"{self.rule}[{finding}]" for finding in self.findings] or [self.rule]


def suppress(scope: IConstruct, suppressions: Iterable[Suppression]) -> None:
    Validations.of(scope).acknowledge(
        *[
            Acknowledgment(id=ack_id, reason=suppression.reason)
            for suppression in suppressions
            for ack_id in suppression.acknowledgment_ids()
        ]
    )


def arn_of(construct: IConstruct, suffix: str = "") -> str:
    """How cdk-nag names ``Fn::GetAtt [<logical id>, Arn]`` (plus a literal suffix) in a finding."""
    element = construct.node.default_child
    assert isinstance(element, CfnElement), f"{construct.node.path} has no CloudFormation resource"
    return f"Resource::<{Stack.of(construct).get_logical_id(element)}.Arn>{suffix}"
