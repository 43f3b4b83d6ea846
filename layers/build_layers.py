"""Build the Lambda dependency layer and the functions' code asset without Docker, and print their size.

The layer holds the root ``pyproject.toml`` ``[project] dependencies`` plus the ``lambda`` extra (WordLlama)
installed for the Lambda platform (CPython 3.12, x86_64, glibc manylinux wheels only), so it works from any
OS. Output: ``layers/build/deps/python/`` (the layout Lambda expects) plus ``layers/build/deps.stamp``, a hash
of the inputs (an unchanged layer is skipped), and ``layers/build/code/`` (``functions/``'s package, the
code asset CDK deploys).

Both are compiled to bytecode by a CPython 3.12 interpreter (Lambda's), as *unchecked-hash* .pyc files:
Lambda's file systems are read-only, so without them every cold start compiles every module it imports,
and timestamp-checked .pyc would be stale after CDK's zip (which resets file times). Tracebacks name the
deployed paths (/opt/python, /var/task).

Run from the repository root:  ``python layers/build_layers.py`` (``--force`` to rebuild).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
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
CODE_DIR = BUILD_DIR / "code"
# Where Lambda puts them: tracebacks from the precompiled bytecode name these paths.
LAMBDA_LAYER_ROOT = "/opt/python"
LAMBDA_CODE_ROOT = "/var/task"
# Bumped when the build itself changes, so an old layer is rebuilt.
BUILD_VERSION = 3

LAMBDA_PYTHON_VERSION = "3.12"
# Lambda python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels load there too,
# and some packages no longer publish manylinux2014 wheels.
LAMBDA_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
# Each function's code plus layers, unzipped. Lambda's hard limit is 250 MB; the margin keeps
# room for growth and for cold starts (bigger packages load slower).
SIZE_BUDGET_MB = 150.0
# Files that are never imported at run time.
PRUNE_DIR_NAMES = ("__pycache__",)
# (C/C++/Cython sources ship next to some compiled extensions: only the .so is loaded.)
PRUNE_FILE_SUFFIXES = (".pyc", ".pyi", ".c", ".cpp", ".pyx", ".pxd")
# Packages installed as dependencies of dependencies that no code path here imports (each checked: the
# benchmark and tests/infra import every handler, and embed with WordLlama, from the built layer in an
# isolated Python 3.12).
PRUNE_PACKAGES: dict[str, str] = {
    "zstandard": "24 MB; langsmith (through langchain-core) imports it only to compress trace uploads to "
    "LangSmith, which this project never enables",
    "huggingface_hub": "a dependency of tokenizers used only by Tokenizer.from_pretrained (downloads); "
    "WordLlama loads its tokenizer from the layer with Tokenizer.from_file",
    "hf_xet": "huggingface_hub's download accelerator",
    "fsspec": "huggingface_hub's file-system layer",
    "filelock": "huggingface_hub's download lock",
    "dns": "dnspython: email-validator uses it only for deliverability checks, which pydantic's EmailStr skips",
}
# Directories inside packages that are never imported at run time.
PRUNE_GLOBS = (
    "numpy/**/tests",
    "numpy/f2py",
    "numpy/_pyinstaller",
    "numpy/_core/include",
    "numpy/random/_examples",
    "wordllama/trainers",
    "wordllama/extract",
    "aws_lambda_powertools/event_handler",  # the API is FastAPI
    "langsmith/sandbox",
    "langsmith/evaluation",
    "langsmith/wrappers",
    "langsmith/testing",
    "lxml/includes",
    # phi.documents.extract and python-docx use lxml.etree only; nothing in the layer imports lxml.objectify or lxml.html (4 MB).
    "lxml/objectify.*",
    "lxml/html",
    # ReDoc's page is not served (phi.api.docs_page serves Swagger UI only): 1 MB.
    "fastapi_offline/static/redoc.standalone.js",
)
# botocore ships the models of ~450 services; these are the ones the code calls (phi.aws.client("...") — a test
# checks every name used is kept), what botocore's credential chain may load, and X-Ray (the tracer's sampler).
BOTOCORE_SERVICES = (
    "kms",
    "s3",
    "scheduler",
    "secretsmanager",
    "sesv2",
    "sqs",
    "stepfunctions",
    "sts",
    "sso",
    "sso-oidc",
    "xray",
)
# Modules imported on first use rather than at cold start: traced with the handlers, so they get bytecode too.
FIRST_USE_MODULES = (
    "phi.embeddings.local",
    "phi.embeddings.openai",
    "phi.llm.openai_provider",
    "phi.documents.extract",
    "phi.workflows.runner",
    "phi.db.migrate",
    # The web console: its pages are installed into the API's app at the first /console request, and its
    # Markdown renderer is imported at the first report it shows.
    "phi.api.console.site",
    "markdown_it",
    "wordllama",
    "pypdf",
    "docx",
    "psycopg",
    "psycopg_pool",
    "langgraph.checkpoint.postgres",
    "yoyo",
    "boto3",
    "botocore.client",
    # PHI_XRAY_SDK=true (CDK context xraySdk): the X-Ray SDK is imported at the first invocation.
    "aws_lambda_powertools.tracing",
    "aws_xray_sdk.core",
)
# Not copied into the code asset.
CODE_EXCLUDE = ("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache", ".pytest_cache")


class LayerBuildError(RuntimeError):
    pass


# What CDK gives the functions (infra_cdk/stack.py), with placeholder values: enough for every handler to import
# (each validates its settings at cold start) with tracing on, as on Lambda. Nothing is called at import.
LAMBDA_IMPORT_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_LAMBDA_FUNCTION_NAME": "phi-build-trace",
    "PHI_STAGE": "dev",
    "PHI_DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:phi-dev/db/admin",
    "PHI_DB_HOST": "proxy.example.internal",
    "PHI_DOCUMENTS_BUCKET": "phi-dev-documents",
    "PHI_SECRETS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    "PHI_LLM_PROVIDER": "none",
    "PHI_EMBEDDING_PROVIDER": "local",
    "PHI_EMBEDDING_MODEL": "wordllama-l2-supercat-256",
    "PHI_JWT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:phi-dev/jwt-signing-key",
    "PHI_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:phi-dev-agent-task",
    "PHI_AGENT_ROLE_ARN": "arn:aws:iam::123456789012:role/agent",
    "PHI_SCHEDULER_GROUP": "phi-dev",
    "PHI_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
    "PHI_CORS_ALLOW_ORIGINS": "http://localhost:5173",
    "POWERTOOLS_SERVICE_NAME": "phi-build-trace",
    "POWERTOOLS_METRICS_NAMESPACE": "PhiAgents",
    "PYDANTIC_DISABLE_PLUGINS": "1",
}
HANDLER_MODULES = (
    "phi.handlers.api",
    "phi.handlers.start_task",
    "phi.handlers.think",
    "phi.handlers.finish_task",
    "phi.handlers.mark_failed",
    "phi.handlers.ingest",
    "phi.handlers.migrate",
    "phi.handlers.sweeper",
)
# Runs in Lambda's Python with only the code and the layer on sys.path: imports every handler and what they
# import on first use, then replaces each layer module that was imported by its bytecode.
_TRACE_AND_COMPILE = """
import importlib, json, os, py_compile, sys
code, layer, deployed, modules = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
sys.path[:0] = [code, layer]
for name in modules:
    importlib.import_module(name)
sources = {getattr(module, "__file__", None) or "" for module in list(sys.modules.values())}
sources = sorted(s for s in sources if s.endswith(".py") and s.startswith(layer + "/"))
for source in sources:
    # Sourceless: foo.pyc replaces foo.py (the loader's legacy layout), so the bytecode costs no space.
    py_compile.compile(source, cfile=source + "c", dfile=deployed + source[len(layer):], doraise=True)
for source in sources:
    os.remove(source)
print(len(sources))
"""


def compile_traced_bytecode(site_packages: Path, python: str) -> int:
    """Bytecode for the layer modules a handler imports at cold start or on first use (traced, not guessed).

    Those ~1,600 third-party modules ship as bytecode only (sourceless .pyc in place of the .py): bytecode
    beside the sources would add ~22 MB and break the size budget. Tracebacks through them keep file and line,
    without the source text; our own code (the code asset) keeps its sources. Modules no handler imports stay
    sources and compile on first import."""
    modules = [*HANDLER_MODULES, *FIRST_USE_MODULES]
    result = subprocess.run(
        [
            python,
            "-I",
            "-S",
            "-B",
            "-c",
            _TRACE_AND_COMPILE,
            str(FUNCTIONS_DIR),
            str(site_packages),
            LAMBDA_LAYER_ROOT,
            json.dumps(modules),
        ],
        capture_output=True,
        text=True,
        env=LAMBDA_IMPORT_ENVIRONMENT,
        cwd=str(BUILD_DIR),
        check=False,
    )
    if result.returncode != 0:
        raise LayerBuildError(f"importing the handlers from the layer failed: {result.stderr[-3000:]}")
    return int(result.stdout.strip().splitlines()[-1])


def lambda_python() -> str | None:
    """A CPython 3.12 interpreter to compile bytecode for Lambda's runtime (PHI_LAMBDA_PYTHON overrides)."""
    candidates = [os.environ.get("PHI_LAMBDA_PYTHON"), sys.executable]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{LAMBDA_PYTHON_VERSION}.*/bin/python3")))
    candidates.append(shutil.which(f"python{LAMBDA_PYTHON_VERSION}"))
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _python_version(candidate) == LAMBDA_PYTHON_VERSION:
            return candidate
    return None


def _python_version(python: str) -> str | None:
    """'3.12' for a working interpreter (a pyenv shim without that version installed is not one)."""
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def compile_bytecode(tree: Path, deployed_root: str, python: str) -> None:
    """Unchecked-hash .pyc for every module of ``tree``, for the interpreter ``python`` (Lambda's 3.12)."""
    command = [
        python,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(tree),
        "-p",
        deployed_root,
        str(tree),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    # compileall exits 1 when some file does not compile (e.g. a package's Python 2 test data): those were
    # never importable; anything else is a failure.
    if result.returncode not in (0, 1):
        raise LayerBuildError(f"compileall failed ({result.returncode}): {result.stderr[-2000:]}")


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
    bytecode: bool
    code_path: str

    @property
    def within_budget(self) -> bool:
        return self.function_total_mb < self.budget_mb


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The Lambda run-time dependencies: ``[project] dependencies`` and the ``lambda`` extra, no other extra."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    requirements: list[str] = [
        *data["project"]["dependencies"],
        *data["project"].get("optional-dependencies", {}).get("lambda", []),
    ]
    return requirements


def inputs_hash(requirements: list[str], bytecode: bool = True) -> str:
    payload = json.dumps(
        {
            "requirements": requirements,
            "python": LAMBDA_PYTHON_VERSION,
            "platforms": LAMBDA_PLATFORMS,
            "pruned": sorted(PRUNE_PACKAGES),
            "botocore_services": sorted(BOTOCORE_SERVICES),  # a service added must be in the next build
            "bytecode": bytecode,
            "build": BUILD_VERSION,
            "first_use": FIRST_USE_MODULES,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def is_up_to_date(requirements: list[str], bytecode: bool = True) -> bool:
    return (
        STAMP_FILE.exists()
        and (DEPS_LAYER_DIR / "python").is_dir()
        and STAMP_FILE.read_text(encoding="utf-8").strip() == inputs_hash(requirements, bytecode)
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


def prune_packages(site_packages: Path) -> None:
    for name in PRUNE_PACKAGES:
        shutil.rmtree(site_packages / name, ignore_errors=True)
        for dist_info in site_packages.glob(f"{name}-*.dist-info"):
            shutil.rmtree(dist_info, ignore_errors=True)


def prune_paths(site_packages: Path) -> None:
    for pattern in PRUNE_GLOBS:
        for path in site_packages.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    data = site_packages / "botocore" / "data"
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES:
                shutil.rmtree(service)


def strip_shared_libraries(site_packages: Path) -> bool:
    """Debug symbols out of every shared library (GNU strip); False when no strip is installed."""
    strip = shutil.which("strip")
    if strip is None:
        return False
    libraries = [str(p) for p in site_packages.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    for start in range(0, len(libraries), 200):
        subprocess.run([strip, "--strip-unneeded", *libraries[start : start + 200]], capture_output=True, check=False)
    return True


def place_wordllama_tokenizer(site_packages: Path) -> None:
    """wordllama's loader looks for its tokenizer in ``<package>/tokenizer/`` while the wheel ships it in
    ``tokenizers/``: put it where the loader looks, so the read-only layer serves it and nothing is downloaded."""
    shipped = site_packages / "wordllama" / "tokenizers"
    if shipped.is_dir():
        target = site_packages / "wordllama" / "tokenizer"
        target.mkdir(exist_ok=True)
        for source in shipped.glob("*.json"):
            shutil.move(source, target / source.name)


def build_deps_layer(
    requirements: list[str], python: str | None, target: Path = DEPS_LAYER_DIR, stamp: Path = STAMP_FILE
) -> None:
    staging = target.with_name(target.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    site_packages = staging / "python"
    site_packages.mkdir(parents=True)
    subprocess.run(pip_install_command(requirements, site_packages), check=True)
    # pip --target leaves a bin/ with console scripts pointing at this machine's interpreter.
    shutil.rmtree(site_packages / "bin", ignore_errors=True)
    prune(site_packages)
    prune_packages(site_packages)
    prune_paths(site_packages)
    strip_shared_libraries(site_packages)
    place_wordllama_tokenizer(site_packages)
    if python is not None:
        compile_traced_bytecode(site_packages, python)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    stamp.write_text(inputs_hash(requirements, python is not None) + "\n", encoding="utf-8")


def ensure_variant_without_bytecode(target: Path = BUILD_DIR / "deps-no-bytecode") -> Path:
    """The same layer with no bytecode at all (the benchmark's baseline); skipped when up to date."""
    requirements = runtime_requirements()
    stamp = target.with_suffix(".stamp")
    if not (stamp.exists() and stamp.read_text(encoding="utf-8").strip() == inputs_hash(requirements, False)):
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        build_deps_layer(requirements, None, target, stamp)
    return target / "python"


def build_code(python: str | None, target: Path = CODE_DIR) -> None:
    """``functions/`` as Lambda's code asset (package ``phi``), with bytecode. Small: rebuilt every time."""
    staging = target.with_name(target.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(FUNCTIONS_DIR, staging, ignore=shutil.ignore_patterns(*CODE_EXCLUDE))
    if python is not None:
        compile_bytecode(staging, LAMBDA_CODE_ROOT, python)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


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
    """Build the layer when its inputs changed (or ``force``), the code asset always, and measure them."""
    started = time.monotonic()
    requirements = runtime_requirements()
    python = lambda_python()
    if python is None:
        print(
            f"warning: no Python {LAMBDA_PYTHON_VERSION} found (set PHI_LAMBDA_PYTHON): building without bytecode, "
            "so every cold start compiles what it imports",
            file=sys.stderr,
        )
    built = force or not is_up_to_date(requirements, python is not None)
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    if built:
        build_deps_layer(requirements, python)
    build_code(python)
    layer_bytes, layer_files = tree_size(DEPS_LAYER_DIR)
    code_bytes, _ = tree_size(CODE_DIR)
    layer = LayerReport(name="deps", path=str(DEPS_LAYER_DIR), unzipped_mb=megabytes(layer_bytes), files=layer_files)
    return BuildReport(
        layers=[layer],
        function_code_mb=megabytes(code_bytes),
        function_total_mb=megabytes(layer_bytes + code_bytes),
        budget_mb=SIZE_BUDGET_MB,
        built=built,
        seconds=round(time.monotonic() - started, 1),
        bytecode=python is not None,
        code_path=str(CODE_DIR),
    )


def largest_packages(tree: Path, limit: int = 8) -> list[tuple[str, float]]:
    sizes = [(entry.name, megabytes(tree_size(entry)[0])) for entry in tree.iterdir() if entry.is_dir()]
    return sorted(sizes, key=lambda item: item[1], reverse=True)[:limit]


def print_report(report: BuildReport) -> None:
    action = "built" if report.built else "up to date"
    bytecode = "with" if report.bytecode else "WITHOUT"
    platform = f"Python {LAMBDA_PYTHON_VERSION} x86_64, {bytecode} bytecode"
    print(f"Lambda layers ({action} in {report.seconds} s), {platform}:")
    for layer in report.layers:
        print(f"  layer {layer.name}: {layer.unzipped_mb} MB unzipped, {layer.files} files ({layer.path})")
        for name, size in largest_packages(Path(layer.path) / "python"):
            print(f"      {name:<32} {size:>6} MB")
    print(f"  function code ({report.code_path}): {report.function_code_mb} MB")
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
