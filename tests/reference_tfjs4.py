"""Client for the TF.js 4.22 graph-model reference (``tools/reference-tfjs4/run_graph_model.js``).

The worker runs ``@tensorflow/tfjs-converter`` 4.22.0 on the cpu backend under Node.js and speaks
newline-delimited JSON over stdin/stdout; tensors travel as raw little-endian files, so both sides
see exactly the same input values.

Usage::

    with GraphModelWorker() as ref:
        handle, info = ref.load(model_json)
        outputs = ref.execute(handle, {"input": x})       # {output name: array}

Deliberately free of posenet-py imports: it must work before (and independently of) the library.
Installs itself on first use (``npm ci``); skips (ReferenceUnavailable) where Node.js or npm are
missing, except in CI (``CI=true``), where that is an error (ReferenceSetupError).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .reference import ReferenceCallError, ReferenceUnavailable, ReferenceWorkerError, _file_lock, _unavailable

__all__ = ["TFJS4_DIR", "GraphModelWorker", "ensure_tfjs4_installed", "require_tfjs4"]

REPO_ROOT = Path(__file__).resolve().parents[1]
TFJS4_DIR = REPO_ROOT / "tools" / "reference-tfjs4"
WORKER_SCRIPT = TFJS4_DIR / "run_graph_model.js"
_STAMP_NAME = ".posenet-py-install-stamp"
_DTYPES = {"float32": "<f4", "int32": "<i4", "bool": "|b1"}


def _install_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((TFJS4_DIR / name).read_bytes())
    return digest.hexdigest()


def _is_installed(stamp: str) -> bool:
    stamp_file = TFJS4_DIR / "node_modules" / _STAMP_NAME
    return stamp_file.is_file() and stamp_file.read_text().strip() == stamp


_install_lock = threading.Lock()


def ensure_tfjs4_installed(timeout: float = 600.0) -> Path:
    """Make ``tools/reference-tfjs4/node_modules`` match its ``package-lock.json`` (``npm ci``)."""
    if shutil.which("node") is None:
        raise _unavailable("Node.js (`node`) is not on PATH: the TF.js 4.22 reference cannot run")
    stamp = _install_stamp()
    if _is_installed(stamp):
        return TFJS4_DIR
    npm = shutil.which("npm")
    if npm is None:
        raise _unavailable("`npm` is not on PATH: cannot install the TF.js 4.22 reference")
    lock_path = Path(tempfile.gettempdir()) / (
        "posenet-py-tfjs4-" + hashlib.sha256(str(TFJS4_DIR).encode()).hexdigest()[:16] + ".lock")
    with _install_lock, _file_lock(lock_path):
        if _is_installed(stamp):
            return TFJS4_DIR
        try:
            proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TFJS4_DIR, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise _unavailable(f"`npm ci` in {TFJS4_DIR} took longer than {timeout:.0f} s") from None
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise _unavailable(f"`npm ci` in {TFJS4_DIR} failed (exit {proc.returncode}):\n{tail}")
        (TFJS4_DIR / "node_modules" / _STAMP_NAME).write_text(stamp + "\n")
    return TFJS4_DIR


def require_tfjs4() -> Path:
    """ensure_tfjs4_installed(), turning ReferenceUnavailable into ``pytest.skip``."""
    try:
        return ensure_tfjs4_installed()
    except ReferenceUnavailable as exc:
        import pytest

        pytest.skip(str(exc))


class GraphModelWorker:
    """A running ``run_graph_model.js``; a context manager. Every call waits at most ``timeout``
    seconds; on timeout or crash the worker is killed and ReferenceWorkerError is raised."""

    def __init__(self, timeout: float = 120.0) -> None:
        ensure_tfjs4_installed()
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="posenet-tfjs4-")
        self._tmpdir = Path(self._tmp.name)
        self._stderr = open(self._tmpdir / "worker.log", "w+b")  # noqa: SIM115 - closed in close()
        self._next_id = 0
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._proc = subprocess.Popen([shutil.which("node") or "node", str(WORKER_SCRIPT)], cwd=TFJS4_DIR,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        threading.Thread(target=self._pump, args=(self._proc.stdout,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in iter(stream.readline, b""):
            self._lines.put(line)
        self._lines.put(None)

    def __enter__(self) -> GraphModelWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (close stdin; kill after 10 s) and remove its temporary files."""
        proc = self._proc
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # type: ignore[union-attr]
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._stderr.close()
        self._tmp.cleanup()

    def _fail(self, message: str) -> ReferenceWorkerError:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            message += "\n--- worker stderr ---\n" + (self._tmpdir / "worker.log").read_bytes()[-4000:].decode(
                "utf-8", "replace")
        return ReferenceWorkerError(message)

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send one request; return the reply (ReferenceCallError on ``ok: false``)."""
        if self._proc.poll() is not None:
            raise self._fail(f"worker is not running (exit code {self._proc.returncode})")
        self._next_id += 1
        try:
            self._proc.stdin.write((json.dumps({"cmd": cmd, "id": self._next_id, **fields}) + "\n").encode())  # type: ignore[union-attr]
            self._proc.stdin.flush()  # type: ignore[union-attr]
        except OSError as exc:
            raise self._fail(f"cannot write to the worker: {exc}") from None
        wait = self.timeout if timeout is None else timeout
        try:
            line = self._lines.get(timeout=wait)
        except queue.Empty:
            raise self._fail(f"no reply to {cmd!r} within {wait:.0f} s") from None
        if line is None:
            self._proc.wait()
            raise self._fail(f"worker exited (code {self._proc.returncode}) during {cmd!r}")
        reply: dict[str, Any] = json.loads(line)
        if reply.get("id") != self._next_id:
            raise self._fail(f"reply id {reply.get('id')!r} does not match request id {self._next_id}")
        if not reply.get("ok"):
            raise ReferenceCallError(reply.get("error", "unknown error"))
        return reply

    def version(self) -> dict[str, Any]:
        """tfjs_core, tfjs_converter, tfjs_backend_cpu, node, backend, num_tensors."""
        return {k: v for k, v in self.request("version").items() if k not in ("id", "ok")}

    def load(self, model_json: str | Path) -> tuple[int, dict[str, Any]]:
        """``loadGraphModel`` from local files: (handle, {inputs, outputs, input_nodes, output_nodes})."""
        reply = self.request("load", model_json=str(Path(model_json).resolve()))
        return int(reply["handle"]), {k: reply[k] for k in ("inputs", "outputs", "input_nodes", "output_nodes")}

    def unload(self, handle: int) -> None:
        self.request("unload", handle=handle)

    def _write(self, name: str, array: np.ndarray) -> dict[str, Any]:
        dtype = {"f": "float32", "i": "int32", "u": "int32", "b": "bool"}[array.dtype.kind]
        path = self._tmpdir / name
        path.write_bytes(np.ascontiguousarray(array, dtype=_DTYPES[dtype]).tobytes())
        return {"file": str(path), "dtype": dtype, "shape": list(array.shape)}

    @staticmethod
    def _read(spec: Mapping[str, Any]) -> np.ndarray:
        data = np.fromfile(spec["file"], dtype=_DTYPES[spec["dtype"]])
        return data.reshape(spec["shape"])

    def execute(self, handle: int, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None,
                timeout: float | None = None) -> dict[str, np.ndarray]:
        """``model.execute(inputs, outputs)``: {output name: array} in the order executed
        (the model's outputNodes when ``outputs`` is None)."""
        specs = {name: self._write(f"in{i}.bin", np.asarray(a)) for i, (name, a) in enumerate(inputs.items())}
        prefix = str(self._tmpdir / "out")
        reply = self.request("execute", timeout=timeout, handle=handle, inputs=specs,
                             outputs=None if outputs is None else list(outputs), prefix=prefix)
        try:
            return {name: self._read(spec) for name, spec in zip(reply["names"], reply["outputs"], strict=True)}
        finally:
            for path in self._tmpdir.glob("out.*"):
                path.unlink()

    def classify_preprocess(self, rgb: np.ndarray, size: int = 224) -> np.ndarray:
        """The classifier's JS preprocessing of an ``HxWx3`` uint8 image: float32 ``[1, size, size, 3]``."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        path = self._tmpdir / "image.rgb"
        path.write_bytes(rgb.tobytes())
        reply = self.request("classify_preprocess", image=str(path), height=int(rgb.shape[0]),
                             width=int(rgb.shape[1]), size=size, prefix=str(self._tmpdir / "pre"))
        try:
            return self._read(reply["tensor"])
        finally:
            for p in self._tmpdir.glob("pre.*"):
                p.unlink()
