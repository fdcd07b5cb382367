"""Bounded load test of the HTTP service on loopback: concurrent clients, a fixed number of
requests, then it stops and prints the latency percentiles.

    python benchmarks/load_test.py                        # starts its own server (default model)
    python benchmarks/load_test.py --clients 8 --requests 400 --mode single --preset reference
    python benchmarks/load_test.py --url http://127.0.0.1:8000   # an already running server

Exit status 1 if any request failed (anything but 200). Needs the ``server`` extra + httpx.
"""

from __future__ import annotations

import argparse
import asyncio
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

import httpx

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = Path(
    os.environ.get("POSENET_SHARED_DIR", REPO.parent / "shared")
) / "data" / "photos" / "ultralytics__zidane.jpg"


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

    def summary(self) -> str:
        return (
            f"{self.requests} requests, {self.clients} clients: {self.failures} failed "
            f"{self.statuses}; {self.throughput_rps:.1f} req/s; latency p50 {self.p50_ms:.1f} ms, "
            f"p90 {self.p90_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms "
            f"(server total mean {self.mean_server_ms:.1f} ms)"
        )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


async def run_load(
    base_url: str,
    image: bytes,
    *,
    content_type: str = "image/jpeg",
    clients: int = 8,
    requests: int = 400,
    params: dict[str, Any] | None = None,
    timeout: float = 60.0,
) -> LoadResult:
    """``clients`` concurrent connections send ``requests`` POST /v1/poses in total."""
    remaining = iter(range(requests))
    latencies: list[float] = []
    server_ms: list[float] = []
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            for _ in remaining:
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/poses", content=image, params=params,
                                          headers={"Content-Type": content_type})
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    errors.append(repr(exc))
                    continue
                latencies.append((time.perf_counter() - t0) * 1e3)
                statuses[str(r.status_code)] += 1
                if r.status_code == 200:
                    server_ms.append(r.json()["timing"]["total_ms"])
                elif len(errors) < 20:
                    errors.append(f"{r.status_code}: {r.text[:200]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - start

    ok = statuses.get("200", 0)
    lat = latencies or [float("nan")]
    return LoadResult(
        requests=requests,
        clients=clients,
        failures=requests - ok,
        statuses=dict(statuses),
        seconds=round(seconds, 3),
        throughput_rps=round(requests / seconds, 2) if seconds > 0 else 0.0,
        p50_ms=round(percentile(lat, 50), 2),
        p90_ms=round(percentile(lat, 90), 2),
        p99_ms=round(percentile(lat, 99), 2),
        max_ms=round(max(lat), 2),
        mean_server_ms=round(statistics.fmean(server_ms), 2) if server_ms else float("nan"),
        errors=errors,
    )


class _InProcessServer:
    """The service on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an already running service; default: start one here")
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="image to send (default: %(default)s)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    ap.add_argument("--requests", type=int, default=400, help="requests in all (default: 400)")
    ap.add_argument("--mode", choices=("single", "multi"), default="multi")
    ap.add_argument("--preset", default=None, help="per-request preset (default: the server's, camera)")
    ap.add_argument("--input-resolution", default=None, help="per-request input_resolution")
    ap.add_argument("--max-queue", type=int, default=None,
                    help="work queue of the started server (default: max(8, clients))")
    ap.add_argument("--multiplier", type=float, default=0.75, help="model of the started server")
    ap.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = ap.parse_args(argv)

    image = args.image.read_bytes()
    content_type = "image/png" if args.image.suffix.lower() == ".png" else "image/jpeg"
    params: dict[str, Any] = {"mode": args.mode}
    if args.preset:
        params["preset"] = args.preset
    if args.input_resolution:
        params["input_resolution"] = args.input_resolution

    def go(url: str) -> LoadResult:
        httpx.get(url + "/healthz", timeout=10).raise_for_status()
        # One warm-up request (first-call engine setup is not what we measure).
        httpx.post(url + "/v1/poses", content=image, params=params,
                   headers={"Content-Type": content_type}, timeout=60).raise_for_status()
        return asyncio.run(run_load(url, image, content_type=content_type, clients=args.clients,
                                    requests=args.requests, params=params))

    if args.url:
        result = go(args.url.rstrip("/"))
    else:
        sys.path.insert(0, str(REPO / "src"))
        models = DEFAULT_IMAGE.parents[2] / "models" / "posenet"
        if models.is_dir():
            os.environ.setdefault("POSENET_MODEL_DIR", str(models))
        import posenet
        from posenet.server import create_app

        net = posenet.load(multiplier=args.multiplier)
        app = create_app(net, max_queue=args.max_queue or max(8, args.clients))
        with _InProcessServer(app) as server:
            result = go(server.url)

    print(result.summary())
    for err in result.errors[:5]:
        print("  error:", err)
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
