"""Shared fixtures. The embedded stack (real PostgreSQL via pgserver, moto server with Step Functions execution,
the real ASL file, the FastAPI app under uvicorn) is started once per test session and torn down after it."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import ApiSession


@pytest.fixture(scope="session")
def stack() -> Iterator[object]:
    from phi.embedded.stack import EmbeddedStack

    # Not under pytest's tmp dir: that is mode 0700, and PostgreSQL runs as its own user.
    data_dir = Path(tempfile.mkdtemp(prefix="phi-test-stack-"))
    # Tool steps long enough that no test races them on a slow, shared machine; tests of the timeouts set their own.
    embedded = EmbeddedStack(data_dir=data_dir, tool_timeout_seconds=300, tool_heartbeat_seconds=300)
    embedded.start()
    yield embedded
    embedded.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def api_url(stack: object) -> str:
    return stack.info.api_url  # type: ignore[attr-defined]


@pytest.fixture
def new_user(api_url: str) -> ApiSession:
    """A freshly signed-up user with their own organisation."""
    session = ApiSession(api_url)
    session.sign_up(f"user-{uuid.uuid4().hex[:12]}@example.com")
    session.create_org("Test Org")
    return session


@pytest.fixture
def settings_override() -> Iterator[dict[str, str]]:
    """Set PHI_* variables for one test; the in-process handlers re-read settings; restored afterwards."""
    from phi.settings import get_settings

    changes: dict[str, str] = {}
    saved = dict(os.environ)
    yield changes  # the test fills it, then calls apply_settings(changes)
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def apply_settings(changes: dict[str, str]) -> None:
    from phi.settings import get_settings

    os.environ.update(changes)
    get_settings.cache_clear()


REPO_ROOT = Path(__file__).resolve().parents[1]
