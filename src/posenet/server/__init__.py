"""Local HTTP service and browser page for posenet (``pip install posenet-py[server]``).

>>> import posenet, posenet.server
>>> posenet.server.serve(posenet.load())            # doctest: +SKIP
>>> app = posenet.server.create_app(posenet.load())  # an ASGI app, for your own server

Modules: :mod:`.app` (routes, pages), :mod:`.guard` (accepted ``Host`` and ``Origin``),
:mod:`.schemas` (request options generated from :data:`posenet.options.POSE_OPTION_SPECS`,
documented responses), :mod:`.uploads` (body limit and deadline, content types,
multipart), :mod:`.work` (admission, worker threads), :mod:`.models` (the models offered,
loaded on first use; a detector per stream), :mod:`.stream` (the WebSocket
protocol), :mod:`.run` (:func:`serve`, the uvicorn settings), :mod:`.limits` (the
defaults; importable without the ``server`` extra, as is this package: the rest loads on
first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_MODELS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STREAMS,
    DEFAULT_MAX_UPLOAD_BYTES,
    default_workers,
    engine_threads,
    host_name,
)

if TYPE_CHECKING:
    from .app import create_app
    from .run import serve
    from .schemas import RequestOptions

_LAZY = {"create_app": ".app", "serve": ".run", "RequestOptions": ".schemas"}

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_MODELS",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_MAX_STREAMS",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "RequestOptions",
    "create_app",
    "default_workers",
    "engine_threads",
    "host_name",
    "serve",
]


def __getattr__(name: str) -> Any:
    """``create_app``, ``serve`` and ``RequestOptions``, imported on first use (they need
    FastAPI and uvicorn)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
