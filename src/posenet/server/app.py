"""The local HTTP service: a FastAPI app around one loaded :class:`posenet.PoseNet`.

Endpoints: ``POST /v1/poses`` (one image -> poses), ``WS /v1/stream`` (frames in, poses
out, stale frames dropped), ``GET /healthz``, ``GET /v1/models``, ``GET /openapi.json``,
``GET /docs`` (an offline API page) and ``GET /`` (the webcam / photo page).

The model is loaded once by the caller and shared. Image decoding and inference run in
worker threads, never on the event loop; inference itself is serialised by a lock, so the
decoding of the next image overlaps the inference of the current one. A bounded work
queue admits at most ``max_queue`` requests at a time: HTTP requests beyond it get 503 at
once, stream frames wait for a slot (and the stream keeps only the newest pending frame).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import io
import json
import logging
import math
import os
import re
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Literal

import numpy as np
from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect
from starlette.websockets import WebSocketDisconnect

from ..errors import InvalidImageError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "MAX_INPUT_RESOLUTION",
    "PoseOptions",
    "create_app",
    "serve",
]

log = logging.getLogger("posenet.server")

DEFAULT_MAX_UPLOAD_BYTES = 20_000_000
"""Largest accepted request body (or stream frame), in bytes."""
DEFAULT_MAX_PIXELS = 40_000_000
"""Largest accepted image, in pixels (width * height), checked before the full decode."""
DEFAULT_MAX_QUEUE = 8
"""Most requests admitted at once (being decoded, waiting for the model or running)."""
MIN_INPUT_RESOLUTION = 17
MAX_INPUT_RESOLUTION = 1025
"""Bounds of each side of a per-request ``input_resolution`` (the reference demos use <= 801)."""

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Pillow plugins an upload may be decoded with (nothing exotic from untrusted bytes).
Image.init()
_PIL_FORMATS = tuple(f for f in ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF") if f in Image.OPEN)
_IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/png",
        "image/x-png",
        "image/apng",
        "image/webp",
        "image/bmp",
        "image/x-bmp",
        "image/x-ms-bmp",
        "image/gif",
        "image/tiff",
        "application/octet-stream",
    }
)
_MULTIPART = "multipart/form-data"
_RESOLUTION_RE = re.compile(r"^\s*(\d{1,6})\s*(?:[xX,]\s*(\d{1,6}))?\s*$")

# The page and the docs load nothing from elsewhere; the policy makes the browser enforce it.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
    "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class ApiError(Exception):
    """A request the service refuses: an HTTP status and a message for the client."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class PoseOptions(BaseModel):
    """Options of one estimate; the query parameters of ``POST /v1/poses`` and the
    fields of a stream's ``options`` message. Unknown names are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["single", "multi"] = Field(
        "multi", description="`single`: one pose (the reference's estimateSinglePose); "
        "`multi`: up to `max_detections` poses (estimateMultiplePoses)."
    )
    flip_horizontal: bool = Field(
        False, description="Mirror the poses horizontally (for mirrored webcam video)."
    )
    max_detections: int = Field(5, ge=1, le=100, description="Multi-pose: most poses returned.")
    score_threshold: float = Field(
        0.5, ge=0.0, le=1.0, allow_inf_nan=False,
        description="Multi-pose: smallest root part score that starts a pose.",
    )
    nms_radius: float = Field(
        20.0, gt=0.0, le=1000.0, allow_inf_nan=False,
        description="Multi-pose: non-maximum suppression radius, in pixels of the model input.",
    )
    input_resolution: str | None = Field(
        None, max_length=20,
        description=f"Model input size for this request: `N` (square) or `WIDTHxHEIGHT`, each "
        f"side in [{MIN_INPUT_RESOLUTION}, {MAX_INPUT_RESOLUTION}]; default: the loaded model's.",
        examples=["257", "353x257"],
    )

    @field_validator("input_resolution")
    @classmethod
    def _check_resolution(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        m = _RESOLUTION_RE.match(value)
        if not m:
            raise ValueError("must be N or WIDTHxHEIGHT, e.g. 257 or 353x257")
        sides = [int(g) for g in m.groups() if g is not None]
        if not all(MIN_INPUT_RESOLUTION <= s <= MAX_INPUT_RESOLUTION for s in sides):
            raise ValueError(
                f"each side must be in [{MIN_INPUT_RESOLUTION}, {MAX_INPUT_RESOLUTION}]"
            )
        return "x".join(str(s) for s in sides)

    def resolution(self) -> int | tuple[int, int] | None:
        """``input_resolution`` as the library takes it: an int or ``(width, height)``."""
        if self.input_resolution is None:
            return None
        sides = [int(s) for s in self.input_resolution.split("x")]
        return sides[0] if len(sides) == 1 else (sides[0], sides[1])


# --------------------------------------------------------------------------- responses
# Documentation of the JSON shapes (responses are built as plain dicts for speed).


class _Position(BaseModel):
    x: float
    y: float


class _Keypoint(BaseModel):
    score: float
    part: str
    position: _Position


class _Pose(BaseModel):
    score: float
    keypoints: list[_Keypoint]


class _Timing(BaseModel):
    decode_ms: float = Field(description="Reading and decoding the image.")
    queue_ms: float = Field(description="Waiting for the model.")
    inference_ms: float = Field(description="Estimating the poses (network + decoding).")
    total_ms: float = Field(description="From the whole body received to the answer.")


class PosesResponse(BaseModel):
    """Poses in the pixel frame of the uploaded image (EXIF orientation applied)."""

    width: int
    height: int
    poses: list[_Pose]
    timing: _Timing


class _ErrorResponse(BaseModel):
    detail: Any


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": _ErrorResponse, "description": "Empty, undecodable or truncated image."},
    413: {"model": _ErrorResponse, "description": "Body over max_upload_bytes or image over max_pixels."},
    415: {"model": _ErrorResponse, "description": "Unsupported Content-Type."},
    422: {"model": _ErrorResponse, "description": "Bad or unknown query parameter."},
    503: {"model": _ErrorResponse, "description": "The work queue is full; retry later."},
}


def _finite(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def _pose_json(pose: Any) -> dict[str, Any]:
    """``Pose.to_dict()`` with plain, JSON-safe floats (NaN/inf become null)."""
    d = pose.to_dict()
    return {
        "score": _finite(d["score"]),
        "keypoints": [
            {
                "score": _finite(k["score"]),
                "part": k["part"],
                "position": {"x": _finite(k["position"]["x"]), "y": _finite(k["position"]["y"])},
            }
            for k in d["keypoints"]
        ],
    }


# ---------------------------------------------------------------------------- decoding


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode an upload to uint8 RGB ``[H, W, 3]`` with Pillow (EXIF orientation applied).

    Raises :class:`ApiError` 413 when the header announces more than ``max_pixels``
    pixels (before anything is decompressed) and 400 when the bytes are not a complete
    image in a supported format.
    """
    if not data:
        raise ApiError(400, "empty body: send the image bytes")
    try:
        img = Image.open(io.BytesIO(data), formats=_PIL_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ApiError(413, f"image too large: {exc}") from None
    except Exception as exc:  # any failure to parse untrusted bytes is the client's
        raise ApiError(400, f"cannot decode image: {_short(exc)}") from None
    try:
        width, height = img.size
        if width * height > max_pixels:
            raise ApiError(
                413, f"image too large: {width}x{height} = {width * height} pixels, "
                f"the limit is {max_pixels}"
            )
        if width <= 0 or height <= 0:
            raise ApiError(400, f"image has no pixels ({width}x{height})")
        try:
            img.load()
        except Exception as exc:
            raise ApiError(400, f"cannot decode image ({img.format}): {_short(exc)}") from None
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # a malformed EXIF block: keep the stored orientation
            pass
        try:
            if img.mode != "RGB":  # as the library does for files: alpha is dropped
                img = img.convert("RGB")
            array = np.asarray(img, dtype=np.uint8)
        except Exception as exc:
            raise ApiError(400, f"cannot convert {img.mode} image to RGB: {_short(exc)}") from None
    finally:
        img.close()
    if array.ndim != 3 or array.shape[2] != 3:
        raise ApiError(400, f"decoded image has shape {array.shape}, expected HxWx3")
    return array


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# ---------------------------------------------------------------------------- the work


class WorkQueue:
    """Admission control on the event loop: at most ``capacity`` jobs admitted at once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.admitted = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_acquire(self) -> bool:
        """Take a slot if one is free (HTTP: the caller answers 503 otherwise)."""
        if self.admitted < self.capacity and not self._waiters:
            self.admitted += 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a slot (streams)."""
        if self.try_acquire():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            raise

    def release(self) -> None:
        """Give a slot back, handing it to the oldest waiter if any."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.admitted -= 1


class Estimator:
    """Runs decode + estimate jobs in worker threads, one model call at a time."""

    def __init__(self, net: Any, *, max_pixels: int, max_queue: int) -> None:
        self.net = net
        self.max_pixels = max_pixels
        self.queue = WorkQueue(max_queue)
        workers = max(1, min(max_queue, os.cpu_count() or 2, 4))
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="posenet")
        self._model_lock = threading.Lock()
        self.requests = 0
        self.failures = 0

    def _job(self, data: bytes, opts: PoseOptions) -> dict[str, Any]:
        t0 = time.perf_counter()
        image = decode_image(data, self.max_pixels)
        t1 = time.perf_counter()
        with self._model_lock:
            t2 = time.perf_counter()
            try:
                if opts.mode == "single":
                    poses = [
                        self.net.estimate_single_pose(
                            image, opts.flip_horizontal, input_resolution=opts.resolution()
                        )
                    ]
                else:
                    poses = self.net.estimate_multiple_poses(
                        image,
                        opts.flip_horizontal,
                        opts.max_detections,
                        opts.score_threshold,
                        opts.nms_radius,
                        input_resolution=opts.resolution(),
                    )
            except InvalidImageError as exc:
                raise ApiError(400, _short(exc)) from None
            except ValueError as exc:  # an option the model refuses
                raise ApiError(422, _short(exc)) from None
            t3 = time.perf_counter()
        return {
            "width": int(image.shape[1]),
            "height": int(image.shape[0]),
            "poses": [_pose_json(p) for p in poses],
            "timing": {
                "decode_ms": round((t1 - t0) * 1e3, 3),
                "queue_ms": round((t2 - t1) * 1e3, 3),
                "inference_ms": round((t3 - t2) * 1e3, 3),
            },
        }

    async def run(self, data: bytes, opts: PoseOptions, *, wait: bool) -> dict[str, Any]:
        """Admit, decode and estimate one image. ``wait=False`` raises 503 when full."""
        t0 = time.perf_counter()
        if wait:
            await self.queue.acquire()
        elif not self.queue.try_acquire():
            raise ApiError(
                503, f"busy: {self.queue.capacity} requests already in progress, retry shortly"
            )
        loop = asyncio.get_running_loop()
        try:
            cfut = self.pool.submit(self._job, data, opts)
        except BaseException:
            self.queue.release()
            raise
        # The slot is freed when the thread finishes, even if the awaiting task is cancelled.
        cfut.add_done_callback(lambda _f: loop.call_soon_threadsafe(self.queue.release))
        self.requests += 1
        try:
            result = await asyncio.wrap_future(cfut)
        except ApiError:
            raise
        except Exception:
            self.failures += 1
            log.exception("pose estimation failed")
            raise ApiError(500, "internal error while estimating poses") from None
        result["timing"]["total_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
        return result

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------- helpers


def model_info(net: Any) -> dict[str, Any]:
    """What is loaded: architecture, stride, multiplier, weights, default input size."""
    res = getattr(net, "input_resolution", None)
    if isinstance(res, (tuple, list)) and len(res) == 2:
        resolution: Any = {"height": int(res[0]), "width": int(res[1])}
    elif isinstance(res, (int, float)):
        resolution = {"height": int(res), "width": int(res)}
    else:
        resolution = None
    info: dict[str, Any] = {
        "architecture": getattr(net, "architecture", None),
        "output_stride": getattr(net, "output_stride", None),
        "multiplier": getattr(net, "multiplier", None),
        "quant_bytes": getattr(net, "quant_bytes", None),
        "input_resolution": resolution,
    }
    for key, attr in (("engine", "engine_name"), ("tfjs_compat", "tfjs_compat"),
                      ("model_path", "model_path")):
        value = getattr(net, attr, None)
        if value is not None:
            info[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return _jsonable(info)


def available_models() -> list[dict[str, Any]]:
    """The official checkpoints and whether each is on this machine (no network access)."""
    try:
        from .. import checkpoints
    except ImportError:
        return []
    out = []
    try:
        items = list(checkpoints.all_checkpoints())
    except Exception:
        log.exception("cannot list checkpoints")
        return []
    for ckpt in items:
        if dataclasses.is_dataclass(ckpt) and not isinstance(ckpt, type):
            entry = dataclasses.asdict(ckpt)
        elif isinstance(ckpt, dict):
            entry = dict(ckpt)
        elif hasattr(ckpt, "_asdict"):
            entry = ckpt._asdict()
        else:
            entry = {"name": str(ckpt)}
        for attr in ("name", "precision"):
            value = getattr(ckpt, attr, None)
            if isinstance(value, str):
                entry[attr] = value
        try:
            entry["local"] = checkpoints.locate(ckpt) is not None
        except Exception:
            entry["local"] = False
        out.append(_jsonable(entry))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return str(value)


def _validation_error(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors(include_url=False):
        item = {k: err[k] for k in ("type", "loc", "msg") if k in err}
        item["loc"] = [where, *item.get("loc", ())]
        if "input" in err:
            item["input"] = _jsonable(err["input"])
        errors.append(item)
    return errors


def _parse_options(params: Any) -> PoseOptions:
    """Validate query parameters (last value wins) into :class:`PoseOptions` or raise 422."""
    try:
        return PoseOptions.model_validate({k: params[k] for k in params.keys()})
    except ValidationError as exc:
        raise RequestValidationError(_validation_error(exc, "query")) from None


def _query_parameters_schema() -> list[dict[str, Any]]:
    schema = PoseOptions.model_json_schema()
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        params.append(
            {"name": name, "in": "query", "required": False, "description": description, "schema": prop}
        )
    return params


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_POSES_OPENAPI: dict[str, Any] = {
    "parameters": _query_parameters_schema(),
    "requestBody": {
        "required": True,
        "description": "The image as the raw body, or a multipart form with one file "
        "(field `image` or `file`).",
        "content": {
            **{t: _BINARY for t in ("image/jpeg", "image/png", "image/webp", "image/bmp",
                                     "image/gif", "image/tiff", "application/octet-stream")},
            _MULTIPART: {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
        },
    },
}


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "invalid Content-Length") from None
        if size > limit:
            raise ApiError(413, f"body too large: {size} bytes, the limit is {limit}")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise ApiError(413, f"body too large: over the limit of {limit} bytes")
    except ClientDisconnect:  # nobody is left to answer; keep the log quiet
        raise ApiError(400, "client disconnected before the body was complete") from None
    return bytes(body)


async def _image_from_request(request: Request, limit: int) -> bytes:
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if not mime:
        raise ApiError(415, "missing Content-Type: send e.g. 'Content-Type: image/jpeg'")
    if mime != _MULTIPART and mime not in _IMAGE_TYPES:
        raise ApiError(
            415, f"unsupported Content-Type {mime!r}: send an image (image/jpeg, image/png, "
            "image/webp, image/bmp, image/gif, image/tiff) or multipart/form-data"
        )
    body = await _read_body(request, limit)
    if mime != _MULTIPART:
        return body

    async def once() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(
            request.headers, once(), max_files=1, max_fields=16, max_part_size=64 * 1024
        ).parse()
    except MultiPartException as exc:
        raise ApiError(400, f"malformed multipart body: {exc.message}") from None
    except Exception as exc:
        raise ApiError(400, f"malformed multipart body: {_short(exc)}") from None
    try:
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise ApiError(400, "multipart body has no file: upload the image as field 'image'")
        upload = files[0]
        part_type = (upload.content_type or "").split(";", 1)[0].strip().lower()
        if part_type and part_type not in _IMAGE_TYPES:
            raise ApiError(415, f"unsupported file type {part_type!r}: upload an image")
        return await upload.read()
    finally:
        await form.close()


# ---------------------------------------------------------------------------- the app


def create_app(
    net: Any,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> FastAPI:
    """Build the service around a loaded model (``posenet.load(...)``).

    ``max_upload_bytes`` bounds a body or stream frame (413), ``max_pixels`` the decoded
    image (413, checked from the header), ``max_queue`` the requests admitted at once (503).
    """
    if max_upload_bytes < 1 or max_pixels < 1 or max_queue < 1:
        raise ValueError("max_upload_bytes, max_pixels and max_queue must be positive")
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels  # our own check (413) replaces Pillow's
    estimator = Estimator(net, max_pixels=max_pixels, max_queue=max_queue)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        estimator.close()

    try:
        from .. import __version__ as version
    except ImportError:
        version = "0"
    app = FastAPI(
        title="posenet-py",
        version=str(version),
        description="Human pose estimation (TensorFlow.js PoseNet 2.2.2, ported) on this machine.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.estimator = estimator
    app.state.limits = {
        "max_upload_bytes": max_upload_bytes,
        "max_pixels": max_pixels,
        "max_queue": max_queue,
    }

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    @app.post(
        "/v1/poses",
        response_model=PosesResponse,
        responses=_ERROR_RESPONSES,
        openapi_extra=_POSES_OPENAPI,
        summary="Estimate the poses in one image",
    )
    async def estimate_poses(request: Request) -> Response:
        """Send the image as the raw body (`Content-Type: image/jpeg`, `image/png`, ...) or
        as a multipart upload; options are query parameters. Positions are pixels of the
        image as uploaded (EXIF orientation applied)."""
        opts = _parse_options(request.query_params)
        data = await _image_from_request(request, max_upload_bytes)
        result = await estimator.run(data, opts, wait=False)
        t = result["timing"]
        server_timing = ", ".join(
            f"{k.removesuffix('_ms')};dur={v}" for k, v in t.items()
        )
        return JSONResponse(result, headers={"Server-Timing": server_timing})

    @app.get("/healthz", summary="Liveness and load")
    async def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "in_progress": estimator.queue.admitted,
            "max_queue": estimator.queue.capacity,
            "requests": estimator.requests,
            "internal_errors": estimator.failures,
        }

    @app.get("/v1/models", summary="The loaded model and the checkpoints on this machine")
    async def models() -> dict[str, Any]:
        available = await asyncio.to_thread(available_models)
        return {"loaded": model_info(net), "available": available, "limits": app.state.limits}

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket) -> None:
        await _stream(ws, estimator, net, max_upload_bytes)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.html", headers=_PAGE_HEADERS)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _stream(ws: WebSocket, estimator: Estimator, net: Any, max_bytes: int) -> None:
    """One stream: binary messages are frames, text messages JSON options.

    Replies: ``ready`` once, ``poses`` per processed frame, ``dropped`` per frame
    replaced by a newer one before it was processed, ``options`` after a change,
    ``error`` (with an HTTP-like ``status``) for a bad frame or message.
    """
    await ws.accept()
    send_lock = asyncio.Lock()

    async def send(msg: dict[str, Any]) -> None:
        async with send_lock:
            await ws.send_text(json.dumps(msg, allow_nan=False))

    try:
        options = PoseOptions.model_validate(dict(ws.query_params))
    except ValidationError as exc:
        await send({"type": "error", "status": 422, "detail": _validation_error(exc, "query")})
        await ws.close(code=1008)
        return
    await send({"type": "ready", "options": options.model_dump(), "model": model_info(net),
                "max_frame_bytes": max_bytes})

    pending: collections.deque[tuple[int, bytes, PoseOptions]] = collections.deque(maxlen=1)
    wake = asyncio.Event()
    counts = {"received": 0, "processed": 0, "dropped": 0}

    async def worker() -> None:
        while True:
            await wake.wait()
            wake.clear()
            while pending:
                seq, data, opts = pending.popleft()
                try:
                    result = await estimator.run(data, opts, wait=True)
                except ApiError as exc:
                    await send({"type": "error", "frame": seq, "status": exc.status,
                                "detail": exc.detail})
                    continue
                counts["processed"] += 1
                await send({"type": "poses", "frame": seq, **result, "dropped": counts["dropped"]})

    task = asyncio.create_task(worker())
    try:
        while True:
            if task.done():
                break
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            data = msg.get("bytes")
            text = msg.get("text")
            if data is not None:
                counts["received"] += 1
                seq = counts["received"]
                if len(data) > max_bytes:
                    await send({"type": "error", "frame": seq, "status": 413,
                                "detail": f"frame too large: {len(data)} bytes, the limit is {max_bytes}"})
                    continue
                if len(pending) == pending.maxlen:
                    old_seq = pending[0][0]
                    counts["dropped"] += 1
                    await send({"type": "dropped", "frame": old_seq})
                pending.append((seq, data, options))
                wake.set()
            elif text is not None:
                options = await _stream_options(text, options, send)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away (also while we were sending to it)
    finally:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
            pass
        except Exception:
            log.debug("stream worker ended", exc_info=True)


async def _stream_options(text: str, options: PoseOptions, send: Any) -> PoseOptions:
    """Apply an ``{"type": "options", ...}`` message; answer ``options`` or ``error``."""
    try:
        msg = json.loads(text)
    except ValueError:
        await send({"type": "error", "status": 400, "detail": "text messages must be JSON"})
        return options
    if not isinstance(msg, dict) or msg.get("type", "options") != "options":
        await send({"type": "error", "status": 400,
                    "detail": 'expected {"type": "options", ...} or a binary image frame'})
        return options
    update = {k: v for k, v in msg.items() if k != "type"}
    try:
        new = PoseOptions.model_validate({**options.model_dump(), **update})
    except ValidationError as exc:
        await send({"type": "error", "status": 422, "detail": _validation_error(exc, "options")})
        return options
    await send({"type": "options", "options": new.model_dump()})
    return new


def serve(
    net: Any,
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

    if host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("serving on %s: the service has no authentication", host)
    app = create_app(net, max_upload_bytes=max_upload_bytes, max_pixels=max_pixels,
                     max_queue=max_queue)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws_max_size=max_upload_bytes + 1024,
        server_header=False,
        proxy_headers=False,
    )
    shown = f"[{host}]" if ":" in host else host
    print(f"posenet: serving on http://{shown}:{port}/  (API docs: /docs; Ctrl+C to stop)",
          flush=True)
    uvicorn.Server(config).run()
