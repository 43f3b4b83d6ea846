"""Session fixtures for the infrastructure tests: the real layer build and one synthesis per stage."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infra_cdk.synthesis import Synthesis, synthesize

REPO_ROOT = Path(__file__).resolve().parents[2]
PROD_LLM_ROUTE_KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vllm-AbCdEf"
PROD_LLM_ROUTES = json.dumps(
    {
        "default": [
            {
                "model": "Qwen2.5-72B-Instruct",
                "base_url": "https://vllm.internal/v1",
                "api_key_secret_arn": PROD_LLM_ROUTE_KEY_ARN,
            }
        ]
    }
)
# jsii prints a banner about Node 20's end of life on every synthesis; it says nothing about our code.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def load_layer_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_layers", REPO_ROOT / "layers" / "build_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_layers"] = module  # pydantic resolves the module's models through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def layer_builder() -> ModuleType:
    return load_layer_builder()


@pytest.fixture(scope="session")
def layer_report(layer_builder: ModuleType) -> Any:
    """Builds the real layer (pip, manylinux wheels) unless layers/build/ is up to date."""
    return layer_builder.ensure_built()


@pytest.fixture(scope="session")
def dev(layer_report: Any, tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    synthesis = synthesize(tmp_path_factory.mktemp("cdk-out-dev"))
    if not synthesis.template_json:
        pytest.fail(f"synthesis produced no template: {synthesis.validation_error}")
    return synthesis


@pytest.fixture(scope="session")
def prod(layer_report: Any, tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    context = {
        "stage": "prod",
        "corsAllowOrigins": "https://app.example.com",
        "alarmEmail": "ops@example.com",
        "emailSender": "Phi Alerts <alerts@example.com>",  # notify e-mail through SES (dev keeps the outbox)
        "xraySdk": "true",  # X-Ray SDK subsegments (dev: Lambda's active tracing only)
        "llmRoutes": PROD_LLM_ROUTES,  # a self-hosted model with its own key: no OpenAI key needed
    }
    synthesis = synthesize(tmp_path_factory.mktemp("cdk-out-prod"), context)
    if not synthesis.template_json:
        pytest.fail(f"synthesis produced no template: {synthesis.validation_error}")
    return synthesis
