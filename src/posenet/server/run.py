"""Running the service with uvicorn: :func:`serve`, and the uvicorn settings it uses
(:func:`server_config`: deadlines on slow headers and idle connections, bounds on headers,
frames and connections, logs on stderr)."""

from __future__ import annotations

import copy
import errno
import logging
import socket
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import h11
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..families import PoseModel
from .app import create_app
from .limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_MODELS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STREAMS,
    DEFAULT_MAX_UPLOAD_BYTES,
)

log = logging.getLogger("posenet.server")

LOOPBACK = ("127.0.0.1", "::1", "localhost")
WILDCARDS = ("0.0.0.0", "::", "")
MAX_HEADER_BYTES = 16 * 1024


def header_deadline_protocol(timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request headers are not complete
    ``timeout`` seconds after it opened or after its previous response (slow headers)."""

    class DeadlineH11Protocol(H11Protocol):
        _deadline: Any = None

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()  # the headers are in

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return DeadlineH11Protocol


def log_config() -> dict[str, Any]:
    """uvicorn's logging settings with the access log on stderr, beside the server's
    messages (uvicorn's own default writes it to stdout)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def server_config(app: Any, *, log_level: str = "info", max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
                  header_timeout: float = DEFAULT_HEADER_TIMEOUT) -> uvicorn.Config:
    """The uvicorn settings of :func:`serve` (tests and the load test use them too)."""
    return uvicorn.Config(
        app, log_level=log_level, log_config=log_config(), http=header_deadline_protocol(header_timeout),
        ws_max_size=max_upload_bytes + 1024, timeout_keep_alive=DEFAULT_KEEP_ALIVE,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES, limit_concurrency=DEFAULT_MAX_CONNECTIONS,
        server_header=False, proxy_headers=False,
    )


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _bind_error(host: str, port: int, exc: OSError) -> OSError:
    where = f"cannot listen on {_shown(host)}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return OSError(f"{where}: port {port} is already in use; stop what uses it or choose another port "
                       "(posenet serve --port N)")
    if exc.errno == errno.EACCES:
        return OSError(f"{where}: permission denied (ports under 1024 need privileges); choose a port from 1024")
    if exc.errno == errno.EADDRNOTAVAIL:
        return OSError(f"{where}: this machine has no such address; use 127.0.0.1 or 0.0.0.0 (--host)")
    return OSError(f"{where}: {exc.strerror or exc}")


def bind(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address of ``host`` at ``port`` (0: a free one), before
    anything is printed; ``OSError`` with one line naming the port and the fix."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"cannot listen on {host}: unknown host name ({exc.strerror})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], port, *address[2:]))
            port = sock.getsockname()[1]  # port 0: the others take the one chosen
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise _bind_error(host, port, exc) from None
    return sockets


def serve(
    model: PoseModel | None,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_bytes: int | None = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_queue: int | None = DEFAULT_MAX_QUEUE,
    *,
    max_streams: int | None = DEFAULT_MAX_STREAMS,
    workers: int | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    log_level: str = "info",
    models: Mapping[str, Callable[[], PoseModel] | None] | None = None,
    default_model: str | None = None,
    max_models: int | None = DEFAULT_MAX_MODELS,
) -> None:
    """Run the service with uvicorn until interrupted (loopback only by default).

    ``model`` is the default model (loaded); ``models`` more to offer, by name, each loaded
    on first use (see :func:`~.app.create_app`).

    ``None`` for a limit means its default; ``host`` is accepted as a ``Host`` name besides
    the loopback ones and ``allowed_hosts``. Binds the port first (``OSError`` with a
    one-line reason if it cannot), then prints the address on stderr and blocks; Ctrl+C
    stops it.
    """
    upload = DEFAULT_MAX_UPLOAD_BYTES if max_upload_bytes is None else max_upload_bytes
    hosts = [*allowed_hosts, *([] if host in WILDCARDS else [host])]
    app = create_app(model, max_upload_bytes=upload,
                     max_pixels=DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels,
                     max_queue=DEFAULT_MAX_QUEUE if max_queue is None else max_queue,
                     max_streams=DEFAULT_MAX_STREAMS if max_streams is None else max_streams,
                     workers=workers, allowed_hosts=hosts, allowed_origins=allowed_origins, models=models,
                     default_model=default_model, max_models=DEFAULT_MAX_MODELS if max_models is None else max_models)
    config = server_config(app, log_level=log_level, max_upload_bytes=upload)
    sockets = bind(host, port)
    try:
        port = sockets[0].getsockname()[1]
        if host not in LOOPBACK:
            log.warning("serving on %s: the service has no authentication%s", host,
                        "; other machines must call it by a name given with --allow-host" if host in WILDCARDS else "")
        print(f"posenet: serving on http://{_shown(host or '0.0.0.0')}:{port}/  (API docs: /docs; Ctrl+C to stop)",
              file=sys.stderr, flush=True)
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
