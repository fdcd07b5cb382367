"""Reading an uploaded image: content types, the body limit and multipart forms."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from .errors import ApiError, short

DEFAULT_MAX_UPLOAD_BYTES = 20_000_000
"""Largest accepted request body (or stream frame), in bytes."""

MULTIPART = "multipart/form-data"
IMAGE_TYPES = frozenset({
    "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/x-png", "image/apng", "image/webp",
    "image/bmp", "image/x-bmp", "image/x-ms-bmp", "image/gif", "image/tiff", "application/octet-stream",
})
"""Content types of a raw-body upload (or of the file in a multipart form)."""

_BINARY = {"schema": {"type": "string", "format": "binary"}}
REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "The image as the raw body, or a multipart form with one file (field `image` or `file`).",
    "content": {
        **dict.fromkeys(("image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif", "image/tiff",
                         "application/octet-stream"), _BINARY),
        MULTIPART: {"schema": {"type": "object", "properties": {"image": {"type": "string", "format": "binary"}},
                               "required": ["image"]}},
    },
}
"""The OpenAPI request body of ``POST /v1/poses``."""


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
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


async def image_from_request(request: Request, limit: int) -> bytes:
    """The image bytes of an upload: the raw body (an image type) or the first file of a
    multipart form. 415 for other types, 413 over ``limit``, 400 for a broken form."""
    mime = _mime(request.headers.get("content-type"))
    if not mime:
        raise ApiError(415, "missing Content-Type: send e.g. 'Content-Type: image/jpeg'")
    if mime != MULTIPART and mime not in IMAGE_TYPES:
        raise ApiError(415, f"unsupported Content-Type {mime!r}: send an image (image/jpeg, image/png, "
                       "image/webp, image/bmp, image/gif, image/tiff) or multipart/form-data")
    body = await read_body(request, limit)
    return body if mime != MULTIPART else await _file_from_form(request, body)


async def _file_from_form(request: Request, body: bytes) -> bytes:
    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(request.headers, once(), max_files=1, max_fields=16, max_part_size=64 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, f"malformed multipart body: {exc.message}") from None
    except Exception as exc:  # noqa: BLE001 - any failure to parse untrusted bytes is the client's
        raise ApiError(400, f"malformed multipart body: {short(exc)}") from None
    try:
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise ApiError(400, "multipart body has no file: upload the image as field 'image'")
        part_type = _mime(files[0].content_type)
        if part_type and part_type not in IMAGE_TYPES:
            raise ApiError(415, f"unsupported file type {part_type!r}: upload an image")
        return await files[0].read()
    finally:
        await form.close()
