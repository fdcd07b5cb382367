"""Reading an uploaded image: content types, the body limit and deadline, multipart forms.

The content type is checked before the request is admitted (:func:`upload_type`), the body
is read only once it is (:func:`read_image`), within a deadline (408)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from .errors import ApiError, short
from .limits import DEFAULT_MAX_UPLOAD_BYTES

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "REQUEST_BODY", "body_unread", "read_image", "upload_size", "upload_type"]

DRAIN_BYTES = 1 << 20
"""An unread body up to this size is read and dropped after an early answer; a larger one
closes the connection."""
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


async def _chunks(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body too large: over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes without reading it all, and
    (408) a body that takes more than ``timeout`` seconds to arrive."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise ApiError(400, "invalid Content-Length")
        if int(declared) > limit:
            raise ApiError(413, f"body too large: {int(declared)} bytes, the limit is {limit}")
    try:
        body = await asyncio.wait_for(_chunks(request, limit), timeout)
    except asyncio.TimeoutError:
        raise ApiError(408, f"the body did not arrive within {timeout:g} s; send it at once") from None
    except ClientDisconnect:  # nobody is left to answer; keep the log quiet
        raise ApiError(400, "client disconnected before the body was complete") from None
    request.state.body_read = True
    return body


def body_unread(request: Request) -> bool:
    """Whether the request announced a body over :data:`DRAIN_BYTES` (or a chunked one) that
    was not read: then the connection is closed after the answer, rather than reading and
    dropping the rest (a smaller rest is dropped, so that the client reads the answer
    instead of a reset connection, and the connection is kept)."""
    if getattr(request.state, "body_read", False):
        return False
    declared = request.headers.get("content-length", "0")
    big = not (declared.isascii() and declared.isdigit()) or int(declared) > DRAIN_BYTES
    return big or "transfer-encoding" in request.headers


def upload_size(request: Request, limit: int) -> int:
    """The bytes a body will take: its ``Content-Length`` (at most ``limit``: more is
    refused while reading), else ``limit`` (a chunked body)."""
    declared = request.headers.get("content-length", "")
    return min(int(declared), limit) if declared.isascii() and declared.isdigit() else limit


def upload_type(request: Request) -> str:
    """The media type of an upload: an image type or multipart; 415 for others (checked
    before the request is admitted or its body read)."""
    mime = _mime(request.headers.get("content-type"))
    if not mime:
        raise ApiError(415, "missing Content-Type: send e.g. 'Content-Type: image/jpeg'")
    if mime != MULTIPART and mime not in IMAGE_TYPES:
        raise ApiError(415, f"unsupported Content-Type {mime[:80]!r}: send an image (image/jpeg, image/png, "
                       "image/webp, image/bmp, image/gif, image/tiff) or multipart/form-data")
    return mime


async def read_image(request: Request, mime: str, limit: int, timeout: float) -> bytes:
    """The image bytes of an upload: the raw body or the first file of a multipart form
    (413 over ``limit``, 408 after ``timeout`` seconds, 400 for a broken form)."""
    body = await read_body(request, limit, timeout)
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
