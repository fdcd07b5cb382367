"""The reference's binary max-heap, kept for its exact pop order among equal keys."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class MaxHeap(Generic[T]):
    """The reference's array-backed binary max-heap (``max_heap.js``), kept exactly for
    its pop order among equal keys (which is neither FIFO nor LIFO).

    Node 0 has the single child 1; node ``k >= 1`` has children ``2k`` and ``2k + 1``.
    """

    __slots__ = ("_items", "_keys")

    def __init__(self) -> None:
        self._keys: list[float] = []
        self._items: list[T] = []

    def __len__(self) -> int:
        return len(self._keys)

    def _exchange(self, i: int, j: int) -> None:
        keys, items = self._keys, self._items
        keys[i], keys[j] = keys[j], keys[i]
        items[i], items[j] = items[j], items[i]

    def push(self, key: float, item: T) -> None:
        """Append ``item`` and swim it up while its parent's key is strictly smaller."""
        keys, items = self._keys, self._items
        k = len(keys)
        keys.append(key)
        items.append(item)
        # The reference swaps the new element with its parent while the parent is
        # smaller; moving the parents down and writing the new element once is the same.
        while k > 0 and keys[k // 2] < key:
            keys[k], items[k] = keys[k // 2], items[k // 2]
            k //= 2
        keys[k], items[k] = key, item

    def pop(self) -> tuple[float, T]:
        """Remove and return ``(key, item)`` of the root: swap it with the last element,
        drop it, then sink the new root. Raises ``IndexError`` when empty."""
        keys = self._keys
        last = len(keys) - 1
        if last < 0:
            raise IndexError("pop from an empty MaxHeap")
        self._exchange(0, last)
        key, item = keys.pop(), self._items.pop()
        last -= 1
        k = 0
        while 2 * k <= last:
            j = 2 * k  # at k = 0 this is k itself, so only node 1 is a candidate
            if j < last and keys[j] < keys[j + 1]:
                j += 1
            if not keys[k] < keys[j]:
                break
            self._exchange(k, j)
            k = j
        return key, item
