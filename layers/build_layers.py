"""Build the Lambda dependency layer without Docker and print its size.

The layer holds the root ``pyproject.toml`` ``[project] dependencies`` installed for the Lambda
platform (CPython 3.12, x86_64, glibc manylinux wheels only), so it works from any OS. Output:
``layers/build/deps/python/`` (the layout Lambda expects) plus ``layers/build/deps.stamp`` which
records a hash of the inputs; an unchanged build is skipped.

Run from the repository root:  ``python layers/build_layers.py`` (``--force`` to rebuild).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from pydantic import BaseModel

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "layers" / "build"
DEPS_LAYER_DIR = BUILD_DIR / "deps"
STAMP_FILE = BUILD_DIR / "deps.stamp"
FUNCTIONS_DIR = REPO_ROOT / "functions"

LAMBDA_PYTHON_VERSION = "3.12"
# Lambda python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels load there too,
# and some packages no longer publish manylinux2014 wheels.
LAMBDA_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
# Each function's code plus layers, unzipped. Lambda's hard limit is 250 MB; the margin keeps
# room for growth and for cold starts (bigger packages load slower).
SIZE_BUDGET_MB = 150.0
# Files that are never imported at run time.
PRUNE_DIR_NAMES = ("__pycache__",)
PRUNE_FILE_SUFFIXES = (".pyc", ".pyi")


class LayerReport(BaseModel):
    name: str
    path: str
    unzipped_mb: float
    files: int


class BuildReport(BaseModel):
    layers: list[LayerReport]
    function_code_mb: float
    function_total_mb: float
    budget_mb: float
    built: bool
    seconds: float

    @property
    def within_budget(self) -> bool:
        return self.function_total_mb < self.budget_mb


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The Lambda run-time dependencies: ``[project] dependencies``, not the extras."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    requirements: list[str] = data["project"]["dependencies"]
    return requirements


def inputs_hash(requirements: list[str]) -> str:
    payload = json.dumps(
        {"requirements": requirements, "python": LAMBDA_PYTHON_VERSION, "platforms": LAMBDA_PLATFORMS},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def is_up_to_date(requirements: list[str]) -> bool:
    return (
        STAMP_FILE.exists()
        and (DEPS_LAYER_DIR / "python").is_dir()
        and STAMP_FILE.read_text(encoding="utf-8").strip() == inputs_hash(requirements)
    )


def pip_install_command(requirements: list[str], target: Path) -> list[str]:
    platform_args = [arg for platform in LAMBDA_PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        *platform_args,
        "--target",
        str(target),
        *requirements,
    ]


def prune(tree: Path) -> None:
    for directory in [p for p in tree.rglob("*") if p.is_dir() and p.name in PRUNE_DIR_NAMES]:
        shutil.rmtree(directory, ignore_errors=True)
    for file in tree.rglob("*"):
        if file.is_file() and file.suffix in PRUNE_FILE_SUFFIXES:
            file.unlink()


def build_deps_layer(requirements: list[str]) -> None:
    staging = BUILD_DIR / "deps.staging"
    shutil.rmtree(staging, ignore_errors=True)
    site_packages = staging / "python"
    site_packages.mkdir(parents=True)
    subprocess.run(pip_install_command(requirements, site_packages), check=True)
    # pip --target leaves a bin/ with console scripts pointing at this machine's interpreter.
    shutil.rmtree(site_packages / "bin", ignore_errors=True)
    prune(site_packages)
    shutil.rmtree(DEPS_LAYER_DIR, ignore_errors=True)
    staging.rename(DEPS_LAYER_DIR)
    STAMP_FILE.write_text(inputs_hash(requirements) + "\n", encoding="utf-8")


def tree_size(tree: Path, skip_dir_names: tuple[str, ...] = ()) -> tuple[int, int]:
    """Total bytes and file count of a tree, as Lambda would unzip it."""
    total, count = 0, 0
    for file in tree.rglob("*"):
        if any(part in skip_dir_names for part in file.relative_to(tree).parts):
            continue
        if file.is_file() and not file.is_symlink():
            total += file.stat().st_size
            count += 1
    return total, count


def megabytes(size: int) -> float:
    return round(size / 1_000_000, 1)


def ensure_built(force: bool = False) -> BuildReport:
    """Build the layer when its inputs changed (or ``force``) and measure it."""
    started = time.monotonic()
    requirements = runtime_requirements()
    built = force or not is_up_to_date(requirements)
    if built:
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        build_deps_layer(requirements)
    layer_bytes, layer_files = tree_size(DEPS_LAYER_DIR)
    code_bytes, _ = tree_size(FUNCTIONS_DIR, skip_dir_names=PRUNE_DIR_NAMES)
    layer = LayerReport(name="deps", path=str(DEPS_LAYER_DIR), unzipped_mb=megabytes(layer_bytes), files=layer_files)
    return BuildReport(
        layers=[layer],
        function_code_mb=megabytes(code_bytes),
        function_total_mb=megabytes(layer_bytes + code_bytes),
        budget_mb=SIZE_BUDGET_MB,
        built=built,
        seconds=round(time.monotonic() - started, 1),
    )


def largest_packages(tree: Path, limit: int = 8) -> list[tuple[str, float]]:
    sizes = [(entry.name, megabytes(tree_size(entry)[0])) for entry in tree.iterdir() if entry.is_dir()]
    return sorted(sizes, key=lambda item: item[1], reverse=True)[:limit]


def print_report(report: BuildReport) -> None:
    action = "built" if report.built else "up to date"
    print(f"Lambda layers ({action} in {report.seconds} s), Python {LAMBDA_PYTHON_VERSION} x86_64:")
    for layer in report.layers:
        print(f"  layer {layer.name}: {layer.unzipped_mb} MB unzipped, {layer.files} files ({layer.path})")
        for name, size in largest_packages(Path(layer.path) / "python"):
            print(f"      {name:<32} {size:>6} MB")
    print(f"  function code (functions/): {report.function_code_mb} MB")
    verdict = "OK" if report.within_budget else "OVER BUDGET"
    print(
        f"  each function, code + layers: {report.function_total_mb} MB unzipped "
        f"(budget {report.budget_mb} MB, Lambda limit 250 MB): {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs did not change")
    args = parser.parse_args(argv)
    report = ensure_built(force=args.force)
    print_report(report)
    return 0 if report.within_budget else 1


if __name__ == "__main__":
    sys.exit(main())
