"""Engines that execute a PoseNet graph: ``numpy`` (reference) and ``onnxruntime`` (fast)."""

from __future__ import annotations

from ..tfjs_graph import Graph
from .base import Engine, NetworkOutputs

ENGINE_NAMES = ("auto", "onnxruntime", "numpy")


def onnxruntime_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def check_engine_options(engine: str, num_threads: int | None) -> None:
    """Raise ``ValueError`` for an unknown engine name or a bad thread count."""
    if engine not in ENGINE_NAMES:
        raise ValueError(f"Invalid engine {engine!r}. Should be one of {', '.join(ENGINE_NAMES)}.")
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                    or num_threads < 1):
        raise ValueError(f"Invalid num_threads {num_threads!r}. Should be a positive integer or None.")


def create_engine(graph: Graph, engine: str = "auto", num_threads: int | None = None) -> Engine:
    """Build the engine called ``engine`` for ``graph``.

    ``"auto"`` picks ONNX Runtime when it is installed and falls back to NumPy.
    ``num_threads``: intra-op threads (``None``: the engine's default).
    """
    check_engine_options(engine, num_threads)
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


__all__ = ["Engine", "NetworkOutputs", "create_engine", "check_engine_options", "ENGINE_NAMES", "onnxruntime_available"]
