"""Local HTTP service and browser page for posenet (``pip install posenet-py[server]``).

>>> import posenet, posenet.server
>>> posenet.server.serve(posenet.load())            # doctest: +SKIP
>>> app = posenet.server.create_app(posenet.load())  # an ASGI app, for your own server
"""

from __future__ import annotations

from .app import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_UPLOAD_BYTES,
    PoseOptions,
    create_app,
    serve,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "PoseOptions",
    "create_app",
    "serve",
]
