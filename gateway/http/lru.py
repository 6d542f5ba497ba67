"""A small bounded LRU mapping (single-threaded: one per event loop/process).

Bounded by entry count and, when ``max_bytes`` is set, by the estimated bytes of its entries (``sizer``
estimates an entry once, on insert; ``bytes`` is the running total). An entry larger than the whole
budget is not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    __slots__ = ("_data", "_sizes", "bytes", "evictions", "hits", "max_bytes", "maxsize", "misses", "sizer")

    def __init__(self, maxsize: int, *, max_bytes: int | None = None,
                 sizer: Callable[[K, V], int] | None = None) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.sizer = sizer
        self._data: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] = {}
        self.bytes = 0  # accounted bytes of the entries kept (0 without a sizer)
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: K) -> V | None:
        try:
            value = self._data[key]
        except KeyError:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: K, value: V) -> None:
        if self.maxsize <= 0:
            return
        size = 0
        if self.sizer is not None and self.max_bytes is not None:
            size = self.sizer(key, value)
            if size > self.max_bytes:
                self.pop(key)
                return
        self.pop(key)
        self._data[key] = value
        if size:
            self._sizes[key] = size
            self.bytes += size
        while len(self._data) > self.maxsize or (self.max_bytes is not None and self.bytes > self.max_bytes):
            old, _ = self._data.popitem(last=False)
            self.bytes -= self._sizes.pop(old, 0)
            self.evictions += 1

    def pop(self, key: K) -> V | None:
        value = self._data.pop(key, None)
        self.bytes -= self._sizes.pop(key, 0)
        return value

    def clear(self) -> None:
        self._data.clear()
        self._sizes.clear()
        self.bytes = 0

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        """Cached keys, least recently used first (a snapshot: the cache may change meanwhile)."""
        return iter(list(self._data))
