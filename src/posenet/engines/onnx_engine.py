"""The fast engine: the :class:`~posenet.graph.Graph` lowered to ONNX
(:mod:`.onnx_lowering`), run by ONNX Runtime's CPU provider.

One session per graph serves every input size and batch (batch, height and width are
dynamic). The serialised model is cached per graph object and precision
(:func:`to_onnx_bytes`), and the session runs without spin-waiting threads (see
:func:`default_num_threads`). ``precision="int8"`` runs the int8 model of :mod:`.int8`
(built once per graph, kept in the disk cache: see :func:`.int8_cache.int8_model_bytes`).
"""

from __future__ import annotations

import os
import threading
import weakref

import numpy as np

from ..graph import OUTPUT_ROLES, Graph
from .base import NetworkOutputs
from .int8 import PRECISIONS
from .onnx_lowering import OPSET, build_onnx_model

# Model bytes per (graph object, precision), freed with the graph.
_MODEL_CACHE: dict[tuple[int, str], tuple[weakref.ref[Graph], bytes]] = {}
_MODEL_CACHE_LOCK = threading.Lock()


def _build(graph: Graph, precision: str) -> bytes:
    if precision == "int8":
        from .int8_cache import int8_model_bytes

        return int8_model_bytes(graph)
    data: bytes = build_onnx_model(graph).SerializeToString()
    return data


def to_onnx_bytes(graph: Graph, precision: str = "fp32") -> bytes:
    """The serialised ONNX model of ``graph`` at ``precision`` (``"fp32"`` or ``"int8"``),
    cached per graph object in this process.

    Write it to a ``.onnx`` file to run the network with any ONNX runtime (input
    ``input``, NHWC float32 ``[N, H, W, 3]``; float32 outputs named after the heads; the
    int8 model takes and returns float32 too).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Invalid precision {precision!r}. Should be one of {', '.join(PRECISIONS)}.")
    key = (id(graph), precision)
    with _MODEL_CACHE_LOCK:
        entry = _MODEL_CACHE.get(key)
        if entry is not None and entry[0]() is graph:
            return entry[1]
    data = _build(graph, precision)

    def _drop(_ref: weakref.ref[Graph], key: tuple[int, str] = key) -> None:
        with _MODEL_CACHE_LOCK:
            current = _MODEL_CACHE.get(key)
            if current is not None and current[0] is _ref:
                del _MODEL_CACHE[key]

    with _MODEL_CACHE_LOCK:
        _MODEL_CACHE[key] = (weakref.ref(graph, _drop), data)
    return data


def _physical_cores() -> int:
    """Physical cores among the CPUs this process may run on (SMT siblings counted once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(topology + "physical_package_id") as f1, open(topology + "core_id") as f2:
                cores.add((f1.read().strip(), f2.read().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


MAX_DEFAULT_THREADS = 4


def default_num_threads() -> int:
    """Intra-op threads when none are asked for: the physical cores this process may use,
    at most :data:`MAX_DEFAULT_THREADS`.

    Measured on a 2-core machine (MobileNetV1 0.75, stride 16), with spin-waiting off as
    this engine sets it: 2 threads run 257x257 in 6.2 ms and 513x513 in 24 ms against
    10.6 and 41 ms for 1 thread; with another process busy on one core, 2 threads still
    take 8 and 30-39 ms against 10.7 and 41 ms. With spin-waiting on, the same contention
    makes 2 threads slower than 1 (51 ms at 513). The cap keeps a shared many-core machine
    usable: these layers are small (17x17 at 257) and gain little from more threads.
    """
    return max(1, min(_physical_cores(), MAX_DEFAULT_THREADS))


class OnnxRuntimeEngine:
    """Runs a :class:`Graph` with ONNX Runtime's CPU provider. Thread-safe."""

    name = "onnxruntime"

    def __init__(self, graph: Graph, num_threads: int | None = None, precision: str = "fp32") -> None:
        import onnxruntime as ort

        model = to_onnx_bytes(graph, precision)  # validates precision, refuses int8 where unsupported
        self.graph = graph
        self.precision = precision
        self.num_threads = default_num_threads() if num_threads is None else int(num_threads)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        # Spinning threads steal the core from any other process (and from each other when
        # the machine is shared); without it ORT loses little on an idle machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(model, sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._output_names = list(OUTPUT_ROLES)

    def run(self, batch: np.ndarray) -> NetworkOutputs:
        """``batch``: float32 ``[N, H, W, 3]``; returns the four heads, NHWC float32."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        if x.ndim != 4 or x.shape[3] != 3:
            raise ValueError(f"expected a float32 batch [N, H, W, 3], got shape {x.shape}")
        heatmap, offsets, fwd, bwd = self._session.run(self._output_names, {"input": x})
        return NetworkOutputs(heatmap_logits=heatmap, offsets=offsets, displacement_fwd=fwd,
                              displacement_bwd=bwd)


def export_onnx(graph: Graph, path: str | os.PathLike[str], precision: str = "fp32") -> str:
    """Write the ONNX model of ``graph`` at ``precision`` to ``path``; returns the path."""
    data = to_onnx_bytes(graph, precision)
    with open(path, "wb") as f:
        f.write(data)
    return os.fspath(path)


__all__ = ["MAX_DEFAULT_THREADS", "OPSET", "OnnxRuntimeEngine", "build_onnx_model", "default_num_threads",
           "export_onnx", "to_onnx_bytes"]
