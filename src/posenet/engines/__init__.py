"""Engines that execute a PoseNet graph: ``numpy`` (reference) and ``onnxruntime`` (fast)."""

from __future__ import annotations

from ..graph import Graph
from ..options import ENGINE_NAMES, ModelConfig
from .base import Engine, NetworkOutputs


def onnxruntime_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def create_engine(graph: Graph, engine: str = "auto", num_threads: int | None = None) -> Engine:
    """Build the engine called ``engine`` for ``graph``.

    ``"auto"`` picks ONNX Runtime when it is installed and falls back to NumPy.
    ``num_threads``: intra-op threads (``None``: the engine's default).
    """
    ModelConfig(engine=engine, num_threads=num_threads)  # validates both
    if engine == "auto":
        engine = "onnxruntime" if onnxruntime_available() else "numpy"
    if engine == "onnxruntime":
        if not onnxruntime_available():
            raise ValueError(
                "engine='onnxruntime' needs the onnx and onnxruntime packages: "
                "pip install onnx onnxruntime (or use engine='numpy')"
            )
        from .onnx_engine import OnnxRuntimeEngine

        return OnnxRuntimeEngine(graph, num_threads=num_threads)
    from .numpy_engine import NumpyEngine

    return NumpyEngine(graph)


__all__ = ["ENGINE_NAMES", "Engine", "NetworkOutputs", "create_engine", "onnxruntime_available"]
