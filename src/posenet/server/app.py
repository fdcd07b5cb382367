"""The FastAPI app around the pose models it offers: routes, error answers, the page.

Endpoints: ``POST /v1/poses`` (one image -> poses), ``WS /v1/stream`` (frames in, poses
out, stale frames dropped), ``GET /healthz``, ``GET /v1/models`` (what is offered),
``GET /v1/models/{name}`` (one model's info, loading it), ``GET /openapi.json``,
``GET /docs`` (an offline API page) and ``GET /`` (the webcam / photo page).
Requests and streams choose a model with ``model=`` (default: the default model).

Options default to the preset :data:`posenet.options.DEFAULT_PRESET`, so a request gives
what ``model.estimate(image, DEFAULT_PRESET)`` and the command line give. Every request
passes :class:`~.guard.HostOriginGuard` first (loopback ``Host`` names only by default).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__, checkpoints
from ..families import PoseModel
from ..options import DEFAULT_PRESET, MIN_INPUT_SIDE, max_input_side
from ..serialize import jsonable
from .errors import ApiError
from .guard import HostOriginGuard
from .limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_MODELS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STREAMS,
    DEFAULT_MAX_UPLOAD_BYTES,
    body_budget,
    frame_slots,
    host_name,
)
from .models import Loader, ModelHub, model_name, reloader
from .schemas import ERROR_RESPONSES, ErrorResponse, PosesResponse, parse_options, presets_json, query_parameters
from .stream import serve_stream
from .uploads import REQUEST_BODY, body_unread, read_image, upload_size, upload_type
from .work import Estimator

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The page and the docs load nothing from elsewhere; the policy makes the browser enforce it.
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
    "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _server_timing(timing: dict[str, float]) -> str:
    return ", ".join(f"{k.removesuffix('_ms')};dur={v}" for k, v in timing.items())


def _check_limits(max_upload_bytes: int, max_pixels: int, max_queue: int, max_streams: int, max_body_bytes: int,
                  body_timeout: float, workers: int | None) -> None:
    if min(max_upload_bytes, max_pixels, max_queue, max_streams, max_body_bytes, 1 if workers is None else workers) < 1:
        raise ValueError("max_upload_bytes, max_pixels, max_queue, max_streams, max_body_bytes and workers "
                         "must be positive")
    if not (math.isfinite(body_timeout) and body_timeout > 0):
        raise ValueError(f"body_timeout must be a positive number of seconds, got {body_timeout!r}")


def model_hub(model: PoseModel | None, models: Mapping[str, Loader | None] | None, default_model: str | None,
              max_models: int, max_streams: int) -> ModelHub:
    """The models of :func:`create_app`: ``model`` (a loaded instance) under its family name,
    and ``models`` (name -> loader); the default is ``default_model``, else ``model``'s, else
    the first of ``models``."""
    loaders: dict[str, Loader | None] = dict(models or {})
    preloaded: dict[str, PoseModel] = {}
    if model is not None:
        name = model_name(model)
        loaders.setdefault(name, reloader(model))
        loaders = {name: loaders.pop(name), **loaders}
        preloaded[name] = model
    if not loaders:
        raise ValueError("create_app needs a model, or models to load")
    default = default_model or next(iter(loaders))
    return ModelHub(loaders, default, max_models=max_models, max_idle=max_streams, preloaded=preloaded)


def _lifespan(estimator: Estimator) -> Any:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        estimator.close()

    return lifespan


def create_app(
    model: PoseModel | None = None,
    *,
    models: Mapping[str, Loader | None] | None = None,
    default_model: str | None = None,
    max_models: int = DEFAULT_MAX_MODELS,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_queue: int = DEFAULT_MAX_QUEUE,
    max_streams: int = DEFAULT_MAX_STREAMS,
    max_body_bytes: int | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    workers: int | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
) -> FastAPI:
    """Build the service around a loaded ``model`` (``posenet.load()``) and/or ``models`` to
    load on first use (name -> loader, e.g. ``{"movenet-lightning": lambda:
    posenet.create_detector("movenet-lightning")}``), at most ``max_models`` kept loaded
    (:mod:`.models`); ``default_model`` answers requests naming no ``model``.

    ``max_upload_bytes`` bounds a body or stream frame (413), ``max_pixels`` the decoded
    image (413, checked from the header), ``max_queue`` the HTTP requests admitted at once
    (503, before their body is read), ``max_body_bytes`` the bytes their bodies announce
    (503; default ``3 * max_upload_bytes``), ``max_streams`` the open streams (1013),
    ``body_timeout`` the seconds a body may take to arrive (408). ``workers`` threads
    decode and estimate (default: one per core; load the model with ``num_threads=1``
    when there are several). ``allowed_hosts`` adds ``Host`` names to the loopback ones,
    ``allowed_origins`` WebSocket / upload origins to the service's own (``"*"``: any).
    """
    body_bytes = body_budget(max_upload_bytes) if max_body_bytes is None else max_body_bytes
    _check_limits(max_upload_bytes, max_pixels, max_queue, max_streams, body_bytes, body_timeout, workers)
    hosts, origins = [host_name(h) for h in allowed_hosts], list(allowed_origins)
    hub = model_hub(model, models, default_model, max_models, max_streams)
    estimator = Estimator(hub, max_pixels=max_pixels, max_queue=max_queue, max_body_bytes=body_bytes,
                          max_streams=max_streams, workers=workers)

    app = FastAPI(title="posenet-py", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=_lifespan(estimator), description="Human pose estimation on this machine.")
    app.add_middleware(HostOriginGuard, hosts=hosts, origins=origins)
    app.state.estimator = estimator
    app.state.hub = hub
    app.state.limits = {"max_models": max_models, "max_upload_bytes": max_upload_bytes, "max_pixels": max_pixels,
                        "max_queue": max_queue, "max_body_bytes": body_bytes, "max_streams": max_streams,
                        "stream_frames_at_once": frame_slots(max_queue), "body_timeout_s": body_timeout,
                        "workers": estimator.workers, "min_input_side": MIN_INPUT_SIDE,
                        "max_input_side": max_input_side()}

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        close = exc.status == 408 or body_unread(request)  # a slow client, or a large unread body
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers(close=close))

    _add_api_routes(app, estimator, max_upload_bytes, body_timeout)
    _add_pages(app)
    return app


def _add_api_routes(app: FastAPI, estimator: Estimator, max_upload_bytes: int, body_timeout: float) -> None:
    @app.post("/v1/poses", response_model=PosesResponse, responses=ERROR_RESPONSES,
              openapi_extra={"parameters": query_parameters(), "requestBody": REQUEST_BODY},
              summary="Estimate the poses in one image")
    async def estimate_poses(request: Request) -> Response:
        """Send the image as the raw body (`Content-Type: image/jpeg`, `image/png`, ...) or
        as a multipart upload; options are query parameters (default: the preset's). Positions
        are pixels of the image as uploaded (EXIF orientation applied)."""
        query, options = parse_options(request.query_params, "query")
        mime = upload_type(request)
        result = await estimator.estimate_request(
            lambda: read_image(request, mime, max_upload_bytes, body_timeout), options,
            upload_size(request, max_upload_bytes), query.model)
        return JSONResponse(result, headers={"Server-Timing": _server_timing(result["timing"])})

    @app.get("/healthz", summary="Liveness and load")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", **estimator.load()}

    hub = estimator.hub

    @app.get("/v1/models", summary="The models offered, the PoseNet checkpoints on this machine, the presets")
    async def models() -> dict[str, Any]:
        """`models`: each model offered (`model=`), whether it is loaded, and its `info`
        (keypoint names, skeleton: index pairs into them) once loaded (`GET /v1/models/{name}`
        loads one); `loaded`: the default model's info."""
        available = await asyncio.to_thread(lambda: [s.to_dict() for s in checkpoints.all_status()])
        return {"loaded": await hub.info(hub.default), "default_model": hub.default, "models": hub.listing(),
                "available": jsonable(available), "presets": presets_json(), "default_preset": DEFAULT_PRESET,
                "limits": app.state.limits}

    @app.get("/v1/models/{name}", summary="One model's info (loads it on first use)",
             responses={404: {"model": ErrorResponse, "description": "A model the service does not offer."},
                        503: {"model": ErrorResponse, "description": "The model cannot be loaded here."}})
    async def model_info(name: str) -> dict[str, Any]:
        """The model's `info()`: family, name, `keypoint_names`, `skeleton` (pairs of indices
        into `keypoint_names`), input size, engine and the family's own settings."""
        if name not in hub.names:
            raise ApiError(404, f"unknown model {name[:64]!r}: this service offers {', '.join(hub.names)}")
        return await hub.info(name)

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        await serve_stream(ws, estimator, max_upload_bytes)


def _add_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.html", headers=PAGE_HEADERS)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
