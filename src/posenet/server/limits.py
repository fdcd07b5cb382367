"""The service's limits and their defaults, and the host names it answers to, with no
dependency (the command line reads them without the ``server`` extra installed)."""

from __future__ import annotations

import os
import re

DEFAULT_MAX_UPLOAD_BYTES = 20_000_000
"""Largest accepted request body (or stream frame), in bytes."""
DEFAULT_MAX_PIXELS = 40_000_000
"""Largest accepted image, in pixels (width * height), checked before the full decode."""
DEFAULT_MAX_QUEUE = 8
"""Most HTTP requests admitted at once (reading their body, decoding, waiting or running)."""
DEFAULT_MAX_STREAMS = 8
"""Most WebSocket streams open at once; more are closed with code 1013."""
DEFAULT_MAX_MODELS = 4
"""Most model families kept loaded at once for HTTP requests (the least recently used is
dropped first; streams' own detectors are bounded by the open streams)."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a request body may take to arrive, once admitted (408 after)."""
DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to send a request's headers (then it is closed)."""
DEFAULT_KEEP_ALIVE = 5
"""Seconds an idle keep-alive connection stays open."""
DEFAULT_MAX_CONNECTIONS = 200
"""Connections and requests at once before the HTTP server answers 503 itself."""

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
"""Host names accepted without ``allowed_hosts`` (the loopback names)."""


def parse_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a ``Host`` value (``name``, ``name:port``, ``[v6]:port``), the name
    in lower case without a final dot, IPv6 in brackets; ``None`` if malformed."""
    text = value.strip().lower()
    if text.startswith("["):
        name, sep, rest = text.partition("]")
        name, port = name + "]", rest[1:]
        if not sep or (rest and not rest.startswith(":")):
            return None
    elif text.count(":") > 1:  # a bare IPv6 address
        return None
    else:
        name, _, port = text.partition(":")
    name = name.removesuffix(".")
    if not name or (port and not (port.isascii() and port.isdigit() and int(port) <= 65535)):
        return None
    return name, int(port) if port else None


def host_name(value: str) -> str:
    """An allowed host as given by a user (``::1``, ``[::1]:8000``, ``Example.com``) as
    :func:`parse_host` names it; ``ValueError`` if it is no host name."""
    text = value.strip()
    if text == "*":
        return text
    if text.count(":") > 1 and not text.startswith("["):
        text = f"[{text}]"
    parsed = parse_host(text)
    if parsed is None or not re.fullmatch(r"[a-z0-9._-]+|\[[0-9a-f:.]+\]", parsed[0]):
        raise ValueError(f"not a host name: {value!r}")
    return parsed[0]


def body_budget(max_upload_bytes: int) -> int:
    """Default bytes of request bodies admitted at once: three of the largest."""
    return 3 * max_upload_bytes


def frame_slots(max_queue: int) -> int:
    """Stream frames in progress at once, over all streams: half of ``max_queue``, at least
    one (HTTP requests have their own ``max_queue`` slots)."""
    return max(1, max_queue // 2)


def default_workers() -> int:
    """Worker threads: one per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def engine_threads(workers: int) -> int | None:
    """Engine threads per model call for ``workers`` worker threads: 1 when there are several
    (calls run side by side, one core each, and do not oversubscribe the machine), else
    ``None`` (the engine's choice)."""
    return 1 if workers > 1 else None
