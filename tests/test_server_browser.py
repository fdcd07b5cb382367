"""End to end: the page in a real headless Chromium, its camera fed from a real video.

Needs Debian's ``chromium`` (``tools/ci/install_browser.sh``) and Python Playwright (the
``test`` extra); skipped without them unless ``POSENET_REQUIRE_BROWSER=1``. Set
``POSENET_SCREENSHOT_DIR`` to keep the screenshots.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import posenet
from posenet.images import decode_image
from posenet.options import DEFAULT_PRESET, PRESETS, get_preset
from posenet.serialize import poses_to_json

try:  # tests/ as a package or as a plain folder on sys.path
    from .server_helpers import LiveServer, real_net
except ImportError:  # pragma: no cover
    from server_helpers import LiveServer, real_net  # type: ignore[no-redef]

CHROMIUM = os.environ.get("POSENET_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
W, H = 640, 360

pytestmark = pytest.mark.slow


def _requirements() -> Any:
    required = os.environ.get("POSENET_REQUIRE_BROWSER") == "1"
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem, sync_playwright = "Python Playwright is not installed (pip install -e .[test])", None
    if problem is None and not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        problem = f"{CHROMIUM} is missing (run tools/ci/install_browser.sh)"
    if problem:
        if required:
            pytest.fail(problem)
        pytest.skip(problem)
    return sync_playwright


def write_y4m(video: Path, out: Path, size: tuple[int, int] = (W, H), frames: int = 32) -> Path:
    """The first ``frames`` frames of ``video`` (two people), downscaled, played forward then
    backward (a seamless loop), as a Y4M file Chromium's fake camera plays."""
    cv2 = pytest.importorskip("cv2")
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    images = []
    while len(images) < frames:
        ok, frame = cap.read()
        if not ok:
            break
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        images.append(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    cap.release()
    assert images, f"cannot read {video}"
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F{round(fps)}:1 Ip A1:1 C420jpeg\n".encode())
        for data in images + images[-2:0:-1]:
            f.write(b"FRAME\n")
            f.write(data)
    return out


OTHER_MODELS = ("movenet-lightning", "blazepose-lite")
"""Offered by the page's server besides PoseNet (those registered), loaded when chosen."""


def _loader(name: str) -> Any:
    return lambda: posenet.create_detector(name)


@pytest.fixture(scope="module")
def live_server() -> Any:
    from posenet.server import create_app

    models = {name: _loader(name) for name in OTHER_MODELS if name in posenet.FAMILIES}
    with LiveServer(create_app(real_net(), models=models, max_queue=4)) as server:
        yield server


def _pose_pixels(page: Any) -> int:
    """Non-black pixels on the canvas (the video is hidden: only the drawing is left)."""
    return page.evaluate(
        """() => {
            const c = document.getElementById('output');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 90) n++;
            return n;
        }"""
    )


def _check_drawn_keypoints(page: Any) -> None:
    """The last drawing shows exactly the keypoints at or over min_part_score of the options in force."""
    drawn, expected = page.evaluate(
        """() => {
            const s = window.posenetStats, minPart = s.options.min_part_score;
            const n = s.lastResult.poses.reduce((t, p) => t + p.keypoints.filter(
                (k) => k.score !== null && k.score >= minPart).length, 0);
            return [s.lastDrawnKeypoints, n];
        }"""
    )
    assert drawn == expected > 0


def test_webcam_page_draws_poses(tmp_path: Path, video_dir: Path, photo_paths: list[Path],
                                 live_server: LiveServer) -> None:
    sync_playwright = _requirements()
    y4m = write_y4m(video_dir / "mmaction2__demo_skeleton.mp4", tmp_path / "camera.y4m")
    shots = Path(os.environ.get("POSENET_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=[*LAUNCH_ARGS, f"--use-file-for-fake-video-capture={y4m}"],
            viewport={"width": 1200, "height": 760},
        )
        try:
            page = context.new_page()
            outside: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:"))
                    else outside.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(base + "/")
            assert page.title() == "posenet-py"
            # The presets come from GET /v1/models; the default one is selected.
            page.wait_for_function("() => document.querySelectorAll('#preset option').length > 0")
            assert page.eval_on_selector_all("#preset option", "os => os.map(o => o.value)") == list(PRESETS)
            assert page.input_value("#preset") == DEFAULT_PRESET
            camera = get_preset(DEFAULT_PRESET).options("multi")
            assert float(page.input_value("#min-pose")) == camera.min_pose_score
            assert float(page.input_value("#score-threshold")) == camera.score_threshold
            page.click("#camera-start")
            # Poses arrive over the WebSocket and are drawn.
            page.wait_for_function(
                "() => window.posenetStats.framesAnswered >= 5 && window.posenetStats.drawnPoses > 0",
                timeout=30_000,
            )
            # Both people of the video are found in one frame.
            page.wait_for_function(
                "() => (window.posenetStats.lastResult.poses || []).filter(p => p.score > 0.5).length >= 2",
                timeout=20_000,
            )
            stats = page.evaluate("() => ({...window.posenetStats, lastResult: undefined})")
            result = page.evaluate("() => window.posenetStats.lastResult")
            assert stats["source"] == "camera"
            # The options in force, as the stream resolved them: the preset's, mirrored.
            assert stats["preset"] == DEFAULT_PRESET
            expected = camera.replace(flip_horizontal=True, input_resolution="257").to_dict()
            assert stats["options"] == expected
            assert all(p["score"] >= camera.min_pose_score for p in result["poses"])  # filtered by the service
            assert (result["width"], result["height"]) == (W, H)
            people = [p for p in result["poses"] if p["score"] > 0.5]
            centres = []
            for pose in people:
                pts = np.array([[k["position"]["x"], k["position"]["y"]] for k in pose["keypoints"]
                                if k["score"] > 0.5])
                assert len(pts) >= 5
                assert ((pts >= [-0.05 * W, -0.05 * H]) & (pts <= [1.05 * W, 1.05 * H])).all()
                centres.append(pts[:, 0].mean())
            assert abs(centres[0] - centres[1]) > 30, "two distinct people"
            assert stats["lastLatencyMs"] is not None and stats["lastLatencyMs"] > 0
            assert stats["fps"] > 0
            assert page.inner_text("#fps") not in ("", "\u2013")
            assert page.inner_text("#latency").endswith("ms")

            # The canvas shows the video...
            frame_std = page.evaluate(
                """() => {
                    const c = document.getElementById('output');
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let s = 0, s2 = 0, n = 0;
                    for (let i = 0; i < d.length; i += 16) { s += d[i + 1]; s2 += d[i + 1] ** 2; n++; }
                    return Math.sqrt(s2 / n - (s / n) ** 2);
                }"""
            )
            assert frame_std > 10, "the video is drawn on the canvas"
            page.screenshot(path=str(shots / "server_page_camera.png"))
            # ...and with the video hidden, the skeletons are what is left.
            page.uncheck("#show-video")
            page.wait_for_timeout(300)
            assert _pose_pixels(page) > 300
            page.screenshot(path=str(shots / "server_page_skeleton_only.png"))
            page.check("#show-video")

            # Options reach the stream: single-pose mode answers one pose a frame.
            page.check('input[name="mode"][value="single"]')
            answered = page.evaluate("() => window.posenetStats.framesAnswered")
            page.wait_for_function(
                f"() => window.posenetStats.framesAnswered > {answered + 3}"
                " && window.posenetStats.lastResult.poses.length === 1",
                timeout=15_000,
            )

            # Another model for the stream: its own detector answers (pose-detection's keypoint shape).
            if "movenet-lightning" in posenet.FAMILIES:
                page.select_option("#model-select", "movenet-lightning")
                page.wait_for_function(
                    "() => window.posenetStats.lastModel === 'movenet-lightning'"
                    " && window.posenetStats.lastResult.poses.length === 1"
                    " && 'name' in window.posenetStats.lastResult.poses[0].keypoints[0]", timeout=20_000)
                page.select_option("#model-select", "posenet")
                page.wait_for_function("() => window.posenetStats.lastModel === 'posenet'", timeout=20_000)

            # A photo chosen in the page goes through POST /v1/poses.
            page.check('input[name="mode"][value="multi"]')
            page.click("#camera-stop")
            photo = next(p for p in photo_paths if p.name == "ultralytics__zidane.jpg")
            page.set_input_files("#photo", str(photo))
            page.wait_for_function(
                "() => window.posenetStats.source === 'photo' && window.posenetStats.lastResult"
                " && window.posenetStats.lastResult.width === 1280",
                timeout=15_000,
            )
            scores = page.evaluate("() => window.posenetStats.lastResult.poses.map(p => p.score)")
            assert sum(score > 0.3 for score in scores) >= 2, scores  # two men in the photo
            page.wait_for_timeout(100)
            page.screenshot(path=str(shots / "server_page_photo.png"))
            _check_drawn_keypoints(page)

            # Another preset: the sliders take its values and the answer is the library's.
            answered = page.evaluate("() => window.posenetStats.framesAnswered")
            page.select_option("#preset", "coco")
            page.wait_for_function(
                f"() => window.posenetStats.preset === 'coco' && window.posenetStats.framesAnswered > {answered}",
                timeout=15_000,
            )
            coco = get_preset("coco").options("multi")
            assert int(page.input_value("#max-detections")) == coco.max_detections
            result = page.evaluate("() => window.posenetStats.lastResult")
            expected_poses = poses_to_json(real_net().estimate(decode_image(photo.read_bytes()), "coco",
                                                               input_resolution="257"))
            assert result["poses"] == expected_poses
            page.wait_for_timeout(100)
            _check_drawn_keypoints(page)

            _switch_models(page, photo_paths, shots)

            page.goto(base + "/docs")
            page.wait_for_function("() => document.querySelectorAll('.docs section').length >= 4")
            assert "/v1/poses" in page.inner_text("#docs")
            page.screenshot(path=str(shots / "server_docs.png"), full_page=True)
            assert outside == [], f"the page fetched from elsewhere: {outside}"
            assert problems == [], f"browser console errors: {problems}"
        finally:
            context.close()


def _canvas_sum(page: Any, canvas_id: str) -> int:
    return page.evaluate(
        """(id) => {
            const c = document.getElementById(id);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let s = 0;
            for (let i = 0; i < d.length; i += 4) s += (d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7) * (i % 97 + 1);
            return s;
        }""", canvas_id)


def _switch_models(page: Any, photo_paths: list[Path], shots: Path) -> None:
    """The model selector lists the models offered; choosing one re-estimates the photo
    with it, and the page draws that model's own skeleton (33 points and a 3D view for
    BlazePose, which the user turns by dragging)."""
    offered = page.eval_on_selector_all("#model-select option", "os => os.map(o => o.value)")
    assert offered[0] == "posenet" and page.input_value("#model-select") == "posenet"
    assert set(offered) == {"posenet", *(n for n in OTHER_MODELS if n in posenet.FAMILIES)}
    photo = next(p for p in photo_paths if p.name == "tfpose__p1.jpg")
    page.set_input_files("#photo", str(photo))
    width = decode_image(photo).shape[1]
    page.wait_for_function("() => window.posenetStats.lastModel === 'posenet'"
                           f" && window.posenetStats.lastResult.width === {width}", timeout=15_000)
    before = page.evaluate("() => window.posenetStats.lastResult.poses")
    assert page.is_hidden("#view3d-box")  # PoseNet has no 3D keypoints
    if "movenet-lightning" in offered:
        page.select_option("#model-select", "movenet-lightning")
        page.wait_for_function("() => window.posenetStats.lastModel === 'movenet-lightning'", timeout=20_000)
        result = page.evaluate("() => window.posenetStats.lastResult")
        assert result["poses"] != before and len(result["poses"]) == 1
        assert set(result["poses"][0]["keypoints"][0]) == {"x", "y", "score", "name"}
        options = posenet.PoseOptions(**{k: v for k, v in page.evaluate("() => window.posenetStats.options").items()
                                         if k != "model" and k != "preset"})
        library = posenet.create_detector("movenet-lightning").estimate_batch([decode_image(photo)], options)[0]
        assert result["poses"] == poses_to_json(library)
        page.wait_for_timeout(100)
        _check_drawn_keypoints(page)
        assert "movenet-lightning" in page.inner_text("#model")
    if "blazepose-lite" not in offered:
        return
    page.select_option("#model-select", "blazepose-lite")
    page.wait_for_function("() => window.posenetStats.lastModel === 'blazepose-lite'", timeout=30_000)
    result = page.evaluate("() => window.posenetStats.lastResult")
    assert len(result["poses"]) == 1 and len(result["poses"][0]["keypoints"]) == 33
    assert len(result["poses"][0]["keypoints3D"]) == 33
    page.wait_for_timeout(100)
    _check_drawn_keypoints(page)
    assert "33 keypoints" in page.inner_text("#model")
    assert page.is_visible("#view3d-box") and page.evaluate("() => window.posenetStats.drawn3d") > 10
    seen = _canvas_sum(page, "view3d")
    page.locator("#view3d").scroll_into_view_if_needed()
    box = page.locator("#view3d").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 60, box["y"] + 120)
    page.mouse.down()
    page.mouse.move(box["x"] + 180, box["y"] + 100, steps=6)
    page.mouse.up()
    assert _canvas_sum(page, "view3d") != seen, "dragging turns the 3D view"
    page.screenshot(path=str(shots / "server_page_blazepose.png"))
    page.select_option("#model-select", "posenet")  # and back: PoseNet's 17 keypoints, no 3D view
    page.wait_for_function("() => window.posenetStats.lastModel === 'posenet'", timeout=15_000)
    assert page.evaluate("() => window.posenetStats.lastResult.poses") == before
    assert page.is_hidden("#view3d-box")
