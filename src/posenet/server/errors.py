"""How the service refuses a request: :class:`ApiError`, an HTTP status with a message.

Every refusal, from an HTTP request or a stream message, is an :class:`ApiError`; the app
turns it into ``{"detail": ...}`` with its status, the stream into an ``error`` message.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..serialize import jsonable


class ApiError(Exception):
    """A request the service refuses: an HTTP ``status`` and a ``detail`` for the client
    (text, or a list of ``{"type", "loc", "msg"}`` problems for a 422)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def short(exc: BaseException) -> str:
    """The exception's message on one line, at most 200 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def validation_detail(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    """Pydantic's errors as JSON-safe ``{"type", "loc", "msg", "input"}``, ``loc`` starting
    with ``where`` (``"query"`` or ``"options"``)."""
    errors = []
    for err in exc.errors(include_url=False):
        item: dict[str, Any] = {"type": err["type"], "loc": [where, *err["loc"]], "msg": err["msg"]}
        if "input" in err:
            item["input"] = jsonable(err["input"])
        errors.append(item)
    return errors


def options_error(exc: ValueError, where: str) -> ApiError:
    """A 422 for options the library refuses, shaped like pydantic's."""
    return ApiError(422, [{"type": "value_error", "loc": [where], "msg": short(exc)}])
