"""Peak memory of a piece of work, measured alone in a fresh interpreter.

tracemalloc counts the allocations of every thread. A test process may host the embedded stack (started once
per session: its API, moto, pollers and running tasks go on between tests), so a peak measured in-process
includes whatever those threads allocate meanwhile, and a bound on it fails at random. Here each call runs in
a child process with nothing else going on: the peak is the call's own."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys, tracemalloc
spec = json.loads(sys.stdin.read())
scope = {}
exec(spec["setup"], scope)
measured = []
for call in spec["calls"]:
    tracemalloc.start()
    try:
        value, error = repr(eval(call, scope)), None
    except Exception as exc:
        value, error = None, f"{type(exc).__name__}: {exc}"
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    measured.append({"value": value, "error": error, "peak": peak})
print(json.dumps(measured))
"""


@dataclass(frozen=True)
class Measured:
    value: str | None  # repr of what the call returned
    error: str | None  # "ExceptionType: message" when it raised
    peak: int  # bytes, tracemalloc's peak during the call


def peaks_in_child(setup: str, calls: list[str], timeout: float = 600) -> list[Measured]:
    """Runs `setup` (imports, objects the calls use, a warm-up) in a fresh interpreter, then evaluates each
    call expression there with tracemalloc on: its result or error and its own peak."""
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps({"setup": setup, "calls": calls}),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"the measuring process failed: {completed.stderr[-3000:]}")
    return [Measured(**item) for item in json.loads(completed.stdout.strip().splitlines()[-1])]
