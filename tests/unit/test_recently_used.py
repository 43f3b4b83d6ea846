"""phi.recently_used: threads missing the same key at once make it once, while other keys go on; a failing make
raises in its own thread and a waiter makes the entry itself."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from phi.recently_used import RecentlyUsed


def test_threads_missing_the_same_key_at_once_make_it_once_and_share_it() -> None:
    kept: RecentlyUsed[str, list[str]] = RecentlyUsed(4)
    started, release = threading.Event(), threading.Event()
    made: list[str] = []

    def compile_graph() -> list[str]:
        made.append("graph")
        started.set()
        release.wait(30)  # every other thread asks while this make is in progress
        return ["graph", "compiled"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(kept.get, "template:DAILY", compile_graph)
        assert started.wait(30)
        others = [pool.submit(kept.get, "template:DAILY", compile_graph) for _ in range(7)]
        assert kept.get("template:WEEKLY", lambda: ["weekly"]) == ["weekly"]  # another key is not held up
        release.set()
        values = [first.result(30), *(other.result(30) for other in others)]
    assert made == ["graph"]
    assert all(value is values[0] for value in values) and values[0] == ["graph", "compiled"]


def test_a_failing_make_raises_in_its_own_thread_and_a_waiter_makes_the_entry_itself() -> None:
    kept: RecentlyUsed[str, str] = RecentlyUsed(4)
    started, release = threading.Event(), threading.Event()
    attempts: list[str] = []

    def failing() -> str:
        attempts.append("failing")
        started.set()
        release.wait(30)
        raise RuntimeError("model unavailable")

    def working() -> str:
        attempts.append("working")
        return "vector"

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(kept.get, "question", failing)
        assert started.wait(30)
        waiter = pool.submit(kept.get, "question", working)
        finished, _ = wait([waiter], timeout=0.5)
        assert not finished  # it waits for the make in progress rather than making its own
        release.set()
        with pytest.raises(RuntimeError):
            first.result(30)
        assert waiter.result(30) == "vector"
    assert attempts == ["failing", "working"]
    assert kept.get("question", failing) == "vector"
