"""``GraphModel``: a TF.js graph model, lowered to ONNX in memory and run by ONNX Runtime.

It mirrors ``@tensorflow/tfjs-converter``'s ``GraphModel``: :func:`load_graph_model` takes a
model JSON path, a folder holding ``model.json`` or an ``http(s)://`` URL; ``inputs`` and
``outputs`` describe the model; ``predict`` runs it; ``execute`` fetches any outputs by name,
intermediate tensors included (``"node"`` or ``"node:1"``).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..checkpoints import cache_dir, download_model, missing_files
from ..engines.onnx_engine import default_num_threads
from .lowering import SUPPORTED_OPS, lower
from .reader import ModelGraph, TensorInfo, read_model_graph, split_ref

ArrayLike = np.ndarray | Sequence[Any] | float | int
Inputs = ArrayLike | Sequence[ArrayLike] | Mapping[str, ArrayLike]
"""One array (a single-input model), a list in input order, or ``{input name: array}``."""

_NUMPY = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def _session(model: onnx.ModelProto, num_threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), sess_options=options,
                                providers=["CPUExecutionProvider"])


def _inferred_outputs(model: onnx.ModelProto, outputs: Sequence[TensorInfo]) -> tuple[TensorInfo, ...]:
    """``outputs`` with the shapes and dtypes that ONNX shape inference finds, where unknown."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001 - inference is a nicety; unknown stays unknown
        return tuple(outputs)
    types = {v.name: v.type.tensor_type for v in [*inferred.graph.output, *inferred.graph.value_info]}
    names = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT32: "int32", onnx.TensorProto.BOOL: "bool"}
    result = []
    for info in outputs:
        t = types.get(info.name)
        shape, dtype = info.shape, info.dtype
        if t is not None and shape is None and t.HasField("shape"):
            shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
        if t is not None and dtype is None:
            dtype = names.get(t.elem_type)
        result.append(TensorInfo(info.name, info.node, info.index, shape, dtype))
    return tuple(result)


class GraphModel:
    """A loaded graph model. Thread-safe; one ONNX Runtime session per set of outputs asked for."""

    def __init__(self, graph: ModelGraph, num_threads: int | None = None) -> None:
        self.graph = graph
        self.num_threads = default_num_threads() if num_threads is None else max(1, int(num_threads))
        self._model = lower(graph)
        self._outputs = _inferred_outputs(self._model, graph.outputs)
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, ...], Any] = {(): _session(self._model, self.num_threads)}

    def __repr__(self) -> str:
        return f"GraphModel({self.graph.source!r}, inputs={list(self.input_nodes)}, outputs={list(self.output_nodes)})"

    @property
    def inputs(self) -> tuple[TensorInfo, ...]:
        """The inputs: name (feed it by this name), shape (None: any size), dtype."""
        return self.graph.inputs

    @property
    def outputs(self) -> tuple[TensorInfo, ...]:
        """The outputs, in ``predict``'s order: name, shape (None: known at run time), dtype."""
        return self._outputs

    @property
    def input_nodes(self) -> tuple[str, ...]:
        """Input names (TF.js ``inputNodes``: signature keys, else node names)."""
        return tuple(i.name for i in self.graph.inputs)

    @property
    def output_nodes(self) -> tuple[str, ...]:
        """Output names (TF.js ``outputNodes``)."""
        return tuple(o.name for o in self.graph.outputs)

    @property
    def ops(self) -> dict[str, int]:
        """How often the graph uses each op."""
        return self.graph.ops()

    # -- running ---------------------------------------------------------------------------------

    def predict(self, inputs: Inputs) -> np.ndarray | dict[str, np.ndarray]:
        """Run the model: the output array for a single-output model, else ``{name: array}``
        in :attr:`outputs` order."""
        results = self.execute(inputs)
        return next(iter(results.values())) if len(results) == 1 else results

    def execute(self, inputs: Inputs, outputs: str | Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Run the model and fetch ``outputs`` (names of :attr:`outputs`, or any graph tensor as
        ``"node"``/``"node:index"``; default all outputs): ``{name: array}`` in the order asked."""
        wanted = self._resolve_outputs(outputs)
        feeds = self._feeds(inputs)
        names = [o.name for o in wanted]
        arrays = self._session_for(wanted).run(names, feeds)
        return dict(zip(names, arrays, strict=True))

    def _session_for(self, wanted: Sequence[TensorInfo]) -> Any:
        """The default session when all model outputs are asked for, else one lowered for (and
        pruned to) just those: ONNX Runtime runs every node of a session whatever is fetched."""
        key = () if set(wanted) == set(self.graph.outputs) else tuple(sorted(f"{o.name}={o.tensor}" for o in wanted))
        with self._lock:
            session = self._sessions.get(key)
        if session is None:
            session = _session(lower(self.graph, wanted), self.num_threads)
            with self._lock:
                session = self._sessions.setdefault(key, session)
        return session

    def _resolve_outputs(self, outputs: str | Sequence[str] | None) -> list[TensorInfo]:
        if outputs is None:
            return list(self.graph.outputs)
        names = [outputs] if isinstance(outputs, str) else list(outputs)
        known = {o.name: o for o in self.graph.outputs}
        nodes = {n.name for n in self.graph.nodes} | set(self.graph.weights) | set(self.graph.placeholders)
        result = []
        for name in names:
            if name in known:
                result.append(known[name])
                continue
            node, index = split_ref(name)
            if node not in nodes:
                raise KeyError(f"{name!r} is neither an output of the model ({', '.join(known)}) nor a graph node")
            result.append(TensorInfo(name, node, index, None, None))
        if len({o.name for o in result}) != len(result):
            raise ValueError(f"outputs asked for twice: {names}")
        return result

    def _feeds(self, inputs: Inputs) -> dict[str, np.ndarray]:
        specs = self.graph.inputs
        if isinstance(inputs, Mapping):
            named = dict(inputs)
        elif isinstance(inputs, (list, tuple)) and len(specs) > 1:
            if len(inputs) != len(specs):
                raise ValueError(f"the model has {len(specs)} inputs ({', '.join(self.input_nodes)}); "
                                 f"got {len(inputs)}")
            named = {s.name: x for s, x in zip(specs, inputs, strict=True)}
        else:
            if len(specs) != 1:
                raise ValueError(f"the model has {len(specs)} inputs ({', '.join(self.input_nodes)}): pass a dict")
            named = {specs[0].name: inputs}
        by_alias = {alias: s for s in specs for alias in (s.name, s.node, f"{s.node}:0")}
        unknown = [k for k in named if k not in by_alias]
        if unknown:
            raise KeyError(f"unknown input {', '.join(map(repr, unknown))}; the model's inputs are "
                           f"{', '.join(self.input_nodes)}")
        feeds = {by_alias[k].name: _checked_array(by_alias[k], v) for k, v in named.items()}
        missing = [s.name for s in specs if s.name not in feeds]
        if missing:
            raise ValueError(f"missing input {', '.join(missing)}")
        return feeds

    # -- export ----------------------------------------------------------------------------------

    def to_onnx(self, outputs: str | Sequence[str] | None = None) -> onnx.ModelProto:
        """The ONNX model (default outputs, or those named as in :meth:`execute`)."""
        return self._model if outputs is None else lower(self.graph, self._resolve_outputs(outputs))

    def export_onnx(self, path: str | os.PathLike[str], outputs: str | Sequence[str] | None = None) -> Path:
        """Write the ONNX model to ``path``; inputs and outputs keep this model's names."""
        path = Path(path)
        path.write_bytes(self.to_onnx(outputs).SerializeToString())
        return path


def _checked_array(spec: TensorInfo, value: ArrayLike) -> np.ndarray:
    """``value`` as the input's dtype (a same-kind cast at most) after checking its shape as TF.js does."""
    array = np.asarray(value)
    target = np.dtype(_NUMPY.get(spec.dtype or "float32", np.float32))
    if array.dtype != target:
        if not np.can_cast(array.dtype, target, casting="same_kind"):
            raise TypeError(f"input {spec.name!r} is {spec.dtype}; got a {array.dtype} array")
        array = array.astype(target)
    if spec.shape is not None:
        fits = len(spec.shape) == array.ndim and all(
            d is None or d == n for d, n in zip(spec.shape, array.shape, strict=True))
        if not fits:
            want = [-1 if d is None else d for d in spec.shape]
            raise ValueError(f"input {spec.name!r} must have shape {want} (-1: any size), got {list(array.shape)}")
    return np.array(array, order="C", copy=None)


# ---------------------------------------------------------------------------------------------
# Loading


def _local_model_json(source: str | os.PathLike[str]) -> Path:
    text = os.fspath(source)
    path = Path(text[len("file://"):] if text.startswith("file://") else text)
    return path / "model.json" if path.is_dir() else path


def _downloaded(url: str) -> Path:
    """The model at ``url`` in the cache (``graph-models/<hash of the URL>/``), downloaded once."""
    folder = cache_dir() / "graph-models" / hashlib.sha256(url.encode()).hexdigest()[:16]
    json_name = url.rsplit("/", 1)[-1].split("?")[0] or "model.json"
    local = folder / json_name
    if local.is_file() and not missing_files(local):
        return local
    folder.mkdir(parents=True, exist_ok=True)
    return download_model(url, folder)


def load_graph_model(source: str | os.PathLike[str], *, num_threads: int | None = None) -> GraphModel:
    """Load a TF.js graph model from a model JSON path, a folder with ``model.json``, or an
    ``http(s)://`` URL (downloaded once into the cache with its shards).

    Raises :class:`~posenet.UnsupportedOpError` listing every op it cannot run, and
    :class:`~posenet.ModelFormatError` for a malformed model.
    """
    text = os.fspath(source)
    path = _downloaded(text) if text.startswith(("http://", "https://")) else _local_model_json(source)
    return GraphModel(read_model_graph(path, SUPPORTED_OPS), num_threads=num_threads)
