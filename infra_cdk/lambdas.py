"""The one code asset and dependency layer that every Phi Lambda function shares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from pydantic import BaseModel, ConfigDict

from infra_cdk.common import data_removal_policy, stage_log_group
from infra_cdk.config import (
    CODE_ASSET_DIR,
    DEPS_LAYER_DIR,
    EXCLUDE_FROM_CODE_ASSET,
    FUNCTIONS_DIR,
    LAYER_BUILD_COMMAND,
    POWERTOOLS_METRICS_NAMESPACE,
    Handler,
    StageConfig,
)
from infra_cdk.nag import Suppression, suppress
from phi.names import Service, function_name

# The layer's wheels are built for CPython 3.12 on x86_64 (layers/build_layers.py): change both together.
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64


# Lambda refuses a function whose environment variables (keys and values, as JSON) pass 4 KB, and only when
# CloudFormation creates or updates it: mid-deploy. Synthesis checks it first, counting each value resolved at
# deploy time at its longest: a pseudo parameter at its longest value, any other reference (an ARN, an endpoint, a
# generated name of this stack's resources: a role ARN is at most ~100 characters) at DEPLOY_TIME_VALUE_CHARS.
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096
DEPLOY_TIME_VALUE_CHARS = 128
_PSEUDO_PARAMETER_CHARS = {"AWS::Region": 16, "AWS::URLSuffix": 20, "AWS::AccountId": 12, "AWS::Partition": 10}


def _stand_in(value: Any) -> str:
    """A template value as text of its longest plausible length: literal text as it is, a Join of its parts, a
    pseudo parameter at its longest, any other intrinsic (Ref, GetAtt, ...) as DEPLOY_TIME_VALUE_CHARS characters."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_stand_in(part) for part in parts)
    if isinstance(value, dict) and value.get("Ref") in _PSEUDO_PARAMETER_CHARS:
        return "x" * _PSEUDO_PARAMETER_CHARS[value["Ref"]]
    return "x" * DEPLOY_TIME_VALUE_CHARS


def estimated_environment_bytes(variables: Mapping[str, Any]) -> int:
    """A function's environment as Lambda measures it (its variables as JSON), from the template's values."""
    text = json.dumps({key: _stand_in(value) for key, value in variables.items()}, separators=(",", ":"))
    return len(text.encode())


def oversized_environments(template: Mapping[str, Any]) -> list[str]:
    """One readable problem for each function of a synthesized template whose environment would pass 4 KB."""
    problems = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        variables: dict[str, Any] = resource["Properties"].get("Environment", {}).get("Variables", {})
        size = estimated_environment_bytes(variables)
        if size > LAMBDA_ENVIRONMENT_LIMIT_BYTES:
            lengths = {name: len(_stand_in(value)) for name, value in variables.items()}
            by_size = sorted(lengths, key=lengths.__getitem__, reverse=True)
            largest = ", ".join(f"{name} ({lengths[name]} characters)" for name in by_size[:3])
            problems.append(
                f"The environment of function {logical_id} ({resource['Properties'].get('Handler')}) would be about "
                f"{size} bytes, over Lambda's 4 KB ({LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes of variables as JSON; "
                f"values resolved at deploy time counted at their longest). Largest: {largest}; the llmRoutes context "
                "value is PHI_LLM_ROUTES."
            )
    return problems


class FunctionSpec(BaseModel):
    """How one handler runs: its sizing; its Powertools service name follows from the handler."""

    model_config = ConfigDict(frozen=True)

    handler: Handler
    description: str
    memory_mb: int = 512
    timeout_seconds: int = 30

    @property
    def service(self) -> Service:
        return self.handler.service


# Every LayerMissingError ends with this: a teardown needs no build (README, Tear down).
TEAR_DOWN_WITHOUT_BUILD = (
    "To tear down without building, destroy from the deploy's cloud assembly "
    "(`npx --prefix infra_cdk cdk destroy --app cdk.out <stack>`) or delete the stack in CloudFormation."
)


class LayerMissingError(RuntimeError):
    def __init__(self, message: str) -> None:
        super().__init__(f"{message} {TEAR_DOWN_WITHOUT_BUILD}")


def dependency_layer_code() -> lambda_.Code:
    if not (DEPS_LAYER_DIR / "python").is_dir():
        raise LayerMissingError(
            f"The Lambda dependency layer is not built ({DEPS_LAYER_DIR} is missing). "
            f"Run `{LAYER_BUILD_COMMAND}` from the repository root first."
        )
    return lambda_.Code.from_asset(str(DEPS_LAYER_DIR))


def layer_distribution_version(name: str) -> str:
    """The version of a distribution installed in the built dependency layer (what the functions import)."""
    from importlib.metadata import distributions

    found = [dist.version for dist in distributions(name=name, path=[str(DEPS_LAYER_DIR / "python")])]
    if not found:
        raise LayerMissingError(
            f"{name} is not in the Lambda dependency layer ({DEPS_LAYER_DIR}). "
            f"Run `{LAYER_BUILD_COMMAND}` from the repository root first."
        )
    return found[0]


def _sources(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and path.suffix in {".py", ".sql", ".typed"} and ".egg-info" not in str(path)
    }


def function_code() -> lambda_.Code:
    """The built code asset, refused when it is not exactly today's ``functions/`` (never deploy stale code)."""
    if not CODE_ASSET_DIR.is_dir() or _sources(CODE_ASSET_DIR) != _sources(FUNCTIONS_DIR):
        raise LayerMissingError(
            f"The functions' code asset ({CODE_ASSET_DIR}) is missing or older than functions/. "
            f"Run `{LAYER_BUILD_COMMAND}` from the repository root first."
        )
    return lambda_.Code.from_asset(str(CODE_ASSET_DIR), exclude=EXCLUDE_FROM_CODE_ASSET)


class PhiFunctions(Construct):
    """Creates functions that run ``functions/`` with the dependency layer, in the VPC, traced."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._vpc = vpc
        self._security_group = security_group
        self._environment = dict(environment)
        self.code = function_code()
        self.dependency_layer = lambda_.LayerVersion(
            self,
            "DependencyLayer",
            code=dependency_layer_code(),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Phi Agents run-time dependencies ([project] dependencies of pyproject.toml)",
            removal_policy=data_removal_policy(config),
        )
        self.functions: dict[Handler, lambda_.Function] = {}

    def create(
        self, scope: Construct, spec: FunctionSpec, extra_environment: Mapping[str, str] | None = None
    ) -> lambda_.Function:
        construct_id = spec.service.value.title().replace("-", "")
        log_group = stage_log_group(scope, f"{construct_id}Logs", self._config)
        environment = {
            **self._environment,
            # Each function logs, traces and emits metrics as its own service (phi-<stage>-think, ...).
            "POWERTOOLS_SERVICE_NAME": function_name(self._config.stage.value, spec.service),
            "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
            **(extra_environment or {}),
        }
        function = lambda_.Function(
            scope,
            construct_id,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self.code,
            handler=spec.handler.value,
            layers=[self.dependency_layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            environment=environment,
            vpc=self._vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self._security_group],
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
        )
        suppress(
            function,
            [
                Suppression(
                    rule="AwsSolutions-L1",
                    reason="Pinned to Python 3.12 on purpose: the dependency layer's wheels are built for "
                    "cp312 (layers/build_layers.py); a runtime upgrade is a deliberate change of both.",
                ),
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason="X-Ray trace upload (xray:PutTraceSegments, PutTelemetryRecords) does not "
                    "support resource-level permissions.",
                    findings=["Resource::*"],
                ),
            ],
        )
        self.functions[spec.handler] = function
        return function
