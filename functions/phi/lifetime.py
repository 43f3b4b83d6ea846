"""Imports and objects made once per process, with the cyclic garbage collector paused (standard library only).

Importing LangGraph, LangChain Core, LangSmith, psycopg and pydantic allocates ~130,000 tracked objects (modules,
classes, functions, pydantic schemas) that live as long as the process. While they pile up the collector keeps
running, and each full collection walks all of them again: ~0.13 s of the think handler's ~0.75 s cold start
(issue 15 §1), for ~1,200 unreachable objects found in the end (0.5% of the memory blocks).

So the collector is off while the imports run; afterwards ``gc.freeze()`` moves everything they left to the
permanent generation, which no later collection walks (without it, the first full collection of an invocation
would walk them all once, ~0.05 s), and the collector is switched back on for the invocations. The price is those
import-time cycles, never reclaimed: a few hundred kilobytes, once per process. This is the standard library's
documented use of ``gc.freeze`` (objects created at start-up that live as long as the process).

A local embedding model is the same case, made on first use rather than at import: MiniLM's imports (torch,
transformers, sentence-transformers) and the model leave ~400,000 tracked objects that every later full
collection walked again (~0.1-0.2 s each; in the embedded stack's one process, 1.4 s of CPU over 50 daily
reports), so phi.embeddings.local loads a model the same way. Layer 0 (standard library only): the handlers and
the providers below them use it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def imports_without_gc() -> Iterator[None]:
    """Pauses the collector for the block, then freezes what exists and restores the collector's previous state
    (a process that had it off, such as a test run doing so on purpose, keeps it off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
