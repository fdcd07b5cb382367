"""Local HTTP service and browser page for posenet (``pip install posenet-py[server]``).

>>> import posenet, posenet.server
>>> posenet.server.serve(posenet.load())            # doctest: +SKIP
>>> app = posenet.server.create_app(posenet.load())  # an ASGI app, for your own server

Modules: :mod:`.app` (routes, pages), :mod:`.schemas` (request options generated from
:data:`posenet.options.POSE_OPTION_SPECS`, documented responses), :mod:`.uploads` (body
limit, content types, multipart), :mod:`.work` (work queue, model calls), :mod:`.stream`
(the WebSocket protocol), :mod:`.run` (:func:`serve`).
"""

from __future__ import annotations

from .app import create_app
from .run import serve
from .schemas import RequestOptions
from .uploads import DEFAULT_MAX_UPLOAD_BYTES
from .work import DEFAULT_MAX_PIXELS, DEFAULT_MAX_QUEUE

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "RequestOptions",
    "create_app",
    "serve",
]
