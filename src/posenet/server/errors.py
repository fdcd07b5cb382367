"""How the service refuses a request: :class:`ApiError`, an HTTP status with a message.

Every refusal, from an HTTP request or a stream message, is an :class:`ApiError`; the app
turns it into ``{"detail": ...}`` with its status, the stream into an ``error`` message.
Every text that reaches a client passes :func:`client_text`: no absolute path of this
machine and no ``repr`` of an internal object (``<_io.BytesIO object at 0x...>``).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from ..serialize import jsonable

_OBJECT_REPR = re.compile(r"\s*<[^<>]{1,200}? at 0x[0-9A-Fa-f]+>")
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/\\-])(?!/v1/|/static/)(?:/[^\s/'\"<>(),;:]+){2,}/?|(?<![\w])[A-Za-z]:\\[^\s'\"<>]+")
_INPUT_TEXT = 100


def client_text(text: str) -> str:
    """``text`` for a client: object reprs removed, absolute paths replaced by ``<path>``,
    on one line."""
    text = _ABSOLUTE_PATH.sub("<path>", _OBJECT_REPR.sub("", text))
    return " ".join(text.split())


def short(exc: BaseException) -> str:
    """The exception's message for a client (:func:`client_text`), at most 200 characters."""
    text = client_text(str(exc)) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class ApiError(Exception):
    """A request the service refuses: an HTTP ``status`` and a ``detail`` for the client
    (text, or a list of ``{"type", "loc", "msg"}`` problems for a 422)."""

    def __init__(self, status: int, detail: Any) -> None:
        detail = client_text(detail) if isinstance(detail, str) else detail
        super().__init__(detail)
        self.status = status
        self.detail = detail

    def headers(self, *, close: bool = False) -> dict[str, str]:
        """The headers of the answer; ``close``: close the connection after it."""
        headers = {"Retry-After": "1"} if self.status == 503 else {}
        if close:
            headers["Connection"] = "close"
        return headers


def _input(value: Any) -> Any:
    """A problem's ``input`` as the client sent it, if it is short; else its type."""
    if isinstance(value, str):
        return value if len(value) <= _INPUT_TEXT else value[:_INPUT_TEXT] + "..."
    if value is None or isinstance(value, (bool, int, float)):
        return jsonable(value)
    return f"<{type(value).__name__}>"


def validation_detail(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    """Pydantic's errors as JSON-safe ``{"type", "loc", "msg", "input"}``, ``loc`` starting
    with ``where`` (``"query"`` or ``"options"``); a nested or long input is not echoed."""
    errors = []
    for err in exc.errors(include_url=False):
        loc = [where, *(p if isinstance(p, int) else client_text(str(p))[:_INPUT_TEXT] for p in err["loc"])]
        item: dict[str, Any] = {"type": err["type"], "loc": loc, "msg": client_text(err["msg"])}
        if "input" in err:
            item["input"] = _input(err["input"])
        errors.append(item)
    return errors


def options_error(exc: ValueError, where: str) -> ApiError:
    """A 422 for options the library refuses, shaped like pydantic's."""
    return ApiError(422, [{"type": "value_error", "loc": [where], "msg": short(exc)}])
