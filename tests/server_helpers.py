"""Test helpers for the HTTP service: one shared real model, a live uvicorn server configured
as ``posenet serve`` configures it, and a model wrapper that lets a test hold calls."""

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


class GatedModel:
    """The real model, but each ``estimate`` first counts itself in (``inside``, ``entered``)
    and waits for ``gate`` (set: no waiting); ``barrier`` (if set) must be passed by that
    many calls at once, which only concurrent calls can do."""

    family = "posenet"

    def __init__(self, net: Any, *, gate_open: bool = False, barrier: int = 0) -> None:
        self.net = net
        self.gate = threading.Event()
        if gate_open:
            self.gate.set()
        self.barrier = threading.Barrier(barrier, timeout=10) if barrier else None
        self.inside = 0
        self.entered = threading.Semaphore(0)
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def info(self) -> Any:
        return self.net.info()

    def reset(self) -> None:
        self.net.reset()

    def estimate_batch(self, images: Any, options: Any = None, **overrides: Any) -> Any:
        return [self.estimate(image, options, **overrides) for image in images]

    def estimate(self, image: Any, options: Any = None, **overrides: Any) -> Any:
        start = time.perf_counter()
        with self._lock:
            self.inside += 1
        self.entered.release()
        try:
            if self.barrier is not None:
                self.barrier.wait()
            if not self.gate.wait(timeout=20):
                raise RuntimeError("the test never opened the gate")
            return self.net.estimate(image, options, **overrides)
        finally:
            with self._lock:
                self.inside -= 1
                self.spans.append((start, time.perf_counter()))

    def wait_inside(self, count: int, timeout: float = 10) -> None:
        """Block until ``count`` calls have entered ``estimate``."""
        for _ in range(count):
            assert self.entered.acquire(timeout=timeout), "estimate was not called"


class LiveServer:
    """``app`` served by uvicorn on 127.0.0.1 at a free port, in a background thread, with
    the settings of ``posenet serve`` (:func:`posenet.server.run.server_config`)."""

    def __init__(self, app: Any, **config: Any) -> None:
        import uvicorn

        from posenet.server.run import server_config

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(server_config(app, log_level="warning", **config))
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
