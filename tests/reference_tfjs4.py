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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .node_harness import (
    NodeWorker,
    ReferenceCallError,  # noqa: F401 - importable from here as before
    ReferenceUnavailable,  # noqa: F401
    ReferenceWorkerError,  # noqa: F401
    ensure_installed,
    require,
)

__all__ = ["TFJS4_DIR", "GraphModelWorker", "ensure_tfjs4_installed", "require_tfjs4"]

REPO_ROOT = Path(__file__).resolve().parents[1]
TFJS4_DIR = REPO_ROOT / "tools" / "reference-tfjs4"
WORKER_SCRIPT = TFJS4_DIR / "run_graph_model.js"
_NAME = "TF.js 4.22"  # "the TF.js 4.22 reference" in messages
_DTYPES = {"float32": "<f4", "int32": "<i4", "bool": "|b1"}


def ensure_tfjs4_installed(timeout: float = 600.0) -> Path:
    """Make ``tools/reference-tfjs4/node_modules`` match its ``package-lock.json`` (``npm ci``)."""
    return ensure_installed(TFJS4_DIR, _NAME, timeout)


def require_tfjs4() -> Path:
    """ensure_tfjs4_installed(), turning ReferenceUnavailable into ``pytest.skip``."""
    return require(TFJS4_DIR, _NAME)


class GraphModelWorker(NodeWorker):
    """A running ``run_graph_model.js``; a context manager. Every call waits at most ``timeout``
    seconds; on timeout or crash the worker is killed and ReferenceWorkerError is raised."""

    def __init__(self, timeout: float = 120.0) -> None:
        ensure_tfjs4_installed()
        super().__init__(TFJS4_DIR, WORKER_SCRIPT.name, timeout=timeout, tmp_prefix="posenet-tfjs4-")

    def version(self) -> dict[str, Any]:
        """tfjs_core, tfjs_converter, tfjs_backend_cpu, node, backend, num_tensors."""
        return super().version()

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
