"""Synthesize the app in-process: used by app.py, the infrastructure tests and the synth benchmark."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra_cdk.config import StageConfig, cdk_json_context, stage_config
from infra_cdk.lambdas import oversized_environments
from infra_cdk.stack import PhiStack


def add_stack(app: cdk.App, *, nag: bool = True) -> PhiStack:
    """The stage's stack, checked by cdk-nag AwsSolutions (findings stop synthesis)."""
    config = stage_config(app.node.try_get_context)
    # Environment-agnostic on purpose: synth needs no AWS credentials; deploy targets the CLI's account.
    stack = PhiStack(app, config.stack_name, config=config)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def synthesized_problems(template: dict[str, Any]) -> list[str]:
    """What only the synthesized template shows and the deploy would stumble on: each problem in a sentence."""
    return oversized_environments(template)


@dataclass
class Synthesis:
    config: StageConfig
    stack: PhiStack
    outdir: Path
    template_json: dict[str, Any]
    validation_error: str | None
    seconds: float

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.config.stack_name}.template.json"

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template_json.get("Resources", {}).items()
            if resource["Type"] == resource_type
        }


def synthesize(outdir: Path, context: dict[str, Any] | None = None, *, nag: bool = True) -> Synthesis:
    """Like ``cdk synth`` with cdk.json's context (plus ``context``); cdk-nag failures are returned."""
    started = time.monotonic()
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=str(outdir))
    stack = add_stack(app, nag=nag)
    validation_error: str | None = None
    try:
        app.synth()
    except RuntimeError as error:  # jsii surfaces the "Validation failed" report as a RuntimeError
        validation_error = str(error)
    config = stack.config
    template_path = outdir / f"{config.stack_name}.template.json"
    template_json = json.loads(template_path.read_text(encoding="utf-8")) if template_path.exists() else {}
    if problems := synthesized_problems(template_json):
        validation_error = "\n".join([*problems, *([validation_error] if validation_error else [])])
    return Synthesis(config, stack, outdir, template_json, validation_error, round(time.monotonic() - started, 1))
