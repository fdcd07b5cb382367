"""The HTTP service: results, errors with the right status, the stream, robustness.

Uses the real default checkpoint (shared weights) through ``posenet.load()``.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import io
import json
import math
import socket
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from posenet import FAMILIES, checkpoints
from posenet.images import decode_image
from posenet.options import DEFAULT_PRESET, POSE_OPTION_SPECS, PRESETS, get_preset, max_input_side
from posenet.serialize import poses_to_json
from posenet.server import RequestOptions, create_app
from posenet.server.app import STATIC_DIR
from posenet.server.errors import ApiError

try:  # tests/ as a package or as a plain folder on sys.path
    from .server_helpers import GatedModel, LiveServer, real_net
except ImportError:  # pragma: no cover
    from server_helpers import GatedModel, LiveServer, real_net  # type: ignore[no-redef]

# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def net() -> Any:
    return real_net()


LOCAL = "http://127.0.0.1"
WS = "ws://127.0.0.1"
"""The base URLs of test clients: a Host the service accepts (not TestClient's ``testserver``)."""


def _test_client(app: Any, base_url: str = LOCAL) -> TestClient:
    return TestClient(app, base_url=base_url)


@pytest.fixture(scope="module")
def client(net: Any) -> Iterator[TestClient]:
    with _test_client(create_app(net)) as c:
        yield c


@pytest.fixture(scope="module")
def zidane(photo_paths: list[Path]) -> bytes:
    return next(p for p in photo_paths if p.name == "ultralytics__zidane.jpg").read_bytes()


@pytest.fixture(scope="module")
def small_jpeg(zidane: bytes) -> bytes:
    """A 320x180 JPEG of two people, quick to estimate."""
    return _encode(Image.open(io.BytesIO(zidane)).resize((320, 180)), "JPEG")


def _encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _library(net: Any, data: bytes, options: Any = DEFAULT_PRESET, **overrides: Any) -> list[dict[str, Any]]:
    """What the library says about the image: the JSON the service must answer."""
    return poses_to_json(net.estimate(decode_image(data), options, **overrides))


def _post(client: TestClient, body: bytes, params: dict[str, Any] | None = None,
          content_type: str | None = "image/jpeg", headers: dict[str, str] | None = None,
          **kw: Any) -> httpx.Response:
    sent = {"Content-Type": content_type} if content_type else {}
    return client.post("/v1/poses", content=body, params=params, headers={**sent, **(headers or {})}, **kw)


def _poses(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["poses"]


# ---------------------------------------------------------------------------- results


def test_multi_pose_matches_library(client: TestClient, net: Any, zidane: bytes) -> None:
    r = _post(client, zidane, {"mode": "multi", "max_detections": 3, "score_threshold": 0.3,
                               "nms_radius": 25})
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["width"], data["height"]) == (1280, 720)
    expected = _library(net, zidane, "camera", mode="multi", max_detections=3, score_threshold=0.3, nms_radius=25)
    assert _poses(data) == expected
    assert len(data["poses"]) >= 2
    assert set(data["timing"]) == {"decode_ms", "queue_ms", "inference_ms", "total_ms"}
    assert data["timing"]["total_ms"] >= data["timing"]["inference_ms"] > 0
    assert "Server-Timing" in r.headers
    pose = data["poses"][0]
    assert set(pose) == {"score", "keypoints"}
    assert [k["part"] for k in pose["keypoints"]][:3] == ["nose", "leftEye", "rightEye"]
    assert set(pose["keypoints"][0]) == {"score", "part", "position"}


def test_default_is_the_camera_preset(client: TestClient, net: Any, small_jpeg: bytes) -> None:
    """No options: the default preset (camera), as ``net.estimate(image, "camera")`` and the
    CLI; ``preset=reference`` gives the reference API's unfiltered defaults."""
    assert DEFAULT_PRESET == "camera"
    data = _post(client, small_jpeg).json()
    assert _poses(data) == _library(net, small_jpeg, "camera")
    reference = _post(client, small_jpeg, {"preset": "reference"}).json()
    assert _poses(reference) == poses_to_json(net.estimate_multiple_poses(_rgb(small_jpeg)))  # 5, 0.5, 20
    single = _post(client, small_jpeg, {"preset": "reference", "mode": "single"}).json()
    assert _poses(single) == poses_to_json([net.estimate_single_pose(_rgb(small_jpeg))])


_PRESET_PHOTOS = ("ultralytics__zidane.jpg", "tfpose__handsup1.jpg", "skimage__camera.png")


@pytest.mark.parametrize("mode", [None, "single"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_presets_match_the_library(client: TestClient, net: Any, photo_paths: list[Path], preset: str,
                                   mode: str | None) -> None:
    """``POST /v1/poses?preset=NAME[&mode=...]`` is ``net.estimate(image, NAME, mode=...)``, exactly."""
    photos = {p.name: p for p in photo_paths}
    found = 0
    for name in _PRESET_PHOTOS:
        data = photos[name].read_bytes()
        params = {"preset": preset} if mode is None else {"preset": preset, "mode": mode}
        r = _post(client, data, params, "image/png" if name.endswith(".png") else "image/jpeg")
        assert r.status_code == 200, r.text
        expected = _library(net, data, preset, mode=mode)
        assert _poses(r.json()) == expected, name
        minimum = get_preset(preset).options(mode or "multi").min_pose_score
        assert all(p["score"] >= minimum for p in expected)
        found += len(expected)
    assert found >= 3


def test_overrides_change_only_what_they_name(client: TestClient, net: Any, zidane: bytes) -> None:
    params = {"preset": "coco", "max_detections": 4, "min_pose_score": 0.2, "min_part_score": 0.3}
    data = _post(client, zidane, params).json()
    assert _poses(data) == _library(net, zidane, "coco", max_detections=4, min_pose_score=0.2, min_part_score=0.3)
    assert 1 <= len(data["poses"]) <= 4 and all(p["score"] >= 0.2 for p in data["poses"])


def test_single_pose_flip_and_resolution(client: TestClient, net: Any, zidane: bytes) -> None:
    image = _rgb(zidane)
    plain = _post(client, zidane, {"mode": "single"}).json()
    assert _poses(plain) == _library(net, zidane, mode="single")
    assert _poses(plain) == poses_to_json([net.estimate_single_pose(image)])  # score over 0.1: kept
    flipped = _post(client, zidane, {"mode": "single", "flip_horizontal": "true"}).json()
    for a, b in zip(plain["poses"][0]["keypoints"], flipped["poses"][0]["keypoints"], strict=True):
        assert a["part"] == b["part"]
        assert b["position"]["x"] == pytest.approx(1280 - 1 - a["position"]["x"], abs=1e-6)
        assert b["position"]["y"] == pytest.approx(a["position"]["y"], abs=1e-6)
    params = {"mode": "single", "preset": "reference"}
    custom = _post(client, zidane, {**params, "input_resolution": "353x257"}).json()
    assert _poses(custom) == poses_to_json([net.estimate_single_pose(image, input_resolution=(353, 257))])
    square = _post(client, zidane, {**params, "input_resolution": "161"}).json()
    assert _poses(square) == poses_to_json([net.estimate_single_pose(image, input_resolution=161)])


def test_multipart_upload_equals_raw_body(client: TestClient, small_jpeg: bytes) -> None:
    raw = _post(client, small_jpeg).json()
    r = client.post("/v1/poses", files={"image": ("p.jpg", small_jpeg, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert _poses(r.json()) == _poses(raw)
    r = client.post("/v1/poses", files={"file": ("p.bin", small_jpeg, "application/octet-stream")},
                    data={"note": "x"})
    assert r.status_code == 200 and _poses(r.json()) == _poses(raw)


@pytest.mark.parametrize("fmt,mode", [("PNG", "L"), ("PNG", "RGBA"), ("WEBP", "RGB"),
                                      ("BMP", "RGB"), ("GIF", "P"), ("TIFF", "RGB")])
def test_formats_and_modes(client: TestClient, small_jpeg: bytes, fmt: str, mode: str) -> None:
    img = Image.open(io.BytesIO(small_jpeg)).convert(mode)
    r = _post(client, _encode(img, fmt), {"mode": "single"}, f"image/{fmt.lower()}")
    assert r.status_code == 200, r.text
    assert (r.json()["width"], r.json()["height"]) == (320, 180)


def test_exif_orientation_is_applied(client: TestClient, small_jpeg: bytes) -> None:
    img = Image.open(io.BytesIO(small_jpeg))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    r = _post(client, _encode(img, "JPEG", exif=exif.tobytes()), {"mode": "single"})
    assert r.status_code == 200
    assert (r.json()["width"], r.json()["height"]) == (180, 320)


def test_octet_stream_is_sniffed(client: TestClient, small_jpeg: bytes) -> None:
    assert _post(client, small_jpeg, None, "application/octet-stream").status_code == 200


# ---------------------------------------------------------------------------- other routes


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _no_absolute_paths(value: Any) -> None:
    for text in _strings(value):
        assert not text.startswith("/") and "/work/" not in text and "/home/" not in text, text


def test_models_lists_model_checkpoints_presets(client: TestClient, net: Any) -> None:
    models = client.get("/v1/models").json()
    assert set(models) == {"loaded", "default_model", "models", "available", "presets", "default_preset", "limits"}
    loaded = models["loaded"]
    assert loaded == json.loads(json.dumps(net.info().to_dict()))
    assert models["default_model"] == "posenet"
    assert models["models"] == [{"name": "posenet", "description": FAMILIES["posenet"].description,
                                 "default": True, "loaded": True, "info": loaded}]
    assert loaded["family"] == "posenet" and loaded["name"] == "mobilenet-float-075-stride16"
    assert loaded["architecture"] == net.architecture == "MobileNetV1"
    assert loaded["output_stride"] == 16 and loaded["multiplier"] == 0.75
    assert loaded["quant_bytes"] == 4
    assert loaded["input_resolution"] == {"height": 257, "width": 257}
    assert len(loaded["keypoint_names"]) == 17 and len(loaded["skeleton"]) == 12
    names = {m["name"]: m for m in models["available"]}
    assert len(names) == 27
    assert models["available"] == [s.to_dict() for s in checkpoints.all_status()]
    assert names["mobilenet-float-075-stride16"]["on_disk"] is True
    assert models["presets"] == {name: p.to_dict() for name, p in PRESETS.items()}
    assert {"reference", "camera", "coco"} <= set(models["presets"])
    assert models["default_preset"] == DEFAULT_PRESET == "camera"
    assert models["limits"]["max_queue"] >= 1
    assert models["limits"]["max_input_side"] == max_input_side()
    # No absolute path anywhere (only URLs and names): nothing about this machine's folders.
    _no_absolute_paths(models)
    assert all(m["url"].startswith("https://") for m in models["available"])


def test_health_openapi_docs_page(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/poses"]["post"]
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == {"model", "preset", "mode", "input_resolution", *(s.name for s in POSE_OPTION_SPECS)}
    assert {"flip_horizontal", "max_detections", "score_threshold", "nms_radius", "min_pose_score",
            "min_part_score"} <= set(params)
    assert params["preset"]["schema"] == {"type": "string", "enum": list(PRESETS), "default": DEFAULT_PRESET}
    assert params["mode"]["schema"]["default"] == "multi"
    for spec_ in POSE_OPTION_SPECS:  # bounds and help generated from the library's specs
        schema = params[spec_.name]["schema"]
        assert "default" not in schema  # left out: the preset's value
        assert spec_.help in params[spec_.name]["description"]
        if spec_.maximum is not None:
            assert schema["maximum"] == spec_.maximum
            assert schema["exclusiveMinimum" if spec_.exclusive_minimum else "minimum"] == spec_.minimum
    assert {"image/jpeg", "image/png", "multipart/form-data"} <= set(op["requestBody"]["content"])
    assert {"400", "413", "415", "422", "503"} <= set(op["responses"])

    for path in ("/", "/docs"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    for name in ("app.js", "style.css", "docs.js"):
        assert client.get(f"/static/{name}").status_code == 200


def test_static_files_load_nothing_from_elsewhere() -> None:
    for path in STATIC_DIR.iterdir():
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path.name
        assert "//cdn" not in text and "@import" not in text, path.name
    html = (STATIC_DIR / "index.html").read_text()
    assert "<script>" not in html and "onclick" not in html and "style=" not in html  # CSP: no inline code
    app_js = (STATIC_DIR / "app.js").read_text()
    # Presets, keypoint names and the skeleton come from the service, not from the page.
    assert '"leftShoulder"' not in app_js and "0.15" not in app_js
    assert "default_preset" in app_js and "skeleton" in app_js and "keypoint_names" in app_js


_ALLOWED = {"posenet", "posenet.options", "posenet.families", "posenet.serialize", "posenet.images",
            "posenet.checkpoints", "posenet.errors"}


def test_server_imports_only_public_modules() -> None:
    """The server uses the library's public modules only (no preprocess, graph, engines,
    decode, nor another module's private names); no module over 250 lines, no function
    over 60."""
    server_dir = STATIC_DIR.parent
    for path in sorted(server_dir.glob("*.py")):
        source = path.read_text()
        assert source.count("\n") <= 250, path.name
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                assert node.end_lineno - node.lineno + 1 <= 60, (path.name, node.name)
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 1:
                    continue  # a sibling in posenet.server
                if node.level == 2:
                    base = "posenet" + (f".{base}" if base else "")
                targets = [(base, a.name) for a in node.names]
            else:
                continue
            for module, name in targets:
                if not module.startswith("posenet"):
                    continue
                submodule = module == "posenet" and importlib.util.find_spec(f"posenet.{name}") is not None
                full = f"{module}.{name}" if submodule else module
                assert full in _ALLOWED, (path.name, module, name)
                if name is not None:
                    assert not name.startswith("_") or (name.startswith("__") and name.endswith("__")), (
                        path.name, name)


# ---------------------------------------------------------------------------- errors


def _error(r: httpx.Response, status: int) -> Any:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()["detail"]


def test_undecodable_images_are_400(client: TestClient, zidane: bytes) -> None:
    assert "truncated" in _error(_post(client, zidane[: len(zidane) // 2]), 400)
    assert "cannot decode" in _error(_post(client, b"not an image at all"), 400)
    assert "empty" in _error(_post(client, b""), 400)
    assert "cannot decode" in _error(_post(client, zidane[:20]), 400)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'
    _error(_post(client, svg, None, "application/octet-stream"), 400)
    r = client.post("/v1/poses", content=b"--x\r\nbroken", headers={
        "Content-Type": "multipart/form-data; boundary=x"})
    _error(r, 400)
    r = client.post("/v1/poses", data={"note": "no file"}, files={})
    assert r.status_code in (400, 415)


def test_unsupported_types_are_415(client: TestClient, small_jpeg: bytes) -> None:
    assert "Content-Type" in _error(_post(client, small_jpeg, None, None), 415)
    _error(_post(client, small_jpeg, None, "text/plain"), 415)
    _error(_post(client, small_jpeg, None, "application/json"), 415)
    _error(_post(client, small_jpeg, None, "image/svg+xml"), 415)
    _error(_post(client, small_jpeg, None, "application/x-www-form-urlencoded"), 415)
    r = client.post("/v1/poses", files={"image": ("a.txt", b"hello", "text/plain")})
    _error(r, 415)


@pytest.mark.parametrize("params", [
    {"mode": "both"}, {"max_detections": 0}, {"max_detections": 10**6}, {"max_detections": "x"},
    {"max_detections": "2.5"}, {"score_threshold": 1.5}, {"score_threshold": "nan"},
    {"nms_radius": 0}, {"nms_radius": "-1"}, {"nms_radius": "inf"}, {"flip_horizontal": "maybe"},
    {"input_resolution": "abc"}, {"input_resolution": "0"}, {"input_resolution": "100000"},
    {"input_resolution": "257x"}, {"input_resolution": "9" * 400}, {"input_resolution": "16"},
    {"input_resolution": str(max_input_side() + 1)}, {"input_resolution": "257,257"}, {"unknown": "1"},
    {"preset": "nope"}, {"preset": ""}, {"min_pose_score": "1.5"}, {"min_part_score": "-0.1"},
    {"min_pose_score": "nan"}, {"nms_radius": "10001"}, {"max_detections": "1001"}, {"Mode": "single"},
])
def test_bad_options_are_422(client: TestClient, small_jpeg: bytes, params: dict[str, Any]) -> None:
    detail = _error(_post(client, small_jpeg, params), 422)
    assert isinstance(detail, list) and detail[0]["loc"][0] == "query"
    assert {"type", "loc", "msg"} <= set(detail[0])


def test_options_the_library_refuses_are_422() -> None:
    """Options that passed the schema but not the library (``PoseOptions``) are a 422 too."""
    request = RequestOptions.model_construct(preset="camera", mode="multi", max_detections=0)
    with pytest.raises(ApiError) as info:
        request.to_options("options")
    assert info.value.status == 422
    (problem,) = info.value.detail
    assert problem["loc"] == ["options"] and "maxDetections" in problem["msg"]
    resolved = RequestOptions(preset="coco", mode="single", min_part_score=0.4).to_options()
    assert resolved == get_preset("coco").options("single", min_part_score=0.4)


def test_size_limits_are_413(net: Any, small_jpeg: bytes) -> None:
    with _test_client(create_app(net, max_upload_bytes=10_000, max_pixels=320 * 180)) as c:
        big = small_jpeg + b"\0" * 10_000
        assert "body too large" in _error(_post(c, big), 413)

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
            for _ in range(20):
                yield b"\0" * 1000

        assert "body too large" in _error(
            c.post("/v1/poses", content=chunks(), headers={"Content-Type": "image/png"}), 413)
        ok = _post(c, small_jpeg, {"mode": "single"})
        assert ok.status_code == 200
        bigger = _encode(Image.new("RGB", (321, 180)), "PNG")
        assert "pixels" in _error(_post(c, bigger, None, "image/png"), 413)
        r = c.post("/v1/poses", files={"image": ("b.png", bigger, "image/png")})
        _error(r, 413)


def test_decompression_bomb_refused_from_the_header(client: TestClient) -> None:
    """A PNG announcing 30000x30000 pixels is refused before any decoding (413, not 400)."""
    png = _encode(Image.new("L", (8, 8)), "PNG")
    ihdr = png.index(b"IHDR")
    fields = struct.pack(">II", 30000, 30000) + png[ihdr + 12: ihdr + 17]
    chunk = b"IHDR" + fields
    bomb = png[: ihdr - 4] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    bomb += png[ihdr + 21:]
    assert "pixels" in _error(_post(client, bomb, None, "image/png"), 413)


def test_not_found_and_wrong_method(client: TestClient) -> None:
    _error(client.get("/v1/poses"), 405)
    _error(client.get("/nope"), 404)


def test_full_queue_is_503(net: Any, small_jpeg: bytes) -> None:
    """With max_queue=1 and the model busy, a second request is refused at once."""
    model = GatedModel(net)
    app = create_app(model, max_queue=1)

    async def scenario() -> tuple[int, int, str | None]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=LOCAL) as c:
            headers = {"Content-Type": "image/jpeg"}
            first = asyncio.create_task(c.post("/v1/poses", content=small_jpeg, headers=headers))
            await asyncio.to_thread(model.wait_inside, 1)
            second = await c.post("/v1/poses", content=small_jpeg, headers=headers)
            model.gate.set()
            r1 = await first
            third = await c.post("/v1/poses", content=small_jpeg, headers=headers)
            assert third.status_code == 200
            return r1.status_code, second.status_code, second.headers.get("retry-after")

    try:
        assert asyncio.run(scenario()) == (200, 503, "1")
    finally:
        app.state.estimator.close()


# ---------------------------------------------------------------------------- WebSocket


def _recv(ws: Any) -> dict[str, Any]:
    return json.loads(ws.receive_text())


def test_stream_answers_frames_and_options(client: TestClient, net: Any, small_jpeg: bytes) -> None:
    with client.websocket_connect(WS + "/v1/stream?mode=single") as ws:
        ready = _recv(ws)
        assert ready["type"] == "ready" and ready["options"]["mode"] == "single"
        assert ready["preset"] == DEFAULT_PRESET and ready["default_preset"] == DEFAULT_PRESET
        assert ready["options"] == get_preset(DEFAULT_PRESET).options("single").to_dict()
        assert ready["model"] == client.get("/v1/models").json()["loaded"]
        assert ready["model"]["architecture"] == "MobileNetV1"
        assert ready["presets"] == {name: p.to_dict() for name, p in PRESETS.items()}
        assert ready["max_frame_bytes"] > 0
        _no_absolute_paths(ready)
        ws.send_bytes(small_jpeg)
        msg = _recv(ws)
        assert msg["type"] == "poses" and msg["frame"] == 1 and len(msg["poses"]) == 1
        assert msg["poses"] == _library(net, small_jpeg, mode="single")

        ws.send_text(json.dumps({"type": "options", "mode": "multi", "max_detections": 2,
                                 "score_threshold": 0.1, "flip_horizontal": True}))
        opts = _recv(ws)
        assert opts["type"] == "options" and opts["options"]["max_detections"] == 2
        assert opts["preset"] == "camera" and opts["options"]["nms_radius"] == 30  # the preset's
        ws.send_bytes(small_jpeg)
        msg = _recv(ws)
        assert msg["frame"] == 2
        assert msg["poses"] == _library(net, small_jpeg, mode="multi", max_detections=2, score_threshold=0.1,
                                        flip_horizontal=True)

        # Another preset: the fields named before stay, null goes back to the preset's value.
        ws.send_text(json.dumps({"preset": "reference", "max_detections": None}))
        opts = _recv(ws)
        expected = get_preset("reference").options("multi", score_threshold=0.1, flip_horizontal=True)
        assert (opts["preset"], opts["options"]) == ("reference", expected.to_dict())

        ws.send_text(json.dumps({"type": "options", "nms_radius": -3}))
        err = _recv(ws)
        assert err["type"] == "error" and err["status"] == 422 and err["detail"][0]["loc"][0] == "options"
        ws.send_text(json.dumps({"preset": "nope"}))
        assert _recv(ws)["status"] == 422
        ws.send_text("not json")
        assert _recv(ws)["status"] == 400
        ws.send_text(json.dumps([1, 2]))
        assert _recv(ws)["status"] == 400
        ws.send_bytes(b"garbage")
        err = _recv(ws)
        assert err == {"type": "error", "frame": 3, "status": 400, "detail": err["detail"]}
        ws.send_bytes(small_jpeg)  # the stream goes on, with the options before the bad ones
        msg = _recv(ws)
        assert msg["frame"] == 4 and msg["poses"] == poses_to_json(net.estimate(decode_image(small_jpeg), expected))


def test_stream_frame_limit_is_413(net: Any, small_jpeg: bytes) -> None:
    with _test_client(create_app(net, max_upload_bytes=len(small_jpeg) - 1)) as c, \
            c.websocket_connect(WS + "/v1/stream") as ws:
        assert _recv(ws)["max_frame_bytes"] == len(small_jpeg) - 1
        ws.send_bytes(small_jpeg)
        err = _recv(ws)
        assert (err["type"], err["frame"], err["status"]) == ("error", 1, 413)


def test_stream_bad_query_closes(client: TestClient) -> None:
    for query in ("max_detections=-1", "preset=nope", "input_resolution=3"):
        with client.websocket_connect(WS + f"/v1/stream?{query}") as ws:
            msg = _recv(ws)
            assert msg["type"] == "error" and msg["status"] == 422 and msg["detail"][0]["loc"][0] == "query"


def test_stream_drops_stale_frames_oldest_first(net: Any, small_jpeg: bytes) -> None:
    """Frames arriving while one is processed replace each other: only the newest waits."""
    model = GatedModel(net)
    app = create_app(model)
    with _test_client(app) as c, c.websocket_connect(WS + "/v1/stream") as ws:
        assert _recv(ws)["type"] == "ready"
        try:
            ws.send_bytes(small_jpeg)  # frame 1: taken by the worker, held in the model
            model.wait_inside(1)
            for _ in range(4):  # frames 2..5 arrive while frame 1 is in the model
                ws.send_bytes(small_jpeg)
            dropped = [_recv(ws) for _ in range(3)]
        finally:
            model.gate.set()
        assert dropped == [{"type": "dropped", "frame": n} for n in (2, 3, 4)]
        first, last = _recv(ws), _recv(ws)
        assert (first["type"], first["frame"]) == ("poses", 1)
        assert (last["type"], last["frame"], last["dropped"]) == ("poses", 5, 3)


# ---------------------------------------------------------------------------- fuzzing

_KEYS = ["preset", "mode", "flip_horizontal", "max_detections", "score_threshold", "nms_radius",
         "min_pose_score", "min_part_score", "input_resolution"]
_values = st.one_of(
    st.sampled_from([*PRESETS, "single", "multi", "true", "false", "0", "1", "-1", "1e308", "nan", "inf",
                     "-inf", "0.5", "257", "353x257", "17x17", "1025x1025", "", " ", "x", "1x",
                     "4294967297", "0x10", "\u0663", "\uff11\uff12"]),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False).map(repr),
    st.text(max_size=30),
)
_good = {
    "preset": st.sampled_from(list(PRESETS)),
    "mode": st.sampled_from(["single", "multi"]),
    "flip_horizontal": st.sampled_from(["true", "false", "1", "0", "on", "off"]),
    "max_detections": st.integers(1, 20).map(str),
    "score_threshold": st.floats(0, 1, allow_subnormal=False).map(str),
    "nms_radius": st.floats(0.5, 100, allow_subnormal=False).map(str),
    "min_pose_score": st.floats(0, 1, allow_subnormal=False).map(str),
    "min_part_score": st.floats(0, 1, allow_subnormal=False).map(str),
    "input_resolution": st.sampled_from(["129", "161", "257", "353x257", "200", "17", "97x33"]),
}
_good_params = st.fixed_dictionaries({}, optional=dict(_good))
_params = st.one_of(
    _good_params,  # valid options: the image decides
    _good_params,
    st.tuples(_good_params, st.dictionaries(st.sampled_from(_KEYS), _values, max_size=2)).map(
        lambda t: {**t[0], **t[1]}),  # some odd values
    st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(min_size=1, max_size=12)), _values,
                    max_size=5),  # anything
)
_types = st.one_of(
    st.sampled_from(["image/jpeg", "image/png", "application/octet-stream"]),
    st.sampled_from(["image/gif", "text/plain", "", "image/", "multipart/form-data",
                     "multipart/form-data; boundary=zz", "image/jpeg; charset=utf-8", "*/*",
                     "\x7f"]),
)


@st.composite
def _bodies(draw: Any) -> bytes:
    base = draw(st.sampled_from(_FUZZ_IMAGES))
    kind = draw(st.sampled_from(["valid", "truncated", "flipped", "random", "prefix"]))
    if kind == "valid":
        return base
    if kind == "truncated":
        return base[: draw(st.integers(0, len(base)))]
    if kind == "flipped":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "prefix":
        return base[:16] + draw(st.binary(max_size=200))
    return draw(st.binary(max_size=300))


def _fuzz_images() -> list[bytes]:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
    return [_encode(img, "JPEG"), _encode(img, "PNG"), _encode(img.convert("P"), "GIF"),
            _encode(img, "WEBP"), _encode(img, "BMP"), _encode(img, "TIFF")]


_FUZZ_IMAGES = _fuzz_images()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(params=_params, body=_bodies(), content_type=_types)
def test_fuzz_requests_never_5xx(client: TestClient, params: dict[str, str], body: bytes,
                                 content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        r = client.post("/v1/poses", params=params, content=body, headers=headers)
    except UnicodeEncodeError:
        return  # not sendable over HTTP at all
    event(f"status {r.status_code}")
    assert r.status_code in (200, 400, 413, 415, 422), (r.status_code, r.text)
    data = r.json()
    if r.status_code == 200:
        assert all(math.isfinite(p["score"]) for p in data["poses"])
    else:
        assert data["detail"]
    assert client.get("/healthz").json()["internal_errors"] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(st.one_of(_bodies(), st.text(max_size=60),
                                   st.dictionaries(st.sampled_from([*_KEYS, "type", "x"]), _values,
                                                   max_size=3).map(json.dumps)),
                         min_size=1, max_size=4))
def test_fuzz_stream_never_breaks(client: TestClient, messages: list[Any]) -> None:
    with client.websocket_connect(WS + "/v1/stream") as ws:
        assert _recv(ws)["type"] == "ready"
        for m in messages:
            if isinstance(m, bytes):
                ws.send_bytes(m)
            else:
                ws.send_text(m)
        for _ in messages:  # each message gets exactly one answer (a frame may be dropped)
            msg = _recv(ws)
            assert msg["type"] in ("poses", "options", "error", "dropped"), msg
            if msg["type"] == "error":
                assert 400 <= msg["status"] < 500, msg


# ---------------------------------------------------------------------------- a real server


def _raw(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
                if b"\r\n\r\n" in out and len(out) > 12:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return out


def test_real_server_survives_malformed_requests(net: Any, small_jpeg: bytes) -> None:
    app = create_app(net, max_upload_bytes=100_000)
    with LiveServer(app) as server:
        port = server.port
        huge_header = b"POST /v1/poses HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
        for raw in [
            huge_header,
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(
                b"X-%d: y\r\n" % i for i in range(20000)) + b"\r\n",
            b"GARBAGE\r\n\r\n",
            b"POST /v1/poses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
            b"POST /v1/poses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 999999999\r\n\r\n" + small_jpeg[:100],
            b"POST /v1/poses?mode=%ff%fe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 4\r\n\r\nabcd",
            b"POST /v1/poses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        ]:
            reply = _raw(port, raw)
            if reply:  # a server may also just close the connection
                status = int(reply.split(b" ", 2)[1])
                assert 400 <= status < 500, reply[:200]
        # A client that disconnects in the middle of an upload.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /v1/poses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                      b"Content-Length: 50000\r\n\r\n" + small_jpeg[:1000])
        with httpx.Client(base_url=server.url, timeout=30) as c:
            assert c.get("/healthz").status_code == 200
            big = c.post("/v1/poses", content=b"\0" * 200_000, headers={"Content-Type": "image/png"})
            assert big.status_code == 413
            r = c.post("/v1/poses", content=small_jpeg, headers={"Content-Type": "image/jpeg"})
            assert r.status_code == 200 and r.json()["poses"]
            assert c.get("/healthz").json()["in_progress"] == 0


# ------------------------------------------------------- admission, deadlines, hosts and origins
# Each test below keeps a row of docs/bad-inputs.md ("Server") true.


async def _stream_frames(url: str, frame: bytes, stop: asyncio.Event, answers: list[str]) -> None:
    """A stream keeping two frames outstanding until ``stop``, then collecting its answers."""
    import websockets

    async with websockets.connect(url, max_size=None, open_timeout=20) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] == "ready"
        sent = 0
        while not stop.is_set() or len(answers) < sent:
            while not stop.is_set() and sent - len(answers) < 2:
                await ws.send(frame)
                sent += 1
            answers.append(json.loads(await asyncio.wait_for(ws.recv(), 20))["type"])


def test_streams_do_not_starve_http_requests(net: Any, small_jpeg: bytes) -> None:
    """More open streams than max_queue, each sending frames as fast as it is answered:
    every POST /v1/poses is still served (streams share slots of their own), and the
    streams are answered too."""
    streams, posts = 4, 12
    with LiveServer(create_app(net, max_queue=2)) as server:

        async def scenario() -> tuple[list[int], list[list[str]]]:
            stop = asyncio.Event()
            answers: list[list[str]] = [[] for _ in range(streams)]
            url = server.url.replace("http", "ws") + "/v1/stream"
            tasks = [asyncio.create_task(_stream_frames(url, small_jpeg, stop, a)) for a in answers]
            statuses = []
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
                while sum(len(a) for a in answers) < 2 * streams:  # the streams are busy
                    await asyncio.sleep(0.05)
                for _ in range(posts):
                    r = await c.post("/v1/poses", content=small_jpeg, headers={"Content-Type": "image/jpeg"})
                    statuses.append(r.status_code)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
            return statuses, answers

        statuses, answers = asyncio.run(scenario())
    assert statuses == [200] * posts
    assert all("poses" in a and "error" not in a for a in answers), answers


def test_too_many_streams_are_closed_1013(net: Any, small_jpeg: bytes) -> None:
    from starlette.websockets import WebSocketDisconnect

    with _test_client(create_app(net, max_streams=2)) as c, \
            c.websocket_connect(WS + "/v1/stream") as one, c.websocket_connect(WS + "/v1/stream") as two:
        assert _recv(one)["type"] == _recv(two)["type"] == "ready"
        with c.websocket_connect(WS + "/v1/stream") as three:
            err = _recv(three)
            assert (err["type"], err["status"]) == ("error", 503) and "too many streams" in err["detail"]
            with pytest.raises(WebSocketDisconnect) as info:
                three.receive_text()
            assert info.value.code == 1013 and "too many streams" in info.value.reason
        assert c.get("/healthz").json()["streams"] == 2
        two.close()
        one.send_bytes(small_jpeg)
        assert _recv(one)["type"] == "poses"  # the open ones go on
    with _test_client(create_app(net, max_streams=1)) as c:
        for _ in range(3):  # a closed stream frees its place
            with c.websocket_connect(WS + "/v1/stream") as ws:
                assert _recv(ws)["type"] == "ready"


def _upload_head(length: int, host: str = "127.0.0.1") -> bytes:
    return (f"POST /v1/poses HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_busy_server_answers_503_before_reading_the_body(net: Any, small_jpeg: bytes) -> None:
    """With max_queue requests in progress, a new upload is refused from its headers: 503
    at once, the connection closed, its (19 MB) body never read."""
    model = GatedModel(net)
    with LiveServer(create_app(model, max_queue=1)) as server, \
            httpx.Client(base_url=server.url, timeout=30) as c:

        async def first() -> httpx.Response:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as ac:
                return await ac.post("/v1/poses", content=small_jpeg, headers={"Content-Type": "image/jpeg"})

        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(asyncio.run, first())
            model.wait_inside(1)
            start = time.monotonic()
            for _ in range(5):
                reply = _raw(server.port, _upload_head(19_000_000) + b"\xff" * 65536, timeout=5)
                head = reply.split(b"\r\n\r\n")[0].lower()
                assert head.startswith(b"http/1.1 503"), reply[:200]
                assert b"connection: close" in head and b"retry-after: 1" in head
            assert time.monotonic() - start < 5
            assert c.get("/healthz").json()["in_progress"] == 1
            model.gate.set()
            assert pending.result(timeout=30).status_code == 200
        assert c.get("/healthz").json()["in_progress"] == 0


def test_upload_bytes_in_flight_are_bounded(net: Any, small_jpeg: bytes) -> None:
    """Free slots, but the bodies announced would pass max_body_bytes: 503 from the headers."""
    model = GatedModel(net)
    size = len(small_jpeg)
    with LiveServer(create_app(model, max_queue=4, max_body_bytes=3 * size)) as server, \
            httpx.Client(base_url=server.url, timeout=30) as c:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(c.post, "/v1/poses", content=small_jpeg, headers={"Content-Type": "image/jpeg"})
            model.wait_inside(1)
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                head = _upload_head(3 * size).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
                sock.sendall(head + b"\xff" * (3 * size))
                reply = b"".join(iter(lambda: sock.recv(65536), b""))  # until the server closes
            assert reply.startswith(b"HTTP/1.1 503") and b"bytes of uploads in progress" in reply, reply[:300]
            assert c.get("/healthz").json()["body_bytes"] == size
            model.gate.set()
            assert pending.result(timeout=30).status_code == 200
        assert c.get("/healthz").json()["body_bytes"] == 0
        model_info = c.get("/v1/models").json()["limits"]
        assert model_info["max_body_bytes"] == 3 * size


def test_slow_body_gets_408(net: Any, small_jpeg: bytes) -> None:
    with LiveServer(create_app(net, body_timeout=0.5)) as server:
        start = time.monotonic()
        reply = _raw(server.port, _upload_head(len(small_jpeg)) + small_jpeg[:100], timeout=10)
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert b"did not arrive within 0.5 s" in reply or b"connection: close" in reply.lower()
        assert time.monotonic() - start < 5
        with httpx.Client(base_url=server.url, timeout=30) as c:
            assert c.get("/healthz").json()["in_progress"] == 0
            r = c.post("/v1/poses", content=small_jpeg, headers={"Content-Type": "image/jpeg"})
            assert r.status_code == 200  # a body sent at once is in time


def _closed_within(sock: socket.socket, seconds: float, drip: bytes = b"") -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (sending ``drip`` every 0.1 s)."""
    deadline = time.monotonic() + seconds
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            if drip:
                sock.sendall(drip)
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:  # reset or broken pipe: closed
            return True
    return False


def test_slow_headers_are_cut_off(net: Any) -> None:
    """A connection that sends no request, or its headers a byte at a time, or idles after
    an answer, is closed after the header deadline."""
    with LiveServer(create_app(net), header_timeout=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            assert _closed_within(s, 5)
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert _closed_within(s, 5, drip=b"X")
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.settimeout(5)
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request's headers never end
            assert _closed_within(s, 5, drip=b"Y")
        with httpx.Client(base_url=server.url, timeout=10) as c:
            assert c.get("/healthz").status_code == 200


def test_foreign_host_is_refused(net: Any) -> None:
    """DNS rebinding: a request naming another host is refused (400), a stream closed (1008)."""
    from starlette.websockets import WebSocketDisconnect

    app = create_app(net, allowed_hosts=["pose.lan", "::1"])
    for base in ("http://evil.example", "http://127.0.0.1.evil.example:8000", "http://localhost.evil",
                 "http://127.0.0.1:99999"):
        with _test_client(app, base) as c:
            for r in (c.get("/"), c.get("/v1/models"), c.get("/healthz"),
                      c.post("/v1/poses", content=b"x", headers={"Content-Type": "image/jpeg"})):
                assert r.status_code == 400, (base, r.text)
                assert "is not accepted" in r.json()["detail"] and "--allow-host" in r.json()["detail"]
            with pytest.raises(WebSocketDisconnect) as info, \
                    c.websocket_connect(base.replace("http", "ws") + "/v1/stream"):
                pass
            assert info.value.code == 1008
    for base in ("http://localhost:8000", "http://127.0.0.1", "http://[::1]:8000", "http://LOCALHOST.",
                 "http://pose.lan:8000", "http://Pose.Lan"):
        with _test_client(app, base) as c:
            assert c.get("/healthz").status_code == 200, base
    with pytest.raises(ValueError, match="not a host name"):
        create_app(net, allowed_hosts=["evil example/"])
    with LiveServer(app) as server:  # no Host at all (HTTP/1.0)
        assert _raw(server.port, b"GET /healthz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_cross_site_origin_is_refused(net: Any, small_jpeg: bytes) -> None:
    """A page of another site may not open a stream (1008; the handshake is answered 403)
    nor upload (403); the service's own pages and clients without an Origin may."""
    from starlette.websockets import WebSocketDisconnect

    app = create_app(net, allowed_origins=["http://localhost:3000"])
    with _test_client(app) as c:
        for origin in ("http://evil.example", "null", "http://127.0.0.1:8000", "https://127.0.0.1:80",
                       "http://127.0.0.1.evil.example", "file://"):
            with pytest.raises(WebSocketDisconnect) as info, \
                    c.websocket_connect(WS + "/v1/stream", headers={"origin": origin}):
                pass
            assert info.value.code == 1008, origin
            r = _post(c, small_jpeg, headers={"Origin": origin})
            assert r.status_code == 403 and "--allow-origin" in r.json()["detail"], origin
            assert c.get("/v1/models", headers={"Origin": origin}).status_code == 200  # reading is harmless
        for headers in ({"origin": "http://127.0.0.1"}, {"origin": "http://127.0.0.1:80"},
                        {"origin": "http://LOCALHOST:3000/"}, {}):
            with c.websocket_connect(WS + "/v1/stream", headers=headers) as ws:
                assert _recv(ws)["type"] == "ready", headers
            assert _post(c, small_jpeg, headers=headers).status_code == 200
    import websockets.sync.client as ws_client
    from websockets.exceptions import InvalidStatus

    with LiveServer(create_app(net)) as server:
        url = server.url.replace("http", "ws") + "/v1/stream"
        with pytest.raises(InvalidStatus) as refused:
            ws_client.connect(url, origin="http://evil.example", open_timeout=10)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
        with ws_client.connect(url, origin=server.url, open_timeout=10) as ws:  # type: ignore[arg-type]
            assert json.loads(ws.recv())["type"] == "ready"


class _FailingModel:
    """A model whose estimate raises ``error`` (messages as careless libraries write them)."""

    family = "posenet"

    def __init__(self, net: Any, error: Exception) -> None:
        self.net, self.error = net, error

    def info(self) -> Any:
        return self.net.info()

    def reset(self) -> None:
        pass

    def estimate(self, image: Any, options: Any = None, **overrides: Any) -> Any:
        raise self.error

    def estimate_batch(self, images: Any, options: Any = None, **overrides: Any) -> Any:
        raise self.error


def _clean(text: str) -> None:
    assert "object at" not in text and "0x7f" not in text and "/work/" not in text and "/home/" not in text, text
    assert "C:\\" not in text and "site-packages" not in text, text


def test_errors_show_no_paths_or_object_reprs(net: Any, small_jpeg: bytes) -> None:
    from posenet.errors import InvalidImageError
    from posenet.server.errors import client_text

    buf = io.BytesIO()
    cases = [(InvalidImageError(f"cannot identify image file {buf!r} (/work/main/.venv/lib/x.py)"), 400),
             (ValueError(f"bad value {object()!r} in C:\\Users\\me\\model.json"), 422),
             (RuntimeError("failed at /home/me/posenet/src/posenet/model.py line 3"), 500)]
    for error, status in cases:
        with _test_client(create_app(_FailingModel(net, error))) as c:
            r = _post(c, small_jpeg)
            assert r.status_code == status and r.json()["detail"], r.text
            _clean(r.text)
            with c.websocket_connect(WS + "/v1/stream") as ws:
                _recv(ws)
                ws.send_bytes(small_jpeg)
                msg = _recv(ws)
                assert msg["status"] == status
                _clean(json.dumps(msg))
    assert client_text(f"cannot identify image file {buf!r}") == "cannot identify image file"
    assert client_text("see /usr/lib/python3/x.py and image/jpeg, /v1/poses, https://a.example/b/c") == (
        "see <path> and image/jpeg, /v1/poses, https://a.example/b/c")


def test_stream_survives_deeply_nested_json(net: Any, small_jpeg: bytes) -> None:
    """A text message nested beyond the JSON parser's depth is answered with an error; the
    stream goes on (it used to be dropped without a close frame)."""
    import websockets.sync.client as ws_client

    with LiveServer(create_app(net)) as server, \
            ws_client.connect(server.url.replace("http", "ws") + "/v1/stream", open_timeout=10) as ws:

        def recv() -> dict[str, Any]:
            return json.loads(ws.recv(timeout=20))

        assert recv()["type"] == "ready"
        ws.send("[" * 200_000 + "]" * 200_000)
        err = recv()
        assert (err["type"], err["status"]) == ("error", 400) and "nested" in err["detail"]
        ws.send('{"max_detections": ' + "[" * 500 + "]" * 500 + "}")
        err = recv()
        assert err["status"] == 422 and err["detail"][0]["input"] == "<list>"
        ws.send('{"preset": "' + "x" * 10_000 + '"}')
        err = recv()
        assert err["status"] == 422 and len(json.dumps(err)) < 2000  # a long input is not echoed whole
        ws.send(small_jpeg)
        assert recv()["type"] == "poses"


def test_requests_run_concurrently_without_a_model_lock(net: Any, small_jpeg: bytes) -> None:
    """Two requests are inside the model at the same time (a barrier only concurrent calls
    pass), and the queue still bounds what is admitted (503 beyond max_queue)."""
    model = GatedModel(net, barrier=2)
    app = create_app(model, max_queue=2, workers=2)

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=LOCAL, timeout=30) as c:
            headers = {"Content-Type": "image/jpeg"}
            both = [asyncio.create_task(c.post("/v1/poses", content=small_jpeg, headers=headers)) for _ in range(2)]
            await asyncio.to_thread(model.wait_inside, 2, 5)
            third = await c.post("/v1/poses", content=small_jpeg, headers=headers)
            model.gate.set()
            return [third.status_code, *[(await t).status_code for t in both]]

    try:
        assert asyncio.run(scenario()) == [503, 200, 200]
    finally:
        app.state.estimator.close()
    (a0, a1), (b0, b1) = model.spans
    assert max(a0, b0) < min(a1, b1), "the two estimates overlap in time"
    assert app.state.estimator.workers == 2


# ---------------------------------------------------------------------------- posenet serve


def _cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    from posenet.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_serve_port_out_of_range_is_a_usage_error(capsys: Any) -> None:
    for port in ("99999", "-1", "http"):
        code, out, err = _cli(capsys, "serve", "--port", port)
        assert code == 2 and "Traceback" not in err and "--port" in err, err
        assert out == ""


def test_serve_port_in_use_exits_1_before_the_banner(capsys: Any, models_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = _cli(capsys, "serve", "--port", str(port))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"port {port} is already in use" in err and "--port" in err, err
    assert "serving on" not in err and "Traceback" not in err


def test_serve_help_shows_default_limits(capsys: Any) -> None:
    from posenet.server import DEFAULT_MAX_PIXELS, DEFAULT_MAX_QUEUE, DEFAULT_MAX_STREAMS, DEFAULT_MAX_UPLOAD_BYTES

    with pytest.raises(SystemExit):
        from posenet.cli import build_parser

        build_parser().parse_args(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for value in (DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_QUEUE, DEFAULT_MAX_STREAMS):
        assert f"(default {value})" in out
    assert "the server's" not in out and "--allow-host" in out and "--allow-origin" in out


def test_serve_banner_and_access_log_on_stderr(models_dir: Path) -> None:
    """``posenet serve --port 0``: the banner (with the port chosen) and the access log on
    stderr, nothing on stdout; Ctrl+C stops it with exit code 0."""
    import os
    import queue
    import signal
    import subprocess
    import sys
    import threading

    env = {**os.environ, "POSENET_MODEL_DIR": str(models_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "posenet", "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in proc.stderr or ():
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        while not any("serving on" in line for line in seen):
            line = lines.get(timeout=60)
            assert line is not None, "".join(seen)
            seen.append(line)
        url = next(line for line in seen if "serving on" in line).split()[3].rstrip("/")
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        for _ in range(100):
            try:
                assert httpx.get(url + "/healthz", timeout=5).status_code == 200
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    while (line := lines.get(timeout=1)) is not None:
        seen.append(line)
    out = proc.stdout.read() if proc.stdout else ""
    err = "".join(seen)
    assert out == "", out
    assert '"GET /healthz HTTP/1.1" 200' in err, err
    assert proc.returncode == 0, err


def test_serve_uses_one_engine_thread_per_worker(capsys: Any, models_dir: Path, monkeypatch: Any) -> None:
    import posenet.cli.serve as serve_verb
    import posenet.server as server

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(server, "serve", lambda net, **kw: calls.append((net, kw)))
    for workers, argv, threads in ((4, [], 1), (4, ["--threads", "3"], 3), (1, [], None), (1, ["--workers", "2"], 1)):
        monkeypatch.setattr(serve_verb, "default_workers", lambda w=workers: w)
        assert _cli(capsys, "serve", *argv)[0] == 0
        net, kw = calls.pop()
        assert net.config.num_threads == threads, (workers, argv)
        assert kw.get("workers") == (2 if "--workers" in argv else None)


def test_serve_passes_hosts_and_origins(capsys: Any, models_dir: Path, monkeypatch: Any) -> None:
    import posenet.server as server

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server, "serve", lambda net, **kw: calls.append(kw))
    code, _, _ = _cli(capsys, "serve", "--allow-host", "pose.lan", "--allow-host", "::1", "--allow-origin",
                      "http://localhost:3000", "--max-streams", "3")
    assert code == 0
    (kw,) = calls
    assert kw["allowed_hosts"] == ["pose.lan", "::1"] and kw["allowed_origins"] == ["http://localhost:3000"]
    assert kw["max_streams"] == 3
    code, _, err = _cli(capsys, "serve", "--allow-host", "evil example/")
    assert code == 2 and "not a host name" in err
