"""The dependency layer is real (manylinux wheels for CPython 3.12) and fits Lambda's size limits."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.infra
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_each_function_fits_the_size_budget(layer_report: Any) -> None:
    # Every function ships the same code asset and the one dependency layer.
    assert layer_report.function_total_mb < 150.0, layer_report.model_dump()
    assert layer_report.function_total_mb == pytest.approx(
        sum(layer.unzipped_mb for layer in layer_report.layers) + layer_report.function_code_mb, abs=0.2
    )


def test_layer_holds_the_runtime_dependencies_for_lambda(layer_builder: ModuleType, layer_report: Any) -> None:
    site_packages = Path(layer_report.layers[0].path) / "python"
    expected = ("fastapi", "mangum", "psycopg", "psycopg_pool", "langgraph", "aws_lambda_powertools", "yoyo")
    for package in (*expected, "wordllama", "numpy"):
        assert (site_packages / package).is_dir(), f"{package} missing from the layer"
    extensions = list(site_packages.glob("pydantic_core/*.so")) + list(site_packages.glob("psycopg_binary/*.so"))
    assert extensions, "compiled wheels missing"
    assert all("cpython-312-x86_64-linux-gnu" in so.name for so in extensions), [so.name for so in extensions]
    assert not list(site_packages.rglob("__pycache__")), "bytecode caches are pruned"


def test_layer_is_built_from_the_project_dependencies_only(layer_builder: ModuleType) -> None:
    requirements = layer_builder.runtime_requirements()
    names = {requirement.split("[")[0].split(">")[0].split("=")[0].strip() for requirement in requirements}
    assert {"fastapi", "mangum", "yoyo-migrations"} <= names
    assert not names & {"pgserver", "moto", "uvicorn", "pytest", "torch"}, "embedded/dev extras stay out of Lambda"
    assert "wordllama" in names, "the lambda extra (the offline embedding model that fits) is in"


def test_pip_targets_the_lambda_platform(layer_builder: ModuleType, tmp_path: Path) -> None:
    command = layer_builder.pip_install_command(["fastapi"], tmp_path)
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command
    assert "manylinux2014_x86_64" in command


def test_unchanged_inputs_skip_the_rebuild(layer_builder: ModuleType, layer_report: Any) -> None:
    again = layer_builder.ensure_built()
    assert not again.built
    assert again.layers == layer_report.layers


def lambda_python_or_skip(layer_builder: ModuleType) -> str:
    python: str | None = layer_builder.lambda_python()
    if python is None:
        pytest.skip("no CPython 3.12 on this machine (set PHI_LAMBDA_PYTHON)")
    return python


def run_in_lambda_python(
    layer_builder: ModuleType, layer_report: Any, code: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Lambda's Python with only the code asset and the layer on sys.path, read-only as far as bytecode goes."""
    python = lambda_python_or_skip(layer_builder)
    paths = [layer_report.code_path, str(Path(layer_report.layers[0].path) / "python")]
    return subprocess.run(
        [python, "-I", "-S", "-B", "-c", f"import sys; sys.path[:0] = {paths!r}\n{code}"],
        env={**layer_builder.LAMBDA_IMPORT_ENVIRONMENT, "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_handler_imports_from_the_code_asset_and_the_layer_alone(
    layer_builder: ModuleType, layer_report: Any, tmp_path: Path
) -> None:
    imports = "\n".join(f"import {module}" for module in layer_builder.HANDLER_MODULES)
    result = run_in_lambda_python(layer_builder, layer_report, imports + "\nprint('ok')", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_think_does_not_load_the_langsmith_services_api_models(
    layer_builder: ModuleType, layer_report: Any, tmp_path: Path
) -> None:
    # LangGraph imports langchain-core's tracers and with them langsmith.run_trees; from langsmith 0.9 on that loads
    # every generated model of the LangSmith service's API (~0.1 CPU-s of Think's cold start, never used: tracing is
    # off). pyproject pins the versions that do not; an upgrade that brings them back fails here.
    code = (
        "import phi.handlers.think\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('langsmith.types', 'langsmith._openapi_client')))\n"
        "print(len(heavy), heavy[:5])"
    )
    result = run_in_lambda_python(layer_builder, layer_report, code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("0 "), result.stdout


def test_the_default_deploy_embeds_with_wordllama_from_the_layer_without_writing_or_downloading(
    layer_builder: ModuleType, layer_report: Any, tmp_path: Path
) -> None:
    code = (
        "from phi.embeddings.local import LocalEmbeddings\n"
        "vectors = LocalEmbeddings('wordllama-l2-supercat-256').embed(['late outbound orders', 'pick rate'])\n"
        "print(len(vectors), len(vectors[0]))"
    )
    result = run_in_lambda_python(layer_builder, layer_report, code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["2", "256"]
    assert not list(tmp_path.rglob("*.json")), "the tokenizer is read from the layer, not copied"


def test_handler_imports_ship_as_bytecode_for_python_312(layer_report: Any) -> None:
    site_packages = Path(layer_report.layers[0].path) / "python"
    magic = importlib.util.MAGIC_NUMBER if sys.version_info[:2] == (3, 12) else None
    # The console's (jinja2, markdown_it) are imported at the first /console request, not at the API's cold start.
    for module in (
        "fastapi/__init__",
        "pydantic/main",
        "langgraph/graph/state",
        "psycopg/connection",
        "jinja2/environment",
        "markdown_it/main",
    ):
        assert (site_packages / f"{module}.pyc").is_file(), module
        assert not (site_packages / f"{module}.py").exists(), f"{module}: bytecode replaces the source"
        if magic is not None:
            assert (site_packages / f"{module}.pyc").read_bytes()[:4] == magic
    code = Path(layer_report.code_path)
    for handler in code.glob("phi/handlers/*.py"):
        compiled = handler.parent / "__pycache__" / f"{handler.stem}.cpython-312.pyc"
        header = compiled.read_bytes()[:8]
        # PEP 552 flags: hash-based (bit 0) and not checked against the source (bit 1 clear).
        assert int.from_bytes(header[4:8], "little") == 0b01, handler


def test_pruned_packages_are_gone_and_every_aws_service_the_code_calls_is_kept(
    layer_builder: ModuleType, layer_report: Any
) -> None:
    site_packages = Path(layer_report.layers[0].path) / "python"
    for package in layer_builder.PRUNE_PACKAGES:
        assert not (site_packages / package).exists(), package
    used = set()
    for source in (REPO_ROOT / "functions" / "phi").rglob("*.py"):
        used |= set(re.findall(r'client\("([a-z0-9-]+)"\)', source.read_text(encoding="utf-8")))
    assert used and used <= set(layer_builder.BOTOCORE_SERVICES), used - set(layer_builder.BOTOCORE_SERVICES)
    kept = {path.name for path in (site_packages / "botocore" / "data").iterdir() if path.is_dir()}
    assert kept == set(layer_builder.BOTOCORE_SERVICES)
    assert (site_packages / "wordllama" / "weights" / "l2_supercat_256.safetensors").is_file()
    assert list((site_packages / "wordllama" / "tokenizer").glob("*.json"))


def test_no_handler_loads_the_xray_sdk_at_cold_start_unless_it_is_on(
    layer_builder: ModuleType, layer_report: Any, tmp_path: Path
) -> None:
    """The X-Ray SDK is ~0.15-0.2 s of every cold start: off by default, loaded at the first invocation when on."""
    imports = "\n".join(f"import {module}" for module in layer_builder.HANDLER_MODULES)
    result = run_in_lambda_python(
        layer_builder, layer_report, imports + "\nprint(sorted(m for m in sys.modules if 'xray' in m))", tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"

    traced = (
        "import os; os.environ['PHI_XRAY_SDK'] = 'true'\n"
        "from phi.handlers.observability import bind_task_ids, tracer\n"
        "handler = tracer.capture_lambda_handler(lambda event, context: event['n'] + 1)\n"
        "assert 'aws_xray_sdk' not in sys.modules, 'imported before the first invocation'\n"
        "print(handler({'n': 41}, None))\n"
        "bind_task_ids({'task_id': 't-1'})\n"
        "print('aws_xray_sdk.core' in sys.modules, type(tracer._tracer).__name__)"
    )
    result = run_in_lambda_python(layer_builder, layer_report, traced, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["42", "True", "Tracer"]


def test_think_imports_the_daily_report_code_only_when_a_daily_report_needs_it(
    layer_builder: ModuleType, layer_report: Any, tmp_path: Path
) -> None:
    """The KPI code and its models cost Think's cold start ~27 ms; other workflows never use it."""
    code = (
        "import phi.handlers.think\n"
        "from phi.definitions.functions import COMPUTE\n"
        "print('phi.workflows.warehouse.kpis' in sys.modules, sorted(COMPUTE['warehouse.daily_kpis'].datasets))\n"
        "COMPUTE['warehouse.daily_kpis'].run({}, {'day': '2026-11-20'})\n"
        "print('phi.workflows.warehouse.kpis' in sys.modules)"
    )
    result = run_in_lambda_python(layer_builder, layer_report, code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[:2] == ["False ['orders', 'picks', 'shipments']", "True"]
