"""Cold starts of the Lambda handlers (issue 15 §1): each handler's import, timed the way Lambda runs it.

Builds the layer and the code asset (layers/build_layers.py), then imports each handler module in a fresh,
isolated CPython 3.12 (``-I -S -B``: no environment-driven paths, no site-packages, no .pyc written) whose
sys.path holds only the code asset and the layer, with the environment CDK gives the function. Prints CPU
and wall seconds per handler (median of ``--repeat`` runs) for three variants measured in the same run:

- baseline: the code of ``--baseline-ref`` (git; by default the commit before this work) on a layer with no
  bytecode — how main deployed before: eager imports, every module compiled at each cold start;
- no bytecode: today's code on the same layer without bytecode (``-X pycache_prefix`` at an empty folder
  keeps the code's own .pyc out of reach too);
- deployed: today's code asset and layer as built (bytecode for everything a handler imports).

It also times each goal's floor, the same way on the deployed layer: what the framework a handler is built on
costs alone, with one trivial route or graph and none of our code (FastAPI + Mangum for the API, LangGraph with
its PostgreSQL checkpointer for Think). A goal below its floor cannot be met on that framework.

The import is the figure against the goal. The API function defers what only some requests need (each router and
the web console's pages are installed at the first request that can reach them), so the benchmark also times, in
the same kind of interpreter on the deployed variant, what the first requests through the Lambda handler then
pay: the import (which builds the app), a first API request (GET /health), a first authenticated route answered
without credentials (401, no database), a route as the very first request (its router, the API's dependencies
and the database driver), and, in another interpreter, a first console page (GET /console/login).

Run from the repository root:  ``python bench/bench_cold_start.py [--repeat 3] [--baseline-ref REF]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# The last commit of main before the cold-start work (issue 15 §1).
DEFAULT_BASELINE_REF = "01b7d51"
HANDLERS = {
    "api": "phi.handlers.api",
    "start-task": "phi.handlers.start_task",
    "think": "phi.handlers.think",
    "finish-task": "phi.handlers.finish_task",
    "mark-failed": "phi.handlers.mark_failed",
    "ingest": "phi.handlers.ingest",
    "migrate": "phi.handlers.migrate",
    "sweeper": "phi.handlers.sweeper",
}
# What the baseline's code imports that today's layer no longer ships (the baseline pays for it, as it did then).
BASELINE_ONLY_REQUIREMENTS = ["pydantic-settings>=2.3,<3", "python-dotenv>=0.21"]
GOALS = {"api": 0.3, "think": 0.6}
DEFAULT_GOAL = 0.3

CHILD = """
import importlib, json, sys, time
sys.path[:0] = {paths!r}
cpu, wall = time.process_time(), time.perf_counter()
importlib.import_module({module!r})
print(json.dumps({{"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}}))
"""


# The frameworks alone, timed as CHILD times a handler: each builds the least a handler on it could (one route
# through Mangum; one compiled graph next to the PostgreSQL checkpointer Think resumes from), with none of our code.
FLOORS = {
    "api": (
        "FastAPI + Mangum, one route",
        """
import fastapi, mangum, pydantic
class Answer(pydantic.BaseModel):
    status: str
app = fastapi.FastAPI()
@app.get("/health", response_model=Answer)
def health() -> Answer:
    return Answer(status="ok")
handler = mangum.Mangum(app, lifespan="off")
""",
    ),
    "think": (
        "LangGraph + its PostgreSQL checkpointer, one graph",
        """
from typing import TypedDict
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import StateGraph
class State(TypedDict):
    step: int
graph = StateGraph(State)
graph.add_node("step", lambda state: {"step": state["step"] + 1})
graph.set_entry_point("step")
graph.set_finish_point("step")
compiled = graph.compile()
""",
    ),
}
# With the collector paused as the two handlers import (phi.lifetime), so that the floor gets the same help.
CHILD_FLOOR = """
import gc, json, sys, time
sys.path[:0] = [{layer!r}]
cpu, wall = time.process_time(), time.perf_counter()
gc.disable()
exec(compile({source!r}, "<floor>", "exec"), {{}})
gc.freeze()
gc.enable()
print(json.dumps({{"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}}))
"""


def time_floor(python: str, service: str, layer: Path) -> dict:
    measured: dict = _run_child(python, CHILD_FLOOR.format(layer=str(layer), source=FLOORS[service][1]), service, None)
    return measured


# The API's first requests, each sequence in a fresh interpreter: a cold start followed by these GETs (no
# database, no AWS call: /health, 401s before any I/O, and the console's log-in page). A router is installed at the
# first request that can reach it (phi.api.route_groups), so a route's first request pays for its router, the
# API's dependencies and the database driver: "route first" is the cold start as a client's call sees it.
AN_AGENT = "/agents/0b6a7b64-6c52-4d56-9a44-3f1f0c1f2a55"
FIRST_REQUEST_SEQUENCES = {
    "api": ("/health", "/orgs", "/health"),
    "route first": (f"{AN_AGENT}/tasks", f"{AN_AGENT}/documents", f"{AN_AGENT}/tasks"),
    "console": ("/console/login", "/console/login"),
}
FIRST_REQUEST_LABELS = {
    ("api", 0): "first API request (GET /health)",
    ("api", 1): "first authenticated route, no token (GET /orgs)",
    ("api", 2): "a warm API request (GET /health)",
    ("route first", 0): "first request, a route (GET …/tasks, no token)",
    ("route first", 1): "another router's first request (…/documents)",
    ("route first", 2): "a warm route (GET …/tasks, no token)",
    ("console", 0): "first console page (GET /console/login)",
    ("console", 1): "a warm console page (GET /console/login)",
}

# Imports the API handler, then calls it as Lambda does with API Gateway REST proxy events on the
# execute-api domain (so the stage /dev is the root path, as deployed); CPU and wall seconds per step.
CHILD_REQUESTS = """
import importlib, json, sys, time
sys.path[:0] = [{code!r}, {layer!r}]


class Context:
    function_name = "phi-dev-api"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self):
        return 29_000


def event(path):
    domain = "abc123.execute-api.us-east-1.amazonaws.com"
    return {{
        "resource": "/{{proxy+}}", "path": path, "httpMethod": "GET",
        "headers": {{"host": domain}}, "multiValueHeaders": {{"host": [domain]}},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "requestContext": {{"stage": "dev", "domainName": domain, "path": "/dev" + path,
                            "identity": {{"sourceIp": "192.0.2.1"}}}},
        "body": None, "isBase64Encoded": False,
    }}


steps = []
cpu, wall = time.process_time(), time.perf_counter()
module = importlib.import_module({module!r})
steps.append({{"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}})
for path in {paths!r}:
    cpu, wall = time.process_time(), time.perf_counter()
    response = module.handler(event(path), Context())
    steps.append({{"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                   "status": response["statusCode"]}})
print(json.dumps(steps))
"""


def load_builder() -> object:
    spec = importlib.util.spec_from_file_location("build_layers", REPO_ROOT / "layers" / "build_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_layers"] = module
    spec.loader.exec_module(module)
    return module


def baseline_code(ref: str, target: Path) -> Path:
    """``functions/`` as it was at ``ref`` (no bytecode)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", ref, "functions"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "functions"


def baseline_only_packages(builder: Any) -> Path:
    """A folder holding BASELINE_ONLY_REQUIREMENTS for Lambda's Python, no bytecode (kept between runs)."""
    target = builder.BUILD_DIR / "baseline-only"
    stamp = target / ".requirements"
    if not (stamp.exists() and stamp.read_text(encoding="utf-8") == repr(BASELINE_ONLY_REQUIREMENTS)):
        subprocess.run(builder.pip_install_command(["--no-deps", *BASELINE_ONLY_REQUIREMENTS], target), check=True)
        stamp.write_text(repr(BASELINE_ONLY_REQUIREMENTS), encoding="utf-8")
    return target


def _run_child(python: str, script: str, service: str, pycache_prefix: Path | None) -> Any:
    flags = ["-I", "-S", "-B"]
    if pycache_prefix is not None:
        flags += ["-X", f"pycache_prefix={pycache_prefix}"]
    builder: Any = sys.modules.get("build_layers") or load_builder()
    env = {  # what CDK sets, as the layer build's import trace uses it, named for this function
        **builder.LAMBDA_IMPORT_ENVIRONMENT,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": f"phi-dev-{service}",
        "AWS_LAMBDA_FUNCTION_NAME": service,
    }
    result = subprocess.run(
        [python, *flags, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def time_import(python: str, module: str, paths: list[Path], service: str, pycache_prefix: Path | None) -> dict:
    """``paths``: the code asset, then the layer's folders."""
    measured: dict = _run_child(
        python, CHILD.format(paths=[str(path) for path in paths], module=module), service, pycache_prefix
    )
    return measured


def time_first_requests(python: str, code: Path, layer: Path, paths: tuple[str, ...]) -> list[dict] | dict:
    """The API handler's import, then each GET through the handler, in one fresh interpreter: CPU and wall
    seconds per step (the import first) and each response's status."""
    script = CHILD_REQUESTS.format(code=str(code), layer=str(layer), module=HANDLERS["api"], paths=list(paths))
    measured: list[dict] | dict = _run_child(python, script, "api", None)
    return measured


def median_steps(runs: list[list[dict] | dict]) -> list[dict] | dict:
    """Per step, the median CPU and wall seconds over the runs (the status of the last run)."""
    failed = [run for run in runs if isinstance(run, dict)]
    if failed:
        return failed[0]
    sequences = [run for run in runs if isinstance(run, list)]
    return [{**median_of(list(steps)), "status": steps[-1].get("status")} for steps in zip(*sequences, strict=True)]


def print_first_requests(python: str, code: Path, layer: Path, repeat: int) -> None:
    print(
        f"\nThe API's first requests through the Lambda handler (deployed variant), CPU seconds (wall in brackets), "
        f"median of {repeat}; each sequence in a fresh interpreter:"
    )
    for sequence, paths in FIRST_REQUEST_SEQUENCES.items():
        measured = median_steps([time_first_requests(python, code, layer, paths) for _ in range(repeat)])
        if isinstance(measured, dict):
            print(f"{sequence}: error: {measured.get('error')}")
            continue
        print(f"{sequence}:")
        rows = [("import (builds the app)", measured[0])]
        rows += [(FIRST_REQUEST_LABELS[(sequence, i)], step) for i, step in enumerate(measured[1:])]
        for label, step in rows:
            status = f"  -> {step['status']}" if step.get("status") is not None else ""
            print(f"  {label:<52} {step['cpu']:>6.3f} [{step['wall']:>6.3f}]{status}")
        first = measured[0]["cpu"] + measured[1]["cpu"]
        print(f"  {'= cold start + ' + FIRST_REQUEST_LABELS[(sequence, 0)]:<52} {first:>6.3f}")


def median_of(runs: list[dict]) -> dict:
    if any("error" in run for run in runs):
        return next(run for run in runs if "error" in run)
    return {key: statistics.median(run[key] for run in runs) for key in ("cpu", "wall")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-ref", default=DEFAULT_BASELINE_REF)
    args = parser.parse_args(argv)

    builder = load_builder()
    report = builder.ensure_built()  # type: ignore[attr-defined]
    builder.print_report(report)  # type: ignore[attr-defined]
    python = builder.lambda_python()  # type: ignore[attr-defined]
    if python is None or not report.bytecode:
        print("no Python 3.12 found: set PHI_LAMBDA_PYTHON", file=sys.stderr)
        return 2
    layer = Path(report.layers[0].path) / "python"
    code = Path(report.code_path)

    with tempfile.TemporaryDirectory() as scratch:
        empty_cache = Path(scratch) / "no-pycache"
        empty_cache.mkdir()
        old_code = baseline_code(args.baseline_ref, Path(scratch) / "baseline")
        bare_layer = builder.ensure_variant_without_bytecode()  # type: ignore[attr-defined]
        variants = {
            f"baseline ({args.baseline_ref}, no bytecode)": (
                [old_code, bare_layer, baseline_only_packages(builder)],
                empty_cache,
            ),
            "today's code, no bytecode": ([code, bare_layer], empty_cache),
            "deployed (bytecode)": ([code, layer], None),
        }
        results: dict[str, dict[str, dict]] = {name: {} for name in variants}
        for service, module in HANDLERS.items():
            for name, (paths, prefix) in variants.items():
                runs = [time_import(python, module, paths, service, prefix) for _ in range(args.repeat)]
                results[name][service] = median_of(runs)

    print(f"\nHandler import, CPU seconds (wall in brackets), median of {args.repeat}, Python 3.12 -I -S -B:")
    names = list(variants)
    print(f"{'handler':<12} " + " ".join(f"{name:>34}" for name in names) + f" {'goal':>6} {'speed-up':>9}")
    for service in HANDLERS:
        cells = []
        for name in names:
            measured = results[name][service]
            cells.append(
                f"{'error: ' + measured['error'][:26]:>34}"
                if "error" in measured
                else f"{measured['cpu']:>25.2f} [{measured['wall']:>5.2f}]"
            )
        before, after = results[names[0]][service], results[names[-1]][service]
        ratio = f"{before['cpu'] / after['cpu']:.1f}x" if "cpu" in before and "cpu" in after else "-"
        print(f"{service:<12} " + " ".join(cells) + f" {GOALS.get(service, DEFAULT_GOAL):>6.1f} {ratio:>9}")
    print(f"\nEach goal's floor: the framework alone, deployed layer, CPU seconds (wall), median of {args.repeat}:")
    for service, (label, _) in FLOORS.items():
        floor = median_of([time_floor(python, service, layer) for _ in range(args.repeat)])
        handler = results[names[-1]][service]
        if "error" in floor or "cpu" not in handler:
            print(f"{service:<12} {label:<52} error: {floor.get('error', handler.get('error'))}")
            continue
        ours = handler["cpu"] - floor["cpu"]
        print(
            f"{service:<12} {label:<52} {floor['cpu']:>6.2f} [{floor['wall']:>5.2f}]  goal {GOALS[service]:.1f};"
            f" the handler adds {ours:.2f} s"
        )
    print_first_requests(python, code, layer, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
