"""The service's models: several families offered (``model=``), loaded on first use and
bounded, and a detector of its own per stream (a stateful model, MoveNet, follows one
client's frames only, over the timestamps given)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet.images import decode_image
from posenet.options import DEFAULT_PRESET, get_preset
from posenet.serialize import poses_to_json

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from posenet.server import create_app

try:  # tests/ as a package or as a plain folder on sys.path
    from .server_helpers import real_net
except ImportError:  # pragma: no cover
    from server_helpers import real_net  # type: ignore[no-redef]

LOCAL = "http://127.0.0.1"
WS = "ws://127.0.0.1"
MOVENET = "movenet-lightning"
OPTIONS = get_preset(DEFAULT_PRESET).options("multi")
"""What a request naming no options runs with."""


def _movenet(name: str = MOVENET) -> posenet.PoseModel:
    try:
        return posenet.create_detector(name)
    except (OSError, posenet.PoseNetError) as exc:  # pragma: no cover - no shared data
        pytest.skip(f"{name} unavailable: {exc}")


def _loader(name: str, counter: list[str] | None = None) -> Callable[[], posenet.PoseModel]:
    def load() -> posenet.PoseModel:
        if counter is not None:
            counter.append(name)
        return posenet.create_detector(name)

    return load


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def clips(video_dir: Path) -> dict[str, list[bytes]]:
    """Two different videos, eight 320-wide JPEG frames each."""
    cv2 = pytest.importorskip("cv2")
    out = {}
    for key, name in (("a", "mmaction2__demo_skeleton.mp4"), ("b", "mmaction2__test_video_structuralize.mp4")):
        cap = cv2.VideoCapture(str(video_dir / name))
        frames = []
        while len(frames) < 8:
            ok, frame = cap.read()
            assert ok, name
            small = cv2.resize(frame, (320, round(320 * frame.shape[0] / frame.shape[1])))
            frames.append(_jpeg(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
        cap.release()
        out[key] = frames
    return out


@pytest.fixture()
def client() -> Iterator[TestClient]:
    app = create_app(real_net(), models={MOVENET: _loader(MOVENET), "movenet-multipose": _loader("movenet-multipose")})
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def _lone(model: posenet.PoseModel, frames: list[bytes], stamps: list[float]) -> list[list[dict[str, Any]]]:
    """What one stream must get: a fresh stream of the model, frame by frame, with those times."""
    model.reset()
    return [poses_to_json(model.estimate(decode_image(f), OPTIONS, timestamp_ms=t))
            for f, t in zip(frames, stamps, strict=True)]


def _frame(ws: Any, data: bytes, stamp: float | None) -> dict[str, Any]:
    if stamp is not None:
        ws.send_text(json.dumps({"type": "frame", "timestamp_ms": stamp}))
    ws.send_bytes(data)
    msg = json.loads(ws.receive_text())
    assert msg["type"] == "poses", msg
    return msg


@pytest.mark.parametrize("model", [MOVENET, "movenet-multipose"])
def test_two_interleaved_streams_each_get_what_a_lone_stream_gets(client: TestClient, clips: dict[str, list[bytes]],
                                                                   model: str) -> None:
    """Frames of two clients alternate; each stream's poses are those of its own frames
    through a fresh detector with its own timestamps (a shared MoveNet would crop one
    client's frame where the other's person was)."""
    stamps = {"a": [1000.0 + 33.3 * i for i in range(8)], "b": [5.0 + 40.0 * i for i in range(8)]}
    reference = _movenet(model)
    expected = {k: _lone(reference, clips[k], stamps[k]) for k in "ab"}
    got: dict[str, list[Any]] = {"a": [], "b": []}
    url = WS + f"/v1/stream?model={model}"
    with client.websocket_connect(url) as wa, client.websocket_connect(url) as wb:
        for ws in (wa, wb):
            ready = json.loads(ws.receive_text())
            assert ready["model_name"] == model and ready["model"]["name"] == model
        for i in range(8):
            for key, ws in (("a", wa), ("b", wb)):
                msg = _frame(ws, clips[key][i], stamps[key][i])
                assert msg["model"] == model
                got[key].append(msg["poses"])
            # A still photo in between goes to the shared instance and moves no stream.
            assert client.post("/v1/poses", params={"model": model}, content=clips["b"][0],
                               headers={"Content-Type": "image/jpeg"}).status_code == 200
    assert got == expected


def test_a_stream_without_timestamps_uses_the_arrival_time(client: TestClient, clips: dict[str, list[bytes]]) -> None:
    """No ``frame`` message: the frames are timed as they arrive (increasing), still one
    detector per stream; a bad ``frame`` message is an error and the stream goes on."""
    with client.websocket_connect(WS + f"/v1/stream?model={MOVENET}") as ws:
        json.loads(ws.receive_text())
        first = _frame(ws, clips["a"][0], None)
        assert first["poses"] and first["poses"][0]["keypoints"][0]["name"] == "nose"
        for bad in ({"type": "frame", "timestamp_ms": "soon"}, {"type": "frame", "timestamp_ms": -5},
                    {"type": "frame", "timestamp_ms": 1e3, "extra": 1}):
            ws.send_text(json.dumps(bad))
            err = json.loads(ws.receive_text())
            assert err["type"] == "error" and err["status"] == 422 and "timestamp_ms" in err["detail"]
        assert _frame(ws, clips["a"][1], 10_000_000.0)["poses"]


def test_http_model_parameter(client: TestClient, clips: dict[str, list[bytes]]) -> None:
    body = clips["a"][3]
    r = client.post("/v1/poses", params={"model": MOVENET}, content=body, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    reference = _movenet()
    assert r.json()["model"] == MOVENET
    assert r.json()["poses"] == poses_to_json(reference.estimate_batch([decode_image(body)], OPTIONS)[0])
    default = client.post("/v1/poses", content=body, headers={"Content-Type": "image/jpeg"}).json()
    assert default["model"] == "posenet" and default["poses"] == poses_to_json(real_net().estimate(
        decode_image(body), OPTIONS))
    bad = client.post("/v1/poses", params={"model": "movenet-huge"}, content=body,
                      headers={"Content-Type": "image/jpeg"})
    assert bad.status_code == 400
    detail = bad.json()["detail"]
    assert "movenet-huge" in detail and all(n in detail for n in ("posenet", MOVENET, "movenet-multipose"))


def test_models_are_listed_and_loaded_on_first_use(clips: dict[str, list[bytes]]) -> None:
    loads: list[str] = []
    app = create_app(real_net(), models={MOVENET: _loader(MOVENET, loads), "movenet-thunder": _loader(
        "movenet-thunder", loads)}, max_models=2)
    with TestClient(app, base_url=LOCAL) as c:
        listing = c.get("/v1/models").json()
        assert listing["default_model"] == "posenet"
        assert [m["name"] for m in listing["models"]] == ["posenet", MOVENET, "movenet-thunder"]
        assert [m["loaded"] for m in listing["models"]] == [True, False, False] and loads == []
        assert listing["models"][1]["description"] == posenet.FAMILIES[MOVENET].description
        info = c.get(f"/v1/models/{MOVENET}").json()
        assert loads == [MOVENET]
        assert info == json.loads(json.dumps(_movenet().info().to_dict()))
        assert len(info["keypoint_names"]) == 17 and [0, 1] in info["skeleton"]
        assert c.get("/v1/models").json()["models"][1]["info"] == info
        assert c.get("/v1/models/nothing").status_code == 404
        # max_models=2: loading a third drops the least recently used (never the default).
        c.get("/v1/models/movenet-thunder")
        loaded = [m["name"] for m in c.get("/v1/models").json()["models"] if m["loaded"]]
        assert loaded == ["posenet", "movenet-thunder"]
        assert c.get("/healthz").json()["models_loaded"] == ["posenet", "movenet-thunder"]
        r = c.post("/v1/poses", params={"model": MOVENET}, content=clips["a"][0],
                   headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 200 and loads == [MOVENET, "movenet-thunder", MOVENET]


def test_a_stream_switches_model(client: TestClient, clips: dict[str, list[bytes]]) -> None:
    with client.websocket_connect(WS + "/v1/stream") as ws:
        ready = json.loads(ws.receive_text())
        assert ready["model_name"] == "posenet" and ready["model"]["family"] == "posenet"
        assert ready["models"] == ["posenet", MOVENET, "movenet-multipose"]
        assert "part" in _frame(ws, clips["a"][0], None)["poses"][0]["keypoints"][0]
        ws.send_text(json.dumps({"type": "options", "model": MOVENET}))
        msg = json.loads(ws.receive_text())
        assert msg["type"] == "options" and msg["model_name"] == MOVENET and msg["model"]["name"] == MOVENET
        poses = _frame(ws, clips["a"][1], None)
        assert poses["model"] == MOVENET and "name" in poses["poses"][0]["keypoints"][0]
        ws.send_text(json.dumps({"type": "options", "model": "nope"}))
        err = json.loads(ws.receive_text())
        assert err["status"] == 400 and MOVENET in err["detail"]
        ws.send_text(json.dumps({"type": "options", "model": None}))  # back to the default
        assert json.loads(ws.receive_text())["model_name"] == "posenet"
    with client.websocket_connect(WS + "/v1/stream?model=nope") as ws:
        err = json.loads(ws.receive_text())
        assert err["type"] == "error" and err["status"] == 400


def test_stream_detectors_are_reused_and_bounded(client: TestClient, clips: dict[str, list[bytes]]) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    for _ in range(3):  # one stream after another: one detector, given back and reused
        with client.websocket_connect(WS + f"/v1/stream?model={MOVENET}") as ws:
            json.loads(ws.receive_text())
            _frame(ws, clips["a"][0], None)
    assert hub.leased == 0 and hub.load()["idle_detectors"] == 1
    assert client.get("/healthz").json()["stream_detectors"] == 0


def test_serve_offers_the_models_named_or_found(capsys: Any, models_dir: Path, monkeypatch: Any) -> None:
    import posenet.server as server
    from posenet.cli import main
    from posenet.cli.serve import files_found

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(server, "serve", lambda net, **kw: calls.append((net, kw)))
    assert main(["serve", "--model", MOVENET, "--models", "posenet,movenet-thunder", "--max-models", "2"]) == 0
    net, kw = calls.pop()
    assert net.info().name == MOVENET and kw["default_model"] == MOVENET and kw["max_models"] == 2
    assert list(kw["models"]) == [MOVENET, "posenet", "movenet-thunder"]
    assert kw["models"]["movenet-thunder"]().info().name == "movenet-thunder"  # loaded only when called
    assert main(["serve", "--models", "none"]) == 0
    assert list(calls.pop()[1]["models"]) == ["posenet"]
    assert main(["serve"]) == 0  # default: every family whose files are here
    offered = list(calls.pop()[1]["models"])
    assert offered == [n for n in posenet.FAMILIES if files_found(n)] and MOVENET in offered
    assert main(["serve", "--models", "posenet,movenet-huge"]) == 2
    err = capsys.readouterr().err
    assert "movenet-huge" in err and MOVENET in err


def test_a_stream_detector_goes_back_only_once_no_thread_runs_it() -> None:
    """A stream that ends while its frame is still being estimated keeps its detector out
    of the hub until the worker thread is done (then it is reset and kept, once)."""
    from posenet.server.models import Lease, ModelHub

    given: list[Any] = []

    class Hub(ModelHub):
        def give_back(self, name: str, model: Any) -> None:
            given.append((name, model))

    hub = Hub({"posenet": None}, "posenet", max_models=1, max_idle=1, preloaded={"posenet": real_net()})
    lease = Lease(hub, "posenet", real_net())
    lease.hold()
    lease.close()
    assert given == []
    lease.drop()
    assert given == [("posenet", real_net())]
    lease.close()
    assert len(given) == 1
    with pytest.raises(ValueError, match="no loader"):
        ModelHub({"posenet": None, MOVENET: None}, "posenet", max_models=2, max_idle=1,
                 preloaded={"posenet": real_net()})


def test_streams_share_a_stateless_model_and_get_their_own_stateful_one() -> None:
    """PoseNet keeps no state between calls: every stream is served by the one shared instance
    (no reload per stream); MoveNet follows a stream: each stream leases its own detector."""
    import asyncio

    from posenet.server.models import ModelHub, reloader

    net, lightning = real_net(), _movenet()
    hub = ModelHub({"posenet": reloader(net), MOVENET: reloader(lightning)}, "posenet", max_models=2, max_idle=2,
                   preloaded={"posenet": net, MOVENET: lightning})

    async def leases() -> tuple[Any, Any, Any, Any]:
        return (await hub.lease("posenet"), await hub.lease("posenet"), await hub.lease(MOVENET),
                await hub.lease(MOVENET))

    first, second, one, other = asyncio.run(leases())
    assert first is net and second is net and hub.leased == 2
    assert one is not lightning and other is not lightning and one is not other
    hub.give_back("posenet", first)
    assert hub.leased == 2  # the shared instance is never counted as leased nor kept idle
