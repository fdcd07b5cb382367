"""Admission and execution: bounded slots for HTTP requests and for stream frames, and the
worker threads that decode images and run a model, several at a time (no model lock: a
shared model serves several HTTP requests at once; a stream's frames go one at a time to
the stream's own detector, see :mod:`.models`)."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from .. import Pose
from ..errors import ImageTooLargeError, InvalidImageError
from ..images import SAFE_FORMATS, decode_image
from ..options import PoseOptions
from ..serialize import poses_to_json
from .errors import ApiError, short
from .limits import DEFAULT_MAX_STREAMS, default_workers, frame_slots
from .models import ModelHub

Estimate = Callable[[np.ndarray], list[Pose]]
"""One model call on a decoded uint8 ``[H, W, 3]`` RGB image: its poses (image pixels)."""

log = logging.getLogger("posenet.server")


class Slots:
    """At most ``capacity`` holders at once, counted on the event loop: :meth:`try_acquire`
    never waits (HTTP: 503 otherwise), :meth:`acquire` waits its turn, oldest first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def waiting(self) -> int:
        return sum(not f.done() for f in self._waiters)

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody waits for one."""
        if self.held < self.capacity and not self.waiting:
            self.held += 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a slot."""
        if self.try_acquire():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            with contextlib.suppress(ValueError):
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        """Give a slot back, handing it to the oldest waiter if any."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.held -= 1


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


class Estimator:
    """Runs decode + estimate jobs in ``workers`` threads (default: one per core).

    HTTP requests hold one of ``max_queue`` slots, and their announced size of the
    ``max_body_bytes`` budget (one request is always admitted when none is in progress),
    from before their body is read until their job ends. Stream frames share
    :func:`~.limits.frame_slots` slots of their own, so neither kind can starve the
    other; at most ``max_streams`` streams are open. ``hub`` holds the models."""

    def __init__(self, hub: ModelHub, *, max_pixels: int, max_queue: int, max_body_bytes: int,
                 max_streams: int = DEFAULT_MAX_STREAMS, workers: int | None = None) -> None:
        self.hub = hub
        self.max_pixels = max_pixels
        self.http = Slots(max_queue)
        self.max_body_bytes = max_body_bytes
        self.body_bytes = 0
        self.frames = Slots(frame_slots(max_queue))
        self.max_streams = max_streams
        self.streams = 0
        self.workers = default_workers() if workers is None else workers
        self.pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="posenet")
        self.requests = 0
        self.failures = 0

    def _estimate(self, data: bytes, estimate: Estimate, submitted: float) -> dict[str, Any]:
        t0 = time.perf_counter()
        image: np.ndarray = decode_image(data, max_pixels=self.max_pixels, formats=SAFE_FORMATS)
        t1 = time.perf_counter()
        poses = estimate(image)
        t2 = time.perf_counter()
        return {
            "width": int(image.shape[1]),
            "height": int(image.shape[0]),
            "poses": poses_to_json(poses),
            "timing": {"decode_ms": _ms(t1 - t0), "queue_ms": _ms(t0 - submitted), "inference_ms": _ms(t2 - t1)},
        }

    def _job(self, data: bytes, estimate: Estimate, submitted: float) -> dict[str, Any]:
        """:meth:`_estimate`, with the library's errors mapped to HTTP statuses (the one
        place that does it): an image over ``max_pixels`` 413, any other unreadable
        image 400, options the model refuses 422."""
        try:
            return self._estimate(data, estimate, submitted)
        except ImageTooLargeError as exc:
            raise ApiError(413, short(exc)) from None
        except InvalidImageError as exc:
            raise ApiError(400, short(exc)) from None
        except ValueError as exc:
            raise ApiError(422, short(exc)) from None

    async def _run(self, data: bytes, estimate: Estimate, release: Callable[[], None]) -> dict[str, Any]:
        """Decode and estimate in a worker; ``release`` gives the caller's slot back when
        the thread finishes (also if the awaiting task is cancelled)."""
        t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            cfut = self.pool.submit(self._job, data, estimate, t0)
        except BaseException:
            release()
            raise
        cfut.add_done_callback(lambda _f: loop.call_soon_threadsafe(release))
        self.requests += 1
        try:
            result: dict[str, Any] = await asyncio.wrap_future(cfut)
        except ApiError:
            raise
        except Exception:
            self.failures += 1
            log.exception("pose estimation failed")
            raise ApiError(500, "internal error while estimating poses") from None
        result["timing"]["total_ms"] = _ms(time.perf_counter() - t0)
        return result

    async def estimate_request(self, read: Callable[[], Awaitable[bytes]], options: PoseOptions,
                               size: int, model: str | None = None) -> dict[str, Any]:
        """Admit an HTTP request whose body announces ``size`` bytes (503 when
        ``max_queue`` requests are in progress, or their bodies would exceed
        ``max_body_bytes``), then ``read`` its body and estimate it as a still with the
        shared instance of ``model`` (a name the hub offers; ``None``: the default)."""
        name = self.hub.check(model)
        if self.body_bytes and self.body_bytes + size > self.max_body_bytes:
            raise ApiError(503, f"busy: {self.body_bytes} bytes of uploads in progress, retry shortly")
        if not self.http.try_acquire():
            raise ApiError(503, f"busy: {self.http.capacity} requests already in progress, retry shortly")
        self.body_bytes += size

        def release() -> None:
            self.body_bytes -= size
            self.http.release()

        try:
            data = await read()
            shared = await self.hub.shared(name)
        except BaseException:
            release()
            raise
        result = await self._run(data, lambda image: shared.estimate_batch([image], options)[0], release)
        return {"model": name, **result}

    async def estimate_frame(self, data: bytes, estimate: Estimate, done: Callable[[], None]) -> dict[str, Any]:
        """Wait for a frame slot, then run ``estimate`` on the decoded frame; ``done`` is
        called (on the event loop) once the worker thread has finished with it, also when
        the awaiting task was cancelled."""
        try:
            await self.frames.acquire()
        except BaseException:
            done()
            raise

        def release() -> None:
            self.frames.release()
            done()

        return await self._run(data, estimate, release)

    def open_stream(self) -> bool:
        """Count a new stream in, unless ``max_streams`` are open."""
        if self.streams >= self.max_streams:
            return False
        self.streams += 1
        return True

    def close_stream(self) -> None:
        self.streams -= 1

    def load(self) -> dict[str, Any]:
        """The figures of ``GET /healthz``."""
        return {"in_progress": self.http.held, "max_queue": self.http.capacity, "body_bytes": self.body_bytes,
                "streams": self.streams,
                "max_streams": self.max_streams, "frames_in_progress": self.frames.held, "workers": self.workers,
                "requests": self.requests, "internal_errors": self.failures, **self.hub.load()}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
