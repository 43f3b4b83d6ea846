#!/usr/bin/env python3
"""CDK entry point (cdk.json): `npx --prefix infra_cdk cdk synth -c stage=dev`. See "Deploying to AWS" in README.md."""

from __future__ import annotations

import aws_cdk as cdk

from infra_cdk.synthesis import add_stack


def main() -> None:
    app = cdk.App()
    add_stack(app)
    app.synth()


if __name__ == "__main__":
    main()
