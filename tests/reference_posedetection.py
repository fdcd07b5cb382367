"""Client for the pose-detection 2.1.3 reference (``tools/reference-posedetection/run_posedetection.js``).

The worker runs ``@tensorflow-models/pose-detection`` 2.1.3 (MoveNet; BlazePose with ``runtime:
'tfjs'``) with TF.js 4.22.0 (cpu or wasm backend) under
Node.js and speaks newline-delimited JSON; images travel as raw RGB files, so both sides see the
same pixels. The models are served to it by :class:`ModelServer`, a ``http.server`` on 127.0.0.1
that answers with ``Connection: close`` (Node's fetch stalls on a kept-alive second model).

Usage::

    with ModelServer(model_dir) as server, PoseDetectionWorker(backend="wasm") as ref:
        handle = ref.create({"modelType": "SinglePose.Lightning", "modelUrl": server.url("movenet-lightning.json")})
        poses = ref.estimate(handle, rgb, flip=False, timestamp_ms=None)
        blaze = ref.create({"runtime": "tfjs", "modelType": "full", "detectorModelUrl": ..., "landmarkModelUrl": ...},
                           model="BlazePose")

Free of posenet-py imports. Installs itself on first use (``npm ci``); skips where Node.js or npm
are missing, except in CI (``CI=true``), where that is an error.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .node_harness import (
    NodeWorker,
    ReferenceUnavailable,  # noqa: F401 - importable from here as before
    ensure_installed,
    require,
)

__all__ = ["POSEDETECTION_DIR", "ModelServer", "MoveNetWorker", "PoseDetectionWorker", "ensure_posedetection_installed",
           "require_posedetection"]

REPO_ROOT = Path(__file__).resolve().parents[1]
POSEDETECTION_DIR = REPO_ROOT / "tools" / "reference-posedetection"
WORKER_SCRIPT = POSEDETECTION_DIR / "run_posedetection.js"
BACKENDS = ("cpu", "wasm")
_NAME = "pose-detection"  # "the pose-detection reference" in messages


def ensure_posedetection_installed(timeout: float = 600.0) -> Path:
    """Make ``tools/reference-posedetection/node_modules`` match its lock file (``npm ci``)."""
    return ensure_installed(POSEDETECTION_DIR, _NAME, timeout)


def require_posedetection() -> Path:
    """ensure_posedetection_installed(), turning ReferenceUnavailable into ``pytest.skip``."""
    return require(POSEDETECTION_DIR, _NAME)


class _Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    timeout = 30

    def end_headers(self) -> None:
        self.send_header("Connection", "close")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ModelServer:
    """Serves ``folder`` read-only on 127.0.0.1 (a free port) until :meth:`close`; a context manager."""

    def __init__(self, folder: str | Path) -> None:
        folder = str(Path(folder).resolve())

        def handler(*args: Any, **kwargs: Any) -> _Handler:
            return _Handler(*args, directory=folder, **kwargs)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PoseDetectionWorker(NodeWorker):
    """A running ``run_posedetection.js`` on ``backend`` (``cpu`` or ``wasm``); a context manager with
    the request/timeout/kill logic of :class:`node_harness.NodeWorker`."""

    def __init__(self, timeout: float = 120.0, backend: str = "cpu") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r}: use one of {BACKENDS}")
        ensure_posedetection_installed()
        super().__init__(POSEDETECTION_DIR, WORKER_SCRIPT.name, [backend], timeout=timeout,
                         tmp_prefix="posenet-posedetection-")
        self.backend = backend
        self.last_crop: dict[str, float] | None = None
        self.last_mask: np.ndarray | None = None

    def create(self, config: dict[str, Any], model: str = "MoveNet") -> int:
        """``createDetector(model, config)`` (``model``: ``MoveNet`` or ``BlazePose``): a handle."""
        return int(self.request("create", model=model, config=config)["handle"])

    def _frame(self, rgb: np.ndarray) -> dict[str, Any]:
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        path = self._tmpdir / "frame.rgb"
        path.write_bytes(rgb.tobytes())
        return {"image": str(path), "height": int(rgb.shape[0]), "width": int(rgb.shape[1])}

    def estimate(self, handle: int, rgb: np.ndarray, flip: bool = False,
                 timestamp_ms: float | None = None) -> list[dict[str, Any]]:
        """``estimatePoses(rgb as an int32 tensor, {flipHorizontal: flip}, timestamp_ms)``: the poses as
        JSON. After the call, :attr:`last_crop` holds MoveNet's next single-pose crop region and
        :attr:`last_mask` the segmentation mask (float32, image height x width) if a pose had one."""
        mask_path = self._tmpdir / "mask.f32"
        mask_path.unlink(missing_ok=True)
        reply = self.request("estimate", handle=handle, flip=bool(flip), timestamp=timestamp_ms,
                             mask=str(mask_path), **self._frame(rgb))
        poses: list[dict[str, Any]] = reply["poses"]
        self.last_crop = reply.get("crop")
        self.last_mask = None
        shapes = [p["segmentation"] for p in poses if p.get("segmentation")]
        if shapes and mask_path.is_file():
            self.last_mask = np.fromfile(mask_path, np.float32).reshape(shapes[-1]["height"], shapes[-1]["width"])
        return poses

    def time(self, handle: int, rgb: np.ndarray, repeats: int, warmup: int = 1) -> tuple[list[float], int]:
        """Milliseconds of each of ``repeats`` ``estimatePoses`` calls on ``rgb`` (after ``warmup``
        calls), and how many poses the last call found."""
        reply = self.request("time", handle=handle, repeats=int(repeats), warmup=int(warmup), **self._frame(rgb))
        return [float(v) for v in reply["ms"]], int(reply["poses"])

    def reset(self, handle: int) -> None:
        self.request("reset", handle=handle)


MoveNetWorker = PoseDetectionWorker
"""The cpu-backend worker under its first name (MoveNet parity tests)."""
