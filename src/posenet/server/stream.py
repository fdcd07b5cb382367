"""The WebSocket protocol of ``/v1/stream``: binary messages are frames, text messages JSON
options; stale frames are dropped, oldest first.

Replies: ``ready`` once (the options in force, the model, the presets), ``poses`` per
processed frame, ``dropped`` per frame replaced by a newer one before it was processed,
``options`` after a change, ``error`` (with an HTTP-like ``status``) for a bad frame or
message. Frames are numbered from 1 in the order they arrive.

Close codes: 1008 for a bad query (after a 422 ``error``) or a refused ``Origin`` (see
:mod:`.guard`), 1013 when ``max_streams`` streams are already open (after a 503 ``error``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..options import DEFAULT_PRESET, PoseOptions
from ..serialize import dumps
from .errors import ApiError
from .schemas import RequestBase, parse_options, presets_json
from .work import Estimator

log = logging.getLogger("posenet.server")

_GONE = (WebSocketDisconnect, RuntimeError, OSError)
"""What a send or receive raises once the client has gone."""


async def _refuse(ws: WebSocket, exc: ApiError, code: int, reason: str) -> None:
    await ws.send_text(dumps({"type": "error", "status": exc.status, "detail": exc.detail}))
    await ws.close(code=code, reason=reason)


async def serve_stream(ws: WebSocket, estimator: Estimator, model_info: dict[str, Any], max_bytes: int) -> None:
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
        except ApiError as exc:
            await _refuse(ws, exc, 1008, "invalid options in the query")
            return
        session = StreamSession(ws, estimator, request, options, max_bytes)
        await session.send({**session.options_message("ready"), "model": model_info, "presets": presets_json(),
                            "default_preset": DEFAULT_PRESET, "max_frame_bytes": max_bytes})
        await session.run()
    except _GONE:
        pass  # the client went away
    finally:
        estimator.close_stream()


class StreamSession:
    """One client's stream: the options in force, the newest pending frame, a worker."""

    def __init__(self, ws: WebSocket, estimator: Estimator, request: RequestBase, options: PoseOptions,
                 max_bytes: int) -> None:
        self.ws = ws
        self.estimator = estimator
        self.request = request
        self.options = options
        self.max_bytes = max_bytes
        self.pending: collections.deque[tuple[int, bytes, PoseOptions]] = collections.deque(maxlen=1)
        self.wake = asyncio.Event()
        self.received = self.processed = self.dropped = 0
        self._send_lock = asyncio.Lock()

    async def send(self, msg: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_text(dumps(msg))

    def options_message(self, kind: str) -> dict[str, Any]:
        """``{"type": kind, "preset", "options"}``: the options in force, resolved."""
        return {"type": kind, "preset": self.request.preset, "options": self.options.to_dict()}

    async def run(self) -> None:
        """Serve frames and options until the client goes."""
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

    async def _receive(self, task: asyncio.Task[None]) -> None:
        while not task.done():
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("bytes") is not None:
                await self._on_frame(msg["bytes"])
            elif msg.get("text") is not None:
                await self._on_text(msg["text"])

    async def _on_frame(self, data: bytes) -> None:
        self.received += 1
        seq = self.received
        if len(data) > self.max_bytes:
            await self.send({"type": "error", "frame": seq, "status": 413,
                             "detail": f"frame too large: {len(data)} bytes, the limit is {self.max_bytes}"})
            return
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
            await self.send({"type": "dropped", "frame": self.pending[0][0]})
        self.pending.append((seq, data, self.options))
        self.wake.set()

    async def _worker(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                seq, data, options = self.pending.popleft()
                try:
                    result = await self.estimator.estimate_frame(data, options)
                except ApiError as exc:
                    await self.send({"type": "error", "frame": seq, "status": exc.status, "detail": exc.detail})
                    continue
                self.processed += 1
                await self.send({"type": "poses", "frame": seq, **result, "dropped": self.dropped})

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
        if not isinstance(msg, dict) or msg.get("type", "options") != "options":
            await self.send({"type": "error", "status": 400,
                             "detail": 'expected {"type": "options", ...} or a binary image frame'})
            return
        update = {k: v for k, v in msg.items() if k != "type"}
        try:
            self.request, self.options = parse_options({**self.request.model_dump(), **update}, "options")
        except ApiError as exc:
            await self.send({"type": "error", "status": exc.status, "detail": exc.detail})
            return
        await self.send(self.options_message("options"))
