"""The embedded PostgreSQL's start on a busy machine: pgserver gives `pg_ctl start` 10 s and raises when a slow
first start passes them, leaving PostgreSQL starting and a half-made handle in its registry. pgserver itself is
replaced here (a real start cannot be made slow on demand); what is checked is that the stack waits and asks
again instead of failing, and forgets the half-made handle."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pgserver
import pytest
from pgserver.postgres_server import PostgresServer

from phi.embedded import postgres


class _HalfMade:
    def _cleanup(self) -> None:  # what pgserver registered with atexit
        pass


def _slow_then_started(pgdata: Path, failures: int) -> tuple[list[Path], Any]:
    calls: list[Path] = []
    started = object()

    def get_server(path: Path, cleanup_mode: str = "stop") -> Any:
        calls.append(path)
        if len(calls) <= failures:
            PostgresServer._instances[path.resolve()] = _HalfMade()  # type: ignore[assignment]  # as pgserver does
            raise subprocess.TimeoutExpired(["pg_ctl", "start"], 10)
        return started

    return calls, (get_server, started)


def test_a_start_past_pg_ctl_s_ten_seconds_is_waited_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls, (get_server, started) = _slow_then_started(tmp_path, failures=2)
    monkeypatch.setattr(pgserver, "get_server", get_server)
    assert postgres.start_server(tmp_path) is started
    assert calls == [tmp_path] * 3
    assert tmp_path.resolve() not in PostgresServer._instances  # the half-made handle is not handed out again


def test_a_start_that_never_comes_fails_with_pg_ctl_s_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls, (get_server, _) = _slow_then_started(tmp_path, failures=99)
    monkeypatch.setattr(pgserver, "get_server", get_server)
    with pytest.raises(subprocess.TimeoutExpired):
        postgres.start_server(tmp_path)
    assert len(calls) == postgres.START_ATTEMPTS
    PostgresServer._instances.pop(tmp_path.resolve(), None)
