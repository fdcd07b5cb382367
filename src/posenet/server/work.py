"""Admission and execution: a bounded work queue and the worker threads that decode images
and run the model, one model call at a time."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import os
import threading
import time
from typing import Any

import numpy as np

from ..errors import ImageTooLargeError, InvalidImageError
from ..families import PoseModel
from ..images import SAFE_FORMATS, decode_image
from ..options import PoseOptions
from ..serialize import poses_to_json
from .errors import ApiError, short

log = logging.getLogger("posenet.server")

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest accepted image, in pixels (width * height), checked before the full decode."""
DEFAULT_MAX_QUEUE = 8
"""Most requests admitted at once (being decoded, waiting for the model or running)."""


class WorkQueue:
    """Admission control on the event loop: at most ``capacity`` jobs admitted at once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.admitted = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_acquire(self) -> bool:
        """Take a slot if one is free (HTTP: the caller answers 503 otherwise)."""
        if self.admitted < self.capacity and not self._waiters:
            self.admitted += 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a slot (streams)."""
        if self.try_acquire():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            raise

    def release(self) -> None:
        """Give a slot back, handing it to the oldest waiter if any."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.admitted -= 1


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


class Estimator:
    """Runs decode + estimate jobs in worker threads; ``model_lock`` keeps model calls one
    at a time, so the next image is decoded while the current one is estimated."""

    def __init__(self, model: PoseModel, *, max_pixels: int, max_queue: int) -> None:
        self.model = model
        self.max_pixels = max_pixels
        self.queue = WorkQueue(max_queue)
        workers = max(1, min(max_queue, os.cpu_count() or 2, 4))
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="posenet")
        self.model_lock = threading.Lock()
        self.requests = 0
        self.failures = 0

    def _estimate(self, data: bytes, options: PoseOptions) -> dict[str, Any]:
        t0 = time.perf_counter()
        image: np.ndarray = decode_image(data, max_pixels=self.max_pixels, formats=SAFE_FORMATS)
        t1 = time.perf_counter()
        with self.model_lock:
            t2 = time.perf_counter()
            poses = self.model.estimate(image, options)
            t3 = time.perf_counter()
        return {
            "width": int(image.shape[1]),
            "height": int(image.shape[0]),
            "poses": poses_to_json(poses),
            "timing": {"decode_ms": _ms(t1 - t0), "queue_ms": _ms(t2 - t1), "inference_ms": _ms(t3 - t2)},
        }

    def _job(self, data: bytes, options: PoseOptions) -> dict[str, Any]:
        """:meth:`_estimate`, with the library's errors mapped to HTTP statuses (the one
        place that does it): an image over ``max_pixels`` 413, any other unreadable
        image 400, options the model refuses 422."""
        try:
            return self._estimate(data, options)
        except ImageTooLargeError as exc:
            raise ApiError(413, short(exc)) from None
        except InvalidImageError as exc:
            raise ApiError(400, short(exc)) from None
        except ValueError as exc:
            raise ApiError(422, short(exc)) from None

    async def run(self, data: bytes, options: PoseOptions, *, wait: bool) -> dict[str, Any]:
        """Admit, decode and estimate one image. ``wait=False`` raises 503 when full."""
        t0 = time.perf_counter()
        if wait:
            await self.queue.acquire()
        elif not self.queue.try_acquire():
            raise ApiError(503, f"busy: {self.queue.capacity} requests already in progress, retry shortly")
        loop = asyncio.get_running_loop()
        try:
            cfut = self.pool.submit(self._job, data, options)
        except BaseException:
            self.queue.release()
            raise
        # The slot is freed when the thread finishes, even if the awaiting task is cancelled.
        cfut.add_done_callback(lambda _f: loop.call_soon_threadsafe(self.queue.release))
        self.requests += 1
        try:
            result = await asyncio.wrap_future(cfut)
        except ApiError:
            raise
        except Exception:
            self.failures += 1
            log.exception("pose estimation failed")
            raise ApiError(500, "internal error while estimating poses") from None
        result["timing"]["total_ms"] = _ms(time.perf_counter() - t0)
        return result

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
