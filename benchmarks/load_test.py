"""Bounded load test of the HTTP service on loopback: concurrent HTTP clients (and, if asked,
open WebSocket streams beside them), a fixed number of requests, then it stops and prints
the throughput and latency percentiles.

    python benchmarks/load_test.py                        # starts its own server (default model)
    python benchmarks/load_test.py --clients 8 --requests 400 --mode single --preset reference
    python benchmarks/load_test.py --clients 4 --streams 3   # 3 video streams beside the clients
    python benchmarks/load_test.py --url http://127.0.0.1:8000   # an already running server

The image is ``ultralytics__bus.jpg`` from the shared photos, resized in memory to
``--size`` (1280x720) and encoded as JPEG. Only loopback URLs are accepted. Exit status 1
if any HTTP request failed (anything but 200) or a stream frame went unanswered. Needs the
``server`` extra + httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSENET_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_IMAGE = SHARED / "data" / "photos" / "ultralytics__bus.jpg"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class StreamResult:
    """Frames of the WebSocket streams: each frame sent is answered once (poses, dropped or
    error); ``lost`` counts the ones that were not."""

    streams: int = 0
    sent: int = 0
    answered: int = 0
    dropped: int = 0
    errors: int = 0
    lost: int = 0
    closed_early: int = 0

    def summary(self) -> str:
        return (f"{self.streams} streams: {self.sent} frames sent, {self.answered} answered, "
                f"{self.dropped} dropped, {self.errors} errors, {self.lost} lost")


@dataclass
class LoadResult:
    """Outcome of one run; latencies in milliseconds (client side, per request)."""

    requests: int
    clients: int
    failures: int
    statuses: dict[str, int]
    seconds: float
    throughput_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_server_ms: float
    errors: list[str] = field(default_factory=list)
    streams: StreamResult | None = None

    def summary(self) -> str:
        text = (
            f"{self.requests} requests, {self.clients} clients: {self.failures} failed "
            f"{self.statuses}; {self.throughput_rps:.1f} req/s; latency p50 {self.p50_ms:.1f} ms, "
            f"p90 {self.p90_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms "
            f"(server total mean {self.mean_server_ms:.1f} ms)"
        )
        return text + (f"; {self.streams.summary()}" if self.streams else "")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def check_loopback(url: str) -> str:
    """``url`` without a trailing slash; ``ValueError`` unless it is http on loopback."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise ValueError(f"refusing {url!r}: the load test only targets http://127.0.0.1 (loopback)")
    return url.rstrip("/")


def video_frame(path: Path = DEFAULT_IMAGE, size: tuple[int, int] = (1280, 720)) -> bytes:
    """``path`` resized in memory to ``size`` (width, height), as JPEG bytes (quality 90)."""
    from PIL import Image

    with Image.open(path) as img:
        out = io.BytesIO()
        img.convert("RGB").resize(size, Image.Resampling.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()


async def _stream_client(url: str, frame: bytes, stop: asyncio.Event, out: StreamResult,
                         in_flight: int = 2, timeout: float = 60.0) -> None:
    """One stream: keeps ``in_flight`` frames outstanding (as the page does) until ``stop``,
    then waits for the answers to the frames it sent and closes."""
    import websockets

    sent = answered = 0
    async with websockets.connect(url, max_size=None, open_timeout=timeout) as ws:
        ready = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if ready.get("type") != "ready":
            out.closed_early += 1
            return
        while not stop.is_set() or answered < sent:
            while not stop.is_set() and sent - answered < in_flight:
                await ws.send(frame)
                sent += 1
            msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            kind = msg.get("type")
            if kind in ("poses", "dropped", "error"):
                answered += 1
                out.answered += kind == "poses"
                out.dropped += kind == "dropped"
                out.errors += kind == "error"
    out.sent += sent
    out.lost += sent - answered


class RawConnection:
    """One keep-alive HTTP/1.1 connection that POSTs a body and reads the answer: a lean
    client, so that the load generator takes little of the CPU it shares with the server
    (httpx costs a few ms of CPU per request)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.netloc, self.timeout = parts.netloc, timeout
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, target: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(f"POST {target} HTTP/1.1\r\nHost: {self.netloc}\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        try:
            await writer.drain()
            status, length, close = await asyncio.wait_for(self._head(reader), self.timeout)
            data = await asyncio.wait_for(reader.readexactly(length), self.timeout)
        except BaseException:
            await self.close()
            raise
        if close:
            await self.close()
        return status, data

    @staticmethod
    async def _head(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
        status = int((await reader.readline()).split(b" ", 2)[1])
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection" and b"close" in value.lower():
                close = True
        return status, length, close

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _http_clients(base_url: str, image: bytes, content_type: str, clients: int, requests: int,
                        params: dict[str, Any] | None, timeout: float,
                        kind: str) -> tuple[list[float], list[float], Counter[str], list[str]]:
    remaining = iter(range(requests))
    latencies: list[float] = []
    server_ms: list[float] = []
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    target = "/v1/poses" + (f"?{urlencode(params)}" if params else "")
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        raw = RawConnection(base_url, timeout)
        for _ in remaining:
            t0 = time.perf_counter()
            try:
                if kind == "raw":
                    status, body = await raw.post(target, image, content_type)
                else:
                    r = await client.post(target, content=image, headers={"Content-Type": content_type})
                    status, body = r.status_code, r.content
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
                statuses[type(exc).__name__] += 1
                errors.append(repr(exc))
                continue
            latencies.append((time.perf_counter() - t0) * 1e3)
            statuses[str(status)] += 1
            if status == 200:
                server_ms.append(json.loads(body)["timing"]["total_ms"])
            elif len(errors) < 20:
                errors.append(f"{status}: {body[:200]!r}")
        await raw.close()

    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return latencies, server_ms, statuses, errors


async def run_load(
    base_url: str,
    image: bytes,
    *,
    content_type: str = "image/jpeg",
    clients: int = 8,
    requests: int = 400,
    params: dict[str, Any] | None = None,
    timeout: float = 60.0,
    streams: int = 0,
    stream_frame: bytes | None = None,
    client: str = "raw",
) -> LoadResult:
    """``clients`` concurrent connections send ``requests`` POST /v1/poses in total, while
    ``streams`` WebSocket streams send ``stream_frame`` (default ``image``) continuously.
    ``client``: ``raw`` (:class:`RawConnection`) or ``httpx``."""
    base_url = check_loopback(base_url)
    frames = StreamResult(streams=streams)
    stop = asyncio.Event()
    ws_url = "ws" + base_url.removeprefix("http") + "/v1/stream"
    tasks = [asyncio.create_task(_stream_client(ws_url, stream_frame or image, stop, frames))
             for _ in range(streams)]
    await asyncio.sleep(0.2 if streams else 0)  # the streams are open and busy
    start = time.perf_counter()
    try:
        latencies, server_ms, statuses, errors = await _http_clients(
            base_url, image, content_type, clients, requests, params, timeout, client)
    finally:
        seconds = time.perf_counter() - start
        stop.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            frames.closed_early += 1
            errors.append(f"stream: {outcome!r}")
    ok = statuses.get("200", 0)
    lat = latencies or [float("nan")]
    return LoadResult(
        requests=requests, clients=clients, failures=requests - ok, statuses=dict(statuses),
        seconds=round(seconds, 3), throughput_rps=round(requests / seconds, 2) if seconds > 0 else 0.0,
        p50_ms=round(percentile(lat, 50), 2), p90_ms=round(percentile(lat, 90), 2),
        p99_ms=round(percentile(lat, 99), 2), max_ms=round(max(lat), 2),
        mean_server_ms=round(statistics.fmean(server_ms), 2) if server_ms else float("nan"),
        errors=errors, streams=frames if streams else None,
    )


class _InProcessServer:
    """The service on 127.0.0.1 at a free port, in a background thread, configured as
    ``posenet serve`` configures it."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        from posenet.server.run import server_config

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(server_config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> _InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an already running service on loopback; default: start one here")
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="image to send (default: %(default)s)")
    ap.add_argument("--size", default="1280x720", help="resize the image in memory to WxH ('' keeps the file "
                    "as it is; default: %(default)s)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (default: 8)")
    ap.add_argument("--requests", type=int, default=400, help="HTTP requests in all (default: 400)")
    ap.add_argument("--streams", type=int, default=0, help="WebSocket streams open beside them (default: 0)")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="HTTP client: raw (lean asyncio HTTP/1.1, default) or httpx")
    ap.add_argument("--mode", choices=("single", "multi"), default="multi")
    ap.add_argument("--preset", default=None, help="per-request preset (default: the server's, camera)")
    ap.add_argument("--input-resolution", default=None, help="per-request input_resolution")
    ap.add_argument("--max-queue", type=int, default=None,
                    help="work queue of the started server (default: max(8, clients))")
    ap.add_argument("--multiplier", type=float, default=0.75, help="model of the started server")
    ap.add_argument("--threads", type=int, default=None,
                    help="engine threads of the started server (default: as posenet serve chooses)")
    ap.add_argument("--json", type=Path, help="also write the result as JSON here")
    return ap


def _start_local(args: argparse.Namespace) -> _InProcessServer:
    sys.path.insert(0, str(REPO / "src"))
    models = SHARED / "models" / "posenet"
    if models.is_dir():
        os.environ.setdefault("POSENET_MODEL_DIR", str(models))
    import posenet
    from posenet.server import create_app, default_workers, engine_threads

    threads = engine_threads(default_workers()) if args.threads is None else args.threads
    net = posenet.load(multiplier=args.multiplier, num_threads=threads)
    queue = args.max_queue or max(8, args.clients)
    return _InProcessServer(create_app(net, max_queue=queue, max_streams=max(8, args.streams)))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.size:
        width, height = (int(v) for v in args.size.lower().split("x"))
        image, content_type = video_frame(args.image, (width, height)), "image/jpeg"
    else:
        image = args.image.read_bytes()
        content_type = "image/png" if args.image.suffix.lower() == ".png" else "image/jpeg"
    params: dict[str, Any] = {"mode": args.mode}
    if args.preset:
        params["preset"] = args.preset
    if args.input_resolution:
        params["input_resolution"] = args.input_resolution

    def go(url: str) -> LoadResult:
        url = check_loopback(url)
        httpx.get(url + "/healthz", timeout=10).raise_for_status()
        # One warm-up request (first-call engine setup is not what we measure).
        httpx.post(url + "/v1/poses", content=image, params=params,
                   headers={"Content-Type": content_type}, timeout=60).raise_for_status()
        return asyncio.run(run_load(url, image, content_type=content_type, clients=args.clients,
                                    requests=args.requests, params=params, streams=args.streams,
                                    client=args.client))

    if args.url:
        result = go(args.url)
    else:
        with _start_local(args) as server:
            result = go(server.url)

    print(result.summary())
    for err in result.errors[:5]:
        print("  error:", err)
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    lost = result.streams.lost + result.streams.closed_early if result.streams else 0
    return 1 if result.failures or lost else 0


if __name__ == "__main__":
    sys.exit(main())
