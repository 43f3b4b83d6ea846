"""Session fixtures for the infrastructure tests: the real layer build and one synthesis per stage."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# app.py and infra_cdk/ live at the repository root, which pytest does not put on sys.path itself.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from infra_cdk.synthesis import Synthesis, synthesize  # noqa: E402


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
    context = {"stage": "prod", "corsAllowOrigins": "https://app.example.com", "alarmEmail": "ops@example.com"}
    synthesis = synthesize(tmp_path_factory.mktemp("cdk-out-prod"), context)
    if not synthesis.template_json:
        pytest.fail(f"synthesis produced no template: {synthesis.validation_error}")
    return synthesis
