"""The dependency layer is real (manylinux wheels for CPython 3.12) and fits Lambda's size limits."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.infra


def test_each_function_fits_the_size_budget(layer_report: Any) -> None:
    # Every function ships the same code asset and the one dependency layer.
    assert layer_report.function_total_mb < 150.0, layer_report.model_dump()
    assert layer_report.function_total_mb == pytest.approx(
        sum(layer.unzipped_mb for layer in layer_report.layers) + layer_report.function_code_mb, abs=0.2
    )


def test_layer_holds_the_runtime_dependencies_for_lambda(layer_builder: ModuleType, layer_report: Any) -> None:
    site_packages = Path(layer_report.layers[0].path) / "python"
    for package in ("fastapi", "mangum", "psycopg", "psycopg_pool", "langgraph", "aws_lambda_powertools", "yoyo"):
        assert (site_packages / package).is_dir(), f"{package} missing from the layer"
    extensions = list(site_packages.glob("pydantic_core/*.so")) + list(site_packages.glob("psycopg_binary/*.so"))
    assert extensions, "compiled wheels missing"
    assert all("cpython-312-x86_64-linux-gnu" in so.name for so in extensions), [so.name for so in extensions]
    assert not list(site_packages.rglob("__pycache__")), "bytecode caches are pruned"


def test_layer_is_built_from_the_project_dependencies_only(layer_builder: ModuleType) -> None:
    requirements = layer_builder.runtime_requirements()
    names = {requirement.split("[")[0].split(">")[0].split("=")[0].strip() for requirement in requirements}
    assert {"fastapi", "mangum", "yoyo-migrations"} <= names
    assert not names & {"pgserver", "moto", "uvicorn", "pytest"}, "embedded/dev extras stay out of Lambda"


def test_pip_targets_the_lambda_platform(layer_builder: ModuleType, tmp_path: Path) -> None:
    command = layer_builder.pip_install_command(["fastapi"], tmp_path)
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command
    assert "manylinux2014_x86_64" in command


def test_unchanged_inputs_skip_the_rebuild(layer_builder: ModuleType, layer_report: Any) -> None:
    again = layer_builder.ensure_built()
    assert not again.built
    assert again.layers == layer_report.layers
