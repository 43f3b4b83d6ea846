"""The think handler imports, and a local embedding model loads, with the garbage collector paused, and leave it on,
with what they made frozen."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from phi.lifetime import imports_without_gc

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"


@pytest.fixture
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # the frozen objects go back to the oldest generation: this test process stays as it was
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_during_the_block_then_on_with_what_exists_frozen(collector_restored: None) -> None:
    gc.enable()
    frozen_before = gc.get_freeze_count()
    with imports_without_gc():
        assert not gc.isenabled()
        survivors = [[index] for index in range(1_000)]  # tracked objects made during the block
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(survivors)


def test_a_collector_that_was_off_stays_off(collector_restored: None) -> None:
    gc.disable()
    with imports_without_gc():
        pass
    assert not gc.isenabled()


def test_a_failing_import_still_gives_the_collector_back(collector_restored: None) -> None:
    gc.enable()
    with pytest.raises(ImportError), imports_without_gc():
        import phi.no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()


def test_the_think_handler_cold_start_leaves_the_collector_on_and_its_imports_frozen() -> None:
    """A fresh interpreter, as on Lambda: the import must not leave the collector off for the invocations."""
    code = (
        "import gc, json\n"
        "import phi.handlers.think\n"
        "print(json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count(),"
        " 'langgraph': 'langgraph.graph' in __import__('sys').modules}))"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PHI_", "AWS_", "POWERTOOLS_"))}
    environment = {
        **keep,
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PHI_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/phi",
        "PHI_DOCUMENTS_BUCKET": "b",
        "PHI_SECRETS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
        "PYTHONPATH": str(FUNCTIONS),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["enabled"] is True
    assert state["langgraph"] is True
    assert state["frozen"] > 50_000, state  # LangGraph, LangChain Core, pydantic, psycopg: ~130,000 objects


def test_a_local_embedding_model_loads_with_the_collector_paused_and_leaves_what_it_made_frozen(tmp_path: Path) -> None:
    """Loaded on first use, in a process already serving: its libraries and the model live as long as the process,
    and without the freeze every later full collection walks them again."""
    code = (
        "import gc, json\n"
        "from phi.embeddings.local import LocalEmbeddings\n"
        "before = gc.get_freeze_count()\n"
        f"LocalEmbeddings('wordllama-l2-supercat-256', cache_dir={str(tmp_path)!r}).embed(['dock slots'])\n"
        "print(json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count() - before}))"
    )
    environment = {**os.environ, "PYTHONPATH": str(FUNCTIONS)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["enabled"] is True
    assert state["frozen"] > 20_000, state  # WordLlama and numpy's objects: ~60,000
