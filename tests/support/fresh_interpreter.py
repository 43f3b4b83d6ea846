"""Runs a script in a fresh interpreter and reads the JSON it prints last: for what the test process cannot
show any more, such as which modules an import loads (this process has imported everything already)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any


def json_from_fresh_interpreter(script: str, timeout: float = 300) -> Any:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"the script failed: {completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
