"""A bounded, thread-safe map that makes what it lacks: the least recently used entry leaves first (standard
library only). Think keeps its compiled graphs in one, search its questions' vectors in another."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Making(Generic[V]):
    """An entry one thread is making; the others missing the same key wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.made = False
        self.value: V | None = None


class RecentlyUsed(Generic[K, V]):
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the size must be at least 1")
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._making: dict[K, _Making[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V], keep: bool = True) -> V:
        """The entry for `key`, made by `make()` (outside the lock, so other keys go on meanwhile) and kept unless
        `keep` is false. Threads missing a kept key at once make it once: the first makes it, the others wait
        for it (ten reports starting together compiled the same graph and embedded the same question ten
        times). A make that fails raises in its own thread only: a waiter then tries again itself."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key]
                if not keep:
                    break
                pending = self._making.get(key)
                if pending is None:
                    making = self._making[key] = _Making()
                    break
            pending.done.wait()
            if pending.made:
                return pending.value  # type: ignore[return-value]
        if not keep:
            return make()
        return self._make_and_keep(key, make, making)

    def _make_and_keep(self, key: K, make: Callable[[], V], making: _Making[V]) -> V:
        try:
            value = make()
        except BaseException:
            with self._lock:
                del self._making[key]
            making.done.set()
            raise
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
            del self._making[key]
        making.value, making.made = value, True
        making.done.set()
        return value

    def __len__(self) -> int:
        return len(self._entries)
