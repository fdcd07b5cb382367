"""Who may talk to the service: the ``Host`` of every request and the ``Origin`` of streams
and uploads, checked before anything else runs.

A web page on another site must not drive the local service: by DNS rebinding (its own
name resolving to 127.0.0.1, so the browser sends ``Host: evil.example``) or by opening a
WebSocket or posting a form to ``127.0.0.1`` (the browser sends its ``Origin``). So by
default only the loopback names (:data:`~.limits.LOOPBACK_HOSTS`) are accepted as
``Host`` (400 otherwise), and an ``Origin``, when a browser sends one with a WebSocket or
a request that is not a ``GET``/``HEAD``/``OPTIONS``, must be the service's own (403, or
a WebSocket closed with 1008); ``allowed_hosts`` and ``allowed_origins`` add more
(``"*"``: any).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import LOOPBACK_HOSTS, host_name, parse_host

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SHOWN = 80


def origin_text(value: str) -> str:
    """An origin as compared: ``scheme://host[:port]`` in lower case, no final slash."""
    return value.strip().lower().rstrip("/")


def _default_port(scheme: str) -> int:
    return 443 if scheme in ("https", "wss") else 80


class HostOriginGuard:
    """ASGI middleware refusing requests whose ``Host`` or ``Origin`` is not accepted."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str] = (), origins: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = frozenset((*LOOPBACK_HOSTS, *(host_name(h) for h in hosts)))
        self.origins = frozenset(origin_text(o) for o in origins)

    def host_allowed(self, host: str | None) -> bool:
        parsed = None if host is None else parse_host(host)
        return parsed is not None and ("*" in self.hosts or parsed[0] in self.hosts)

    def origin_allowed(self, origin: str, host: str, scheme: str) -> bool:
        """``origin`` is listed, or is the service's own (same scheme, host name and port)."""
        text = origin_text(origin)
        if "*" in self.origins or text in self.origins:
            return True
        try:
            parts = urlsplit(text)
            origin_port = parts.port or _default_port(parts.scheme)
        except ValueError:
            return False
        own = parse_host(host)
        if parts.scheme not in ("http", "https") or not parts.hostname or own is None:
            return False
        name = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        own_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        return (parts.scheme, name, origin_port) == (own_scheme, own[0], own[1] or _default_port(scheme))

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """``(status, detail, close reason)`` if the request is refused, else ``None``."""
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.host_allowed(host):
            shown = "no Host header" if host is None else f"Host {host[:_SHOWN]!r}"
            return 400, (f"{shown} is not accepted: this service answers to {', '.join(sorted(self.hosts))}; "
                         "start it with --allow-host NAME to add a name"), "host not allowed"
        origin = headers.get("origin")
        checked = scope["type"] == "websocket" or scope.get("method", "GET") not in SAFE_METHODS
        if origin is not None and checked and not self.origin_allowed(origin, host or "", scope["scheme"]):
            return 403, (f"Origin {origin[:_SHOWN]!r} is not accepted: only pages of this service may connect; "
                         "start it with --allow-origin ORIGIN to add one"), "origin not allowed"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self.refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refused is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting answers 403
            await send({"type": "websocket.close", "code": 1008, "reason": refused[2]})
        else:
            response = JSONResponse({"detail": refused[1]}, status_code=refused[0], headers={"Connection": "close"})
            await response(scope, receive, send)
