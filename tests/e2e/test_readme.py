"""The README's shell session, run as written (bash, curl, python3) against the embedded stack."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e
SECTION = "## Running the embedded stack yourself"


def readme_shell_session() -> str:
    """Every bash block of the README's embedded-stack section that talks to the API with curl."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(SECTION)
    section = readme[start : readme.index("\n## ", start + len(SECTION))]
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL) if "curl" in b]
    assert blocks, "the README's curl walkthrough is gone"
    return "\n".join(blocks)


def test_the_readme_curl_walkthrough_works_as_written(api_url: str, tmp_path: Path) -> None:
    from phi_agent.config import load_config
    from phi_agent.tools.registry import build_registry

    assert shutil.which("curl") and shutil.which("python3"), "the walkthrough needs curl and python3"
    # The README signs up ana@example.com; other tests on the same stack (the OpenAPI fuzz uses the documented
    # examples) may have taken that address, so this run signs up its own.
    session = readme_shell_session().replace("ana@example.com", f"ana-{uuid.uuid4().hex[:12]}@example.com")
    assert "@example.com" in session
    env = {**os.environ, "API": api_url}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", session], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"

    # Run again, as a user does the next day on the same stack: the address is taken, so it logs in and goes on
    again = subprocess.run(
        ["bash", "-c", session], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert again.returncode == 0 and again.stdout.strip().startswith("phi_ak_"), again.stderr

    # The last command printed the agent key, and the config it downloaded is one the local agent runs with
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("phi_ak_")
    runtime = load_config(tmp_path / "phi-agent-config.yaml", environ={})
    assert runtime.agent.name == "Warehouse analyst"  # the role template's name
    registry = build_registry(runtime.agent, environ={"PHI_WAREHOUSE_DB_URL": "sqlite:///:memory:"})
    try:
        assert registry.keys == ["db.query", "file.read"]
        assert registry.get("file.read").base_dir == tmp_path / "files"  # type: ignore[attr-defined]
    finally:
        registry.close()
    credentials = httpx.post(f"{api_url}/local-agents/credentials", headers={"Authorization": f"Bearer {key}"})
    assert credentials.status_code == 200, credentials.text
