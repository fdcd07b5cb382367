"""The annotated .mp4 that `posenet video` writes plays in a browser (headless Chromium).

Needs Debian's ``chromium`` (``tools/ci/install_browser.sh``) and Python Playwright (the
``test`` extra); skipped without them unless ``POSENET_REQUIRE_BROWSER=1``. The file is
served from a local ``http.server`` on 127.0.0.1 with its real Content-Type.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from posenet.cli import main

CHROMIUM = os.environ.get("POSENET_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--autoplay-policy=no-user-gesture-required"]
SMALL_VIDEO = "mmaction2__test_video_structuralize.mp4"  # 426x240, 29.97 fps, H.264
PAGE = '<!doctype html><title>video</title><video id="v" muted playsinline preload="auto" src="{name}"></video>'
TIMEOUT_MS = 20_000

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
    if problem is None and (_missing("av") or _missing("cv2")):
        problem = "the video extra is not installed (pip install -e .[video])"
    if problem:
        if required:
            pytest.fail(problem)
        pytest.skip(problem)
    return sync_playwright


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {".mp4": "video/mp4", ".html": "text/html; charset=utf-8",
                                                "": "application/octet-stream"}

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextlib.contextmanager
def _serve(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (a free port) until the block ends; its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _playback(page: Any, url: str) -> dict[str, Any]:
    """Open ``url`` (a page with one muted <video id="v">), play it; what the element says."""
    page.goto(url)
    page.wait_for_function("() => { const v = document.getElementById('v'); return v.readyState >= 1 || v.error; }",
                           timeout=TIMEOUT_MS)
    page.evaluate("() => document.getElementById('v').play().catch(() => {})")
    page.wait_for_function("() => { const v = document.getElementById('v'); return v.currentTime > 0.5 || v.error; }",
                           timeout=TIMEOUT_MS)
    result: dict[str, Any] = page.evaluate(
        "() => { const v = document.getElementById('v');"
        " return {width: v.videoWidth, height: v.videoHeight, time: v.currentTime, ready: v.readyState,"
        " error: v.error && v.error.code}; }")
    return result


def test_the_mp4_the_cli_writes_plays_in_chromium(tmp_path: Path, models_dir: Path, video_dir: Path) -> None:
    sync_playwright = _requirements()
    site = tmp_path / "site"
    site.mkdir()
    for name, extra in [("h264.mp4", []), ("mp4v.mp4", ["--fourcc", "mp4v"])]:
        code = main(["-q", "video", str(video_dir / SMALL_VIDEO), "--end", "2", "--multi", "--out", str(site / name),
                     *extra])
        assert code == 0
        (site / f"{name}.html").write_text(PAGE.format(name=name))
    with _serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            h264 = _playback(page, f"{base}/h264.mp4.html")
            mp4v = _playback(page, f"{base}/mp4v.mp4.html")
        finally:
            browser.close()
    assert h264["error"] is None and (h264["width"], h264["height"]) == (426, 240), h264
    assert h264["time"] > 0.5, h264  # it plays
    # the old default, MPEG-4 Part 2: Chromium does not decode it (readyState 0 or an error)
    assert mp4v["width"] == 0 and (mp4v["error"] is not None or mp4v["ready"] == 0), mp4v
