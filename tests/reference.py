"""Client for the TensorFlow.js reference (``@tensorflow-models/posenet@2.2.2`` under Node.js).

The reference runs in a long-lived Node.js worker (``tools/reference/run_reference.js``) that
speaks newline-delimited JSON over stdin/stdout. Images travel as raw RGB bytes in temporary
files, so both sides see exactly the pixels Pillow decoded.

Usage::

    with ReferenceWorker() as ref:
        ref.load(models / "mobilenet/float/075/model-stride16.json", "MobileNetV1", 16, 257, 0.75)
        poses = ref.estimate(rgb, "multi")["poses"]

Deliberately free of posenet-py imports: it must work before (and independently of) the library.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .node_harness import (
    NodeWorker,
    ReferenceCallError,
    ReferenceSetupError,
    ReferenceUnavailable,
    ReferenceWorkerError,
    ensure_installed,
    require,
)

__all__ = [
    "REFERENCE_DIR",
    "ReferenceUnavailable",
    "ReferenceSetupError",
    "ReferenceCallError",
    "ReferenceWorkerError",
    "ensure_reference_installed",
    "require_reference",
    "ReferenceWorker",
    "write_random_resnet_checkpoint",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT / "tools" / "reference"
WORKER_SCRIPT = REFERENCE_DIR / "run_reference.js"
_NAME = "TensorFlow.js"  # "the TensorFlow.js reference" in messages
_RAW_OUTPUTS = {  # reply/file name -> key in the dict returned by ReferenceWorker.estimate
    "heatmap": "heatmap_scores",
    "offsets": "offsets",
    "displacement_fwd": "displacement_fwd",
    "displacement_bwd": "displacement_bwd",
    "input": "resized_input",
}


def ensure_reference_installed(timeout: float = 600.0) -> Path:
    """Make ``tools/reference/node_modules`` match ``package-lock.json``; return ``REFERENCE_DIR``
    (``npm ci`` when needed; see :func:`node_harness.ensure_installed`)."""
    return ensure_installed(REFERENCE_DIR, _NAME, timeout)


def require_reference() -> Path:
    """ensure_reference_installed(), turning ReferenceUnavailable into ``pytest.skip``."""
    return require(REFERENCE_DIR, _NAME)


def _drop_none(options: Mapping[str, Any]) -> dict[str, Any]:
    """None means "not given": the reference then applies its own default."""
    return {key: value for key, value in options.items() if value is not None}


class ReferenceWorker(NodeWorker):
    """A running ``run_reference.js`` process; use as a context manager (or call ``close()``).

    One model is loaded at a time (``load`` replaces it); not thread-safe. Every call waits at most ``timeout``
    seconds (``bench`` takes its own) for the reply; on timeout or crash the worker is killed and
    ReferenceWorkerError is raised, so a hung reference fails a test instead of hanging it.
    """

    label = "reference worker"

    def __init__(self, timeout: float = 120.0, node: str | None = None) -> None:
        ensure_reference_installed()
        super().__init__(REFERENCE_DIR, WORKER_SCRIPT.name, timeout=timeout, tmp_prefix="posenet-ref-", node=node)
        self.input_resolution: tuple[int, int] | None = None
        self._next_image = 0

    def version(self) -> dict[str, Any]:
        """Versions: posenet, tfjs_core, tfjs_converter, tfjs_backend_cpu, tfjs_backend_wasm,
        posenet_package (from its package.json), node, backend (in use, or None) and
        num_tensors (tf.memory().numTensors: the loaded model's weights when nothing leaks)."""
        return super().version()

    def load(
        self,
        model_json: str | os.PathLike[str],
        architecture: str = "MobileNetV1",
        output_stride: int = 16,
        input_resolution: int | Mapping[str, int] = 257,
        multiplier: float | None = None,
        quant_bytes: int | None = None,
        backend: str = "cpu",
    ) -> tuple[int, int]:
        """``posenet.load({...,modelUrl: model_json})`` on ``backend`` ("cpu" or "wasm").

        Values are passed through unchecked so the reference's own validation can be probed.
        ``multiplier``/``quant_bytes`` None leave them out (the reference then uses 1.0 and 4;
        with a modelUrl they are only validated). ``input_resolution`` is an int or
        ``{"width": w, "height": h}``. Returns the reference's valid input resolution (H, W).
        """
        reply = self.request(
            "load",
            **_drop_none(
                {
                    "model_json": str(Path(model_json).resolve()),
                    "architecture": architecture,
                    "output_stride": output_stride,
                    "input_resolution": dict(input_resolution)
                    if isinstance(input_resolution, Mapping)
                    else input_resolution,
                    "multiplier": multiplier,
                    "quant_bytes": quant_bytes,
                    "backend": backend,
                }
            ),
        )
        self.input_resolution = (int(reply["input_resolution"][0]), int(reply["input_resolution"][1]))
        return self.input_resolution

    def _write_image(self, rgb: np.ndarray, name: str) -> dict[str, Any]:
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
        path = self._tmpdir / name
        path.write_bytes(np.ascontiguousarray(rgb).tobytes())
        return {"image": str(path), "height": int(rgb.shape[0]), "width": int(rgb.shape[1])}

    @staticmethod
    def _options(
        mode: str,
        flip_horizontal: bool | None,
        max_detections: int | None,
        score_threshold: float | None,
        nms_radius: float | None,
    ) -> dict[str, Any]:
        if mode not in ("single", "multi"):
            raise ValueError(f"mode must be 'single' or 'multi', got {mode!r}")
        return _drop_none(
            {
                "mode": mode,
                "flip_horizontal": flip_horizontal,
                "max_detections": max_detections,
                "score_threshold": score_threshold,
                "nms_radius": nms_radius,
            }
        )

    def estimate(
        self,
        rgb: np.ndarray,
        mode: str = "single",
        flip_horizontal: bool | None = False,
        max_detections: int | None = 5,
        score_threshold: float | None = 0.5,
        nms_radius: float | None = 20,
        raw: bool = False,
    ) -> dict[str, Any]:
        """Run ``estimateSinglePose`` (mode "single") or ``estimateMultiplePoses`` ("multi").

        The image is an HxWx3 uint8 RGB array, given to the reference as an int32 tensor.
        Multi-pose options are ignored in single mode; None leaves an option out (reference
        default). Returns ``{"poses": [...], "num_tensors": n}``: poses in the reference's JSON
        shape (``{"score", "keypoints": [{"score", "part", "position": {"x", "y"}}]}``; single mode
        gives a one-element list); num_tensors is tf.memory().numTensors after the call.
        With ``raw=True`` also the network outputs as the reference computes them (float32,
        [Ho, Wo, C]): ``heatmap_scores`` (after sigmoid), ``offsets``, ``displacement_fwd``,
        ``displacement_bwd``, plus ``resized_input`` ([H, W, 3], padded and resized, 0-255, before
        normalisation) and ``padding`` ({"top", "bottom", "left", "right"}).
        """
        self._next_image += 1
        tag = f"img{self._next_image}"
        fields = self._write_image(rgb, tag + ".rgb")
        fields.update(self._options(mode, flip_horizontal, max_detections, score_threshold, nms_radius))
        prefix = self._tmpdir / tag
        if raw:
            fields.update(raw=True, raw_prefix=str(prefix))
        try:
            reply = self.request("estimate", **fields)
            result: dict[str, Any] = {"poses": reply["poses"], "num_tensors": reply["num_tensors"]}
            if raw:
                result["padding"] = reply["padding"]
                for name, key in _RAW_OUTPUTS.items():
                    path = Path(f"{prefix}.{name}.f32")
                    result[key] = np.fromfile(path, dtype="<f4").reshape(reply["shapes"][name])
            return result
        finally:
            for path in self._tmpdir.glob(tag + ".*"):
                path.unlink()

    def bench(
        self,
        rgb: np.ndarray,
        mode: str = "single",
        warmup: int = 3,
        iterations: int = 20,
        flip_horizontal: bool | None = False,
        max_detections: int | None = 5,
        score_threshold: float | None = 0.5,
        nms_radius: float | None = 20,
        timeout: float = 600.0,
    ) -> list[float]:
        """Wall time in milliseconds of each of ``iterations`` end-to-end calls (after ``warmup``
        untimed ones): int32 tensor from the pixel buffer, estimate, dispose."""
        fields = self._write_image(rgb, "bench.rgb")
        fields.update(self._options(mode, flip_horizontal, max_detections, score_threshold, nms_radius))
        reply = self.request("bench", timeout=timeout, warmup=warmup, iterations=iterations, **fields)
        return [float(ms) for ms in reply["ms"]]


# ---------------------------------------------------------------------------------------------
# ResNet50 checkpoints with random weights (the real ResNet weights are not available offline)


def _pad_amounts(graph: dict[str, Any], shapes: Mapping[str, list[int]]) -> dict[str, int]:
    """For each int32 ``.../paddings`` const: the symmetric spatial pad its Pad ops need, i.e.
    (k - 1) // 2 for the kernel size k of the Conv2D/MaxPool reading the padded tensor (TF-slim
    ``conv2d_same``: the strided op after the Pad runs VALID)."""
    nodes = graph["modelTopology"]["node"]
    consumers: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        for inp in node.get("input", []):
            consumers.setdefault(inp.split(":")[0].lstrip("^"), []).append(node)
    amounts: dict[str, set[int]] = {}
    for node in nodes:
        if node["op"] != "Pad":
            continue
        const = node["input"][1]
        for user in consumers.get(node["name"], []):
            if user["op"] == "MaxPool":
                k = int(user["attr"]["ksize"]["list"]["i"][1])
            elif user["op"] == "Conv2D":
                k = shapes[user["input"][1]][0]
            else:
                raise ValueError(f"unexpected consumer {user['op']} of Pad {node['name']}")
            amounts.setdefault(const, set()).add((k - 1) // 2)
    result = {}
    for const, values in amounts.items():
        if len(values) != 1:
            raise ValueError(f"{const} feeds Pads needing different amounts {sorted(values)}")
        result[const] = values.pop()
    return result


def _random_weight(name: str, shape: list[int], rng: np.random.Generator) -> np.ndarray:
    """He-scaled conv weights, damped residual branches and small biases: activations stay O(1)
    through the 16 bottleneck units, the heads give logits/offsets of order 1-10."""
    if name.endswith("_bias") or name.endswith("/biases"):
        return rng.normal(0.0, 0.05, shape).astype(np.float32)
    fan_in = int(np.prod(shape[:-1]))
    std = np.sqrt(2.0 / fan_in)
    if name == "resnet_v1_50/conv1/weights":
        std /= 64.0  # the input is x - ImageNet mean, |x| up to ~150, not O(1)
    elif name.endswith("/conv3/weights"):
        std *= 0.2  # last conv of a residual branch: keep each residual add small
    elif "bottleneck" not in name:  # the four 1x1 output heads
        std = np.sqrt(1.0 / fan_in)
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)


def _quantize(values: np.ndarray, nbytes: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Affine quantisation as the tfjs converter writes it: value = q * scale + min."""
    dtype = {1: np.uint8, 2: np.uint16}[nbytes]
    lo, hi = float(min(values.min(), 0.0)), float(max(values.max(), 0.0))
    scale = (hi - lo) / float(np.iinfo(dtype).max) or 1.0
    q = np.round((values.astype(np.float64) - lo) / scale).astype(dtype)
    return q, {"min": lo, "scale": scale, "dtype": np.dtype(dtype).name}


def write_random_resnet_checkpoint(
    graph_json: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    seed: int = 0,
    quant: int | None = None,
) -> Path:
    """Write a loadable ResNet50 checkpoint with random weights for a weights-less graph JSON.

    Copies the graph (topology and manifest order/shapes) to ``out_dir/model-stride{S}.json``
    (S taken from the file name) with a single shard ``group1-shard1of1.bin``. Float weights are
    random (seeded, reproducible); the int32 Pad ``paddings`` keep their real values, derived
    from the graph ([[0,0],[3,3],[3,3],[0,0]] before the 7x7 conv1, [[0,0],[1,1],[1,1],[0,0]]
    before 3x3 strided ops). ``quant=None`` writes float32/int32 without quantisation metadata;
    ``quant=1`` or ``2`` writes uint8/uint16 with per-tensor ``{min, scale, dtype}`` like the
    official quant1/quant2 files. The same seed gives the same weights for stride 16 and 32
    (their manifests are identical), so both JSONs can share one out_dir. Returns the JSON path.
    """
    graph_json = Path(graph_json)
    out_dir = Path(out_dir)
    if quant not in (None, 1, 2):
        raise ValueError(f"quant must be None, 1 or 2, got {quant!r}")
    graph = json.loads(graph_json.read_text())
    stride = graph_json.stem.rsplit("stride", 1)[-1]
    if not stride.isdigit():
        raise ValueError(f"cannot tell the output stride from the file name {graph_json.name}")
    specs = [dict(w) for group in graph["weightsManifest"] for w in group["weights"]]
    shapes = {w["name"]: w["shape"] for w in specs}
    pads = _pad_amounts(graph, shapes)
    rng = np.random.default_rng(seed)
    chunks: list[bytes] = []
    for spec in specs:
        spec.pop("quantization", None)
        name, shape = spec["name"], spec["shape"]
        if spec["dtype"] == "int32":
            if name not in pads or shape != [4, 2]:
                raise ValueError(f"unexpected int32 weight {name} {shape} in {graph_json}")
            p = pads[name]
            values: np.ndarray = np.array([[0, 0], [p, p], [p, p], [0, 0]], dtype="<i4")
        elif spec["dtype"] == "float32":
            values = _random_weight(name, shape, rng).astype("<f4")
        else:
            raise ValueError(f"unexpected dtype {spec['dtype']} for {name}")
        if quant is not None:
            values, spec["quantization"] = _quantize(values, quant)
            values = values.astype(values.dtype.newbyteorder("<"))
        chunks.append(values.tobytes())
    out_dir.mkdir(parents=True, exist_ok=True)
    shard = "group1-shard1of1.bin"
    (out_dir / shard).write_bytes(b"".join(chunks))
    graph["weightsManifest"] = [{"paths": [shard], "weights": specs}]
    out_json = out_dir / f"model-stride{stride}.json"
    out_json.write_text(json.dumps(graph))
    return out_json
