"""A bounded, thread-safe map that makes what it lacks: the least recently used entry leaves first (standard
library only). Think keeps its compiled graphs in one, search its questions' vectors in another."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentlyUsed(Generic[K, V]):
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the size must be at least 1")
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V], keep: bool = True) -> V:
        """The entry for `key`, made by `make()` (outside the lock, so other keys go on meanwhile) and kept unless
        `keep` is false. Two threads missing the same key at once both make it; the last one made is kept."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = make()
        if keep:
            with self._lock:
                self._entries[key] = value
                self._entries.move_to_end(key)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)
