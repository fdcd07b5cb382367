"""The WebSocket protocol of ``/v1/stream``: binary messages are frames, text messages JSON
options (``{"type": "options", ...}``, ``model`` among them) or the time of the next frame
(``{"type": "frame", "timestamp_ms": T}``); stale frames are dropped, oldest first.

Each stream has a detector of its own (:meth:`.models.ModelHub.lease`): a model that
follows a stream (MoveNet's crop, filters, tracker) sees this client's frames only, in
order, each with its time in milliseconds: the client's ``timestamp_ms`` when it sent one
for that frame (increasing; e.g. the capture time), else the time the frame arrived since
the stream opened. Changing ``model`` starts the new model on a fresh stream state.

Replies: ``ready`` once (the options in force, the model's info, the presets), ``poses``
per processed frame (with the ``model`` that made it), ``dropped`` per frame replaced by a
newer one before it was processed, ``options`` after a change (with the model's info),
``error`` (with an HTTP-like ``status``) for a bad frame or message. Frames are numbered
from 1 in the order they arrive.

Close codes: 1008 for a bad query (after a 400 or 422 ``error``) or a refused ``Origin``
(see :mod:`.guard`), 1013 when ``max_streams`` streams are already open (after a 503
``error``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..options import DEFAULT_PRESET, PoseOptions
from ..serialize import dumps
from .errors import ApiError
from .models import Lease
from .schemas import RequestBase, parse_options, presets_json
from .work import Estimator

log = logging.getLogger("posenet.server")

_GONE = (WebSocketDisconnect, RuntimeError, OSError)
"""What a send or receive raises once the client has gone."""


async def _refuse(ws: WebSocket, exc: ApiError, code: int, reason: str) -> None:
    await ws.send_text(dumps({"type": "error", "status": exc.status, "detail": exc.detail}))
    await ws.close(code=code, reason=reason)


async def serve_stream(ws: WebSocket, estimator: Estimator, max_bytes: int) -> None:
    """Accept a stream, answer ``ready`` (or an error and close) and serve it until the client goes."""
    if not estimator.open_stream():
        busy = ApiError(503, f"too many streams: {estimator.max_streams} are open, the limit; "
                        "close one (another tab?) or retry later")
        with contextlib.suppress(*_GONE):
            await ws.accept()
            await _refuse(ws, busy, 1013, "too many streams open; retry later")
        return
    try:
        await ws.accept()
        try:
            request, options = parse_options(ws.query_params, "query")
            name = estimator.hub.check(request.model)
            info = await estimator.hub.info(name)
        except ApiError as exc:
            await _refuse(ws, exc, 1008, "invalid options in the query")
            return
        session = StreamSession(ws, estimator, request, options, max_bytes)
        await session.send({**session.options_message("ready", info), "presets": presets_json(),
                            "default_preset": DEFAULT_PRESET, "max_frame_bytes": max_bytes,
                            "models": estimator.hub.names})
        await session.run()
    except _GONE:
        pass  # the client went away
    finally:
        estimator.close_stream()


@dataclass(frozen=True)
class Frame:
    """A received frame: its number, bytes, time (ms), the options and model in force then."""

    seq: int
    data: bytes
    timestamp_ms: float
    options: PoseOptions
    model: str


class StreamSession:
    """One client's stream: the options and model in force, the newest pending frame, the
    stream's detector, a worker."""

    def __init__(self, ws: WebSocket, estimator: Estimator, request: RequestBase, options: PoseOptions,
                 max_bytes: int) -> None:
        self.ws = ws
        self.estimator = estimator
        self.hub = estimator.hub
        self.request = request
        self.options = options
        self.model = self.hub.check(request.model)
        self.max_bytes = max_bytes
        self.pending: collections.deque[Frame] = collections.deque(maxlen=1)
        self.wake = asyncio.Event()
        self.received = self.processed = self.dropped = 0
        self.opened = time.monotonic()
        self.next_timestamp: float | None = None
        self.last_timestamp = -math.inf
        self.lease: Lease | None = None
        self._send_lock = asyncio.Lock()

    async def send(self, msg: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_text(dumps(msg))

    def options_message(self, kind: str, info: dict[str, Any] | None) -> dict[str, Any]:
        """``{"type": kind, "preset", "options", "model_name", "model"}``: the options in force,
        resolved, and the model's name and info."""
        return {"type": kind, "preset": self.request.preset, "options": self.options.to_dict(),
                "model_name": self.model, "model": info}

    async def run(self) -> None:
        """Serve frames and options until the client goes; then give the detector back."""
        task = asyncio.create_task(self._worker())
        try:
            await self._receive(task)
        except _GONE:
            pass  # the client went away (also while we were sending to it)
        finally:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, *_GONE):
                pass
            except Exception:  # noqa: BLE001 - the stream is over either way
                log.debug("stream worker ended", exc_info=True)
            if self.lease is not None:
                self.lease.close()

    async def _receive(self, task: asyncio.Task[None]) -> None:
        while not task.done():
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("bytes") is not None:
                await self._on_frame(msg["bytes"])
            elif msg.get("text") is not None:
                await self._on_text(msg["text"])

    def _timestamp(self) -> float:
        """The time of the frame just received (ms): the client's, else since the stream opened."""
        stamp, self.next_timestamp = self.next_timestamp, None
        if stamp is None:
            stamp = max((time.monotonic() - self.opened) * 1000.0, self.last_timestamp + 1e-3)
        self.last_timestamp = stamp
        return stamp

    async def _on_frame(self, data: bytes) -> None:
        self.received += 1
        seq = self.received
        stamp = self._timestamp()
        if len(data) > self.max_bytes:
            await self.send({"type": "error", "frame": seq, "status": 413,
                             "detail": f"frame too large: {len(data)} bytes, the limit is {self.max_bytes}"})
            return
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
            await self.send({"type": "dropped", "frame": self.pending[0].seq})
        self.pending.append(Frame(seq, data, stamp, self.options, self.model))
        self.wake.set()

    async def _detector(self, name: str) -> Lease:
        """The stream's detector for model ``name`` (a new one, fresh, when the model changed)."""
        if self.lease is not None and self.lease.name == name:
            return self.lease
        if self.lease is not None:
            self.lease.close()
            self.lease = None
        self.lease = Lease(self.hub, name, await self.hub.lease(name))
        return self.lease

    async def _process(self, frame: Frame) -> dict[str, Any]:
        lease = await self._detector(frame.model)
        model, options, stamp = lease.model, frame.options, frame.timestamp_ms
        lease.hold()
        result = await self.estimator.estimate_frame(
            frame.data, lambda image: model.estimate(image, options, timestamp_ms=stamp), lease.drop)
        return {"model": frame.model, **result}

    async def _worker(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                frame = self.pending.popleft()
                try:
                    result = await self._process(frame)
                except ApiError as exc:
                    await self.send({"type": "error", "frame": frame.seq, "status": exc.status,
                                     "detail": exc.detail})
                    continue
                self.processed += 1
                await self.send({"type": "poses", "frame": frame.seq, **result, "dropped": self.dropped})

    async def _on_text(self, text: str) -> None:
        """Apply ``{"type": "options", ...}``: the fields named change (``null`` = back
        to the preset's value); answer ``options`` or ``error``."""
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            nested = isinstance(exc, RecursionError)
            await self.send({"type": "error", "status": 400,
                             "detail": "JSON nested too deeply" if nested else "text messages must be JSON"})
            return
        kind = msg.get("type", "options") if isinstance(msg, dict) else None
        if kind == "frame":
            await self._on_frame_time(msg)
            return
        if not isinstance(msg, dict) or kind != "options":
            await self.send({"type": "error", "status": 400, "detail": 'expected {"type": "options", ...}, '
                             '{"type": "frame", "timestamp_ms": T} or a binary image frame'})
            return
        update = {k: v for k, v in msg.items() if k != "type"}
        try:
            request, options = parse_options({**self.request.model_dump(), **update}, "options")
            name = self.hub.check(request.model)
            info = await self.hub.info(name)
        except ApiError as exc:
            await self.send({"type": "error", "status": exc.status, "detail": exc.detail})
            return
        self.request, self.options, self.model = request, options, name
        await self.send(self.options_message("options", info))

    async def _on_frame_time(self, msg: dict[str, Any]) -> None:
        """``{"type": "frame", "timestamp_ms": T}``: the time of the next binary frame, in
        milliseconds on the client's clock, later than the previous frame's."""
        stamp = msg.get("timestamp_ms")
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp) \
                or stamp <= self.last_timestamp or set(msg) - {"type", "timestamp_ms"}:
            await self.send({"type": "error", "status": 422, "detail": "a frame message is "
                             '{"type": "frame", "timestamp_ms": T}: T a number of milliseconds, later than the '
                             f"previous frame's ({self.last_timestamp:g})"})
            return
        self.next_timestamp = float(stamp)
