"""Running the service with uvicorn: :func:`serve`."""

from __future__ import annotations

import logging

from ..families import PoseModel
from .app import create_app
from .uploads import DEFAULT_MAX_UPLOAD_BYTES
from .work import DEFAULT_MAX_PIXELS, DEFAULT_MAX_QUEUE

log = logging.getLogger("posenet.server")

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def serve(
    model: PoseModel,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_bytes: int | None = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_queue: int | None = DEFAULT_MAX_QUEUE,
    *,
    log_level: str = "info",
) -> None:
    """Run the service with uvicorn until interrupted (loopback only by default).

    ``None`` for a limit means its default. Blocks; Ctrl+C stops it.
    """
    import uvicorn

    max_upload_bytes = DEFAULT_MAX_UPLOAD_BYTES if max_upload_bytes is None else max_upload_bytes
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    max_queue = DEFAULT_MAX_QUEUE if max_queue is None else max_queue
    if host not in LOOPBACK:
        log.warning("serving on %s: the service has no authentication", host)
    app = create_app(model, max_upload_bytes=max_upload_bytes, max_pixels=max_pixels, max_queue=max_queue)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, ws_max_size=max_upload_bytes + 1024,
                            server_header=False, proxy_headers=False)
    shown = f"[{host}]" if ":" in host else host
    print(f"posenet: serving on http://{shown}:{port}/  (API docs: /docs; Ctrl+C to stop)", flush=True)
    uvicorn.Server(config).run()
