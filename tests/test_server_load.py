"""A small bounded load test on loopback (the full one: ``benchmarks/load_test.py``)."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from posenet.server import create_app

try:  # tests/ as a package or as a plain folder on sys.path
    from .server_helpers import LiveServer, real_net
except ImportError:  # pragma: no cover
    from server_helpers import LiveServer, real_net  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]


def _load_test_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("posenet_load_test", REPO / "benchmarks" / "load_test.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_percentile() -> None:
    lt = _load_test_module()
    values = [float(v) for v in range(1, 101)]
    assert lt.percentile(values, 50) == 50.0
    assert lt.percentile(values, 99) == 99.0
    assert lt.percentile(values, 100) == 100.0
    assert lt.percentile([7.0], 99) == 7.0


@pytest.mark.slow
def test_concurrent_clients_no_failures(photo_paths: list[Path], capsys: Any) -> None:
    lt = _load_test_module()
    photo = next(p for p in photo_paths if p.name == "ultralytics__zidane.jpg")
    buf = io.BytesIO()
    Image.open(photo).resize((640, 360)).save(buf, "JPEG")
    image = buf.getvalue()
    clients, requests = 6, 120
    app = create_app(real_net(), max_queue=clients)
    with LiveServer(app) as server:
        result = asyncio.run(lt.run_load(server.url, image, clients=clients, requests=requests,
                                         params={"mode": "multi"}))
    with capsys.disabled():
        print("\nload test:", result.summary())
    assert result.failures == 0, result.errors
    assert result.statuses == {"200": requests}
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


@pytest.mark.slow
def test_load_with_open_streams(photo_paths: list[Path], capsys: Any) -> None:
    """HTTP clients and video streams together, as ``load_test.py --streams`` runs them:
    every request is served, every frame answered (0 lost), the streams get poses."""
    lt = _load_test_module()
    photo = next(p for p in photo_paths if p.name == "ultralytics__bus.jpg")
    image = lt.video_frame(photo, (640, 360))
    clients, requests, streams = 3, 45, 3
    app = create_app(real_net(), max_queue=clients, max_streams=streams)
    with LiveServer(app) as server:
        result = asyncio.run(lt.run_load(server.url, image, clients=clients, requests=requests,
                                         params={"mode": "multi"}, streams=streams))
    with capsys.disabled():
        print("\nload test with streams:", result.summary())
    assert result.failures == 0, result.errors
    assert result.statuses == {"200": requests}
    frames = result.streams
    assert frames is not None and frames.streams == streams and frames.closed_early == 0, result.errors
    assert frames.lost == 0 and frames.errors == 0
    assert frames.answered > 0 and frames.sent == frames.answered + frames.dropped


def test_load_test_refuses_other_hosts() -> None:
    lt = _load_test_module()
    for url in ("http://example.com", "https://127.0.0.1", "http://10.0.0.1:8000"):
        with pytest.raises(ValueError, match="loopback"):
            lt.check_loopback(url)
    assert lt.check_loopback("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
