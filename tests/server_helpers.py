"""Test helpers for the HTTP service: one shared real model and a live uvicorn server."""

from __future__ import annotations

import functools
import socket
import threading
import time
from typing import Any

import pytest


@functools.lru_cache(maxsize=1)
def real_net() -> Any:
    """The default checkpoint (MobileNetV1 0.75, stride 16, 257), loaded once per process
    from the shared weights (``POSENET_MODEL_DIR``, set by conftest.py)."""
    import posenet

    try:
        return posenet.load()
    except posenet.CheckpointUnavailableError as exc:  # pragma: no cover - no shared data
        pytest.skip(f"default checkpoint unavailable: {exc}")


class LiveServer:
    """``app`` served by uvicorn on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app: Any, *, ws_max_size: int = 16 * 1024 * 1024, **config: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(app, log_level="warning", ws_max_size=ws_max_size, lifespan="on",
                             server_header=False, **config)
        self.server = uvicorn.Server(cfg)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
