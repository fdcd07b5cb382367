"""The int8 models on disk: built once per network, then read back.

Building the int8 model of a graph (:func:`.int8.build_int8_model`: lower to ONNX, run the
fp32 model on the synthetic calibration images, GPTQ-round 21 convolutions) takes about
2 s on a 2-core AMD EPYC (MobileNetV1 0.75, stride 16; 3.5 s at stride 8) against 0.05 s
for an fp32 model, so the result is kept in ``<cache>/int8/`` (the checkpoint cache,
:func:`posenet.checkpoints.cache_dir`; 1.6 MB per model). The file name is a hash of the
fp32 ONNX model and :data:`RECIPE`: any change to the weights, the lowering or the recipe
builds a new one. Where the cache cannot be written the model is built in memory every
time. ``POSENET_INT8_CACHE=0`` turns the disk cache off.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..graph import Graph
from .calibration import CALIBRATION_IMAGES, CALIBRATION_SEED, CALIBRATION_SIZE
from .gptq import DAMPING
from .int8 import BIAS_CORRECTION, FP32_LAYERS, build_int8_model, check_int8_graph
from .onnx_lowering import build_onnx_model

RECIPE = (f"qdq-relu6-pairs-gptq1{'-bc' if BIAS_CORRECTION else ''}/fp32-{FP32_LAYERS}"
          f"/calib-{CALIBRATION_IMAGES}x{CALIBRATION_SIZE}-{CALIBRATION_SEED}/damp-{DAMPING}")
"""Everything besides the fp32 model that decides the int8 model's bytes."""
_RECIPE_KEY = "posenet_int8_recipe"


def cache_path(graph: Graph) -> Path:
    """Where the int8 model of ``graph`` is kept."""
    from ..checkpoints import cache_dir

    digest = hashlib.sha256(build_onnx_model(graph).SerializeToString())
    digest.update(RECIPE.encode())
    return cache_dir() / "int8" / f"{graph.architecture}-s{graph.output_stride}-{digest.hexdigest()[:32]}.onnx"


def _cache_enabled() -> bool:
    return os.environ.get("POSENET_INT8_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def _build(graph: Graph) -> bytes:
    model = build_int8_model(graph)
    model.metadata_props.add(key=_RECIPE_KEY, value=RECIPE)
    data: bytes = model.SerializeToString()
    return data


def _is_int8_model(data: bytes) -> bool:
    """Whether ``data`` parses as an ONNX model built with this :data:`RECIPE` (a file
    damaged on disk is built again)."""
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # noqa: BLE001 - whatever fails to parse is a damaged file
        return False
    return any(p.key == _RECIPE_KEY and p.value == RECIPE for p in model.metadata_props)


def int8_model_bytes(graph: Graph) -> bytes:
    """The serialised int8 model of ``graph``: from the disk cache, else built (and cached)."""
    check_int8_graph(graph)
    if not _cache_enabled():
        return _build(graph)
    path = cache_path(graph)
    try:
        data = path.read_bytes()
        if _is_int8_model(data):
            return data
    except OSError:
        pass
    data = _build(graph)
    try:
        from ..checkpoints.store import atomic_write

        atomic_write(path, data)
    except OSError:
        pass  # a read-only cache: build again next time
    return data


__all__ = ["RECIPE", "cache_path", "int8_model_bytes"]
