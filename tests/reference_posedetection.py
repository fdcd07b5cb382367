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

import hashlib
import http.server
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .reference import ReferenceUnavailable, _file_lock, _unavailable
from .reference_tfjs4 import GraphModelWorker

__all__ = ["POSEDETECTION_DIR", "ModelServer", "MoveNetWorker", "PoseDetectionWorker", "ensure_posedetection_installed",
           "require_posedetection"]

REPO_ROOT = Path(__file__).resolve().parents[1]
POSEDETECTION_DIR = REPO_ROOT / "tools" / "reference-posedetection"
WORKER_SCRIPT = POSEDETECTION_DIR / "run_posedetection.js"
BACKENDS = ("cpu", "wasm")
_STAMP_NAME = ".posenet-py-install-stamp"
_install_lock = threading.Lock()


def _install_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((POSEDETECTION_DIR / name).read_bytes())
    return digest.hexdigest()


def _is_installed(stamp: str) -> bool:
    stamp_file = POSEDETECTION_DIR / "node_modules" / _STAMP_NAME
    return stamp_file.is_file() and stamp_file.read_text().strip() == stamp


def ensure_posedetection_installed(timeout: float = 600.0) -> Path:
    """Make ``tools/reference-posedetection/node_modules`` match its lock file (``npm ci``)."""
    if shutil.which("node") is None:
        raise _unavailable("Node.js (`node`) is not on PATH: the pose-detection reference cannot run")
    stamp = _install_stamp()
    if _is_installed(stamp):
        return POSEDETECTION_DIR
    npm = shutil.which("npm")
    if npm is None:
        raise _unavailable("`npm` is not on PATH: cannot install the pose-detection reference")
    lock_path = Path(tempfile.gettempdir()) / (
        "posenet-py-posedetection-" + hashlib.sha256(str(POSEDETECTION_DIR).encode()).hexdigest()[:16] + ".lock")
    with _install_lock, _file_lock(lock_path):
        if _is_installed(stamp):
            return POSEDETECTION_DIR
        try:
            proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=POSEDETECTION_DIR,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise _unavailable(f"`npm ci` in {POSEDETECTION_DIR} took longer than {timeout:.0f} s") from None
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise _unavailable(f"`npm ci` in {POSEDETECTION_DIR} failed (exit {proc.returncode}):\n{tail}")
        (POSEDETECTION_DIR / "node_modules" / _STAMP_NAME).write_text(stamp + "\n")
    return POSEDETECTION_DIR


def require_posedetection() -> Path:
    """ensure_posedetection_installed(), turning ReferenceUnavailable into ``pytest.skip``."""
    try:
        return ensure_posedetection_installed()
    except ReferenceUnavailable as exc:
        import pytest

        pytest.skip(str(exc))


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


class PoseDetectionWorker(GraphModelWorker):
    """A running ``run_posedetection.js`` on ``backend`` (``cpu`` or ``wasm``; the request/timeout/kill
    logic of :class:`GraphModelWorker`)."""

    def __init__(self, timeout: float = 120.0, backend: str = "cpu") -> None:  # the base's, with this script
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r}: use one of {BACKENDS}")
        ensure_posedetection_installed()
        self.timeout = timeout
        self.backend = backend
        self._tmp = tempfile.TemporaryDirectory(prefix="posenet-posedetection-")
        self._tmpdir = Path(self._tmp.name)
        self._stderr = open(self._tmpdir / "worker.log", "w+b")  # noqa: SIM115 - closed in close()
        self._next_id = 0
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._proc = subprocess.Popen([shutil.which("node") or "node", str(WORKER_SCRIPT), backend],
                                      cwd=POSEDETECTION_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr)
        threading.Thread(target=self._pump, args=(self._proc.stdout,), daemon=True).start()
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
