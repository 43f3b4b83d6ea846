#!/usr/bin/env python3
"""CDK entry point (cdk.json): `npx --prefix infra_cdk cdk synth -c stage=dev`. See "Deploying to AWS" in README.md."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from infra_cdk.synthesis import add_stack, synthesized_problems


def main() -> None:
    app = cdk.App()
    stack = add_stack(app)
    assembly = app.synth()
    problems = synthesized_problems(assembly.get_stack_by_name(stack.stack_name).template)
    if problems:  # the CLI stops here: nothing is deployed
        sys.exit("\n".join(problems))


if __name__ == "__main__":
    main()
