"""Engines that execute a PoseNet graph: ``numpy`` (reference) and ``onnxruntime`` (fast;
fp32 or int8, see :mod:`.int8`)."""

from __future__ import annotations

from ..graph import Graph
from ..options import ARCHITECTURES, ENGINE_NAMES, ModelConfig
from .base import Engine, NetworkOutputs


def onnxruntime_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def create_engine(graph: Graph, engine: str = "auto", num_threads: int | None = None,
                  precision: str = "fp32") -> Engine:
    """Build the engine called ``engine`` for ``graph``.

    ``"auto"`` picks ONNX Runtime when it is installed and falls back to NumPy (for
    ``precision="fp32"``; int8 runs on ONNX Runtime only). ``num_threads``: intra-op
    threads (``None``: the engine's default). ``precision``: ``"fp32"`` or ``"int8"``
    (MobileNetV1 only; the first use of a graph builds its int8 model, see :mod:`.int8_cache`).
    """
    ModelConfig(architecture=graph.architecture if graph.architecture in ARCHITECTURES else "MobileNetV1",
                engine=engine, num_threads=num_threads, precision=precision)  # validates all three
    if engine == "auto":
        engine = "onnxruntime" if onnxruntime_available() or precision != "fp32" else "numpy"
    if engine == "onnxruntime":
        if not onnxruntime_available():
            raise ValueError(
                f"engine='onnxruntime'{' (needed by precision=int8)' if precision != 'fp32' else ''} needs the "
                "onnx and onnxruntime packages: pip install onnx onnxruntime (or use engine='numpy')"
            )
        from .onnx_engine import OnnxRuntimeEngine

        return OnnxRuntimeEngine(graph, num_threads=num_threads, precision=precision)
    from .numpy_engine import NumpyEngine

    return NumpyEngine(graph)


__all__ = ["ENGINE_NAMES", "Engine", "NetworkOutputs", "create_engine", "onnxruntime_available"]
