"""Threads for the video pipeline: :func:`prefetch` reads ahead, :class:`Background`
runs calls (drawing, encoding) one after another, in order."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], size: int = 4) -> Iterator[T]:
    """Iterate over ``items`` in a background thread, up to ``size`` ahead, so that
    decoding overlaps the caller's work. Exceptions are re-raised in the caller; closing
    the returned generator stops and joins the thread.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=size)
    stop = threading.Event()
    end = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Raised(exc))

    thread = threading.Thread(target=run, name="posenet-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is end:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


class Background:
    """Run calls one after another in a background thread (e.g. draw + encode frames).

    An exception in a call is re-raised by the next :meth:`submit` or by :meth:`close`;
    later calls are skipped.
    """

    def __init__(self, size: int = 4) -> None:
        self._calls: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue(maxsize=size)
        self._error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._run, name="posenet-background", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            if self._error is None:
                try:
                    call[0](*call[1])
                except BaseException as exc:  # noqa: BLE001 - re-raised by the next submit or close
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None and not self._reported:
            self._reported = True
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` (blocks while ``size`` calls are waiting); re-raises an
        earlier call's exception."""
        self._raise()
        self._calls.put((fn, args))

    def close(self) -> None:
        """Wait for the queued calls to finish; re-raise the first error."""
        if self._thread.is_alive():
            self._calls.put(None)
            self._thread.join()
        self._raise()
