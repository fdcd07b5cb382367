"""The ONNX graph under construction: values, constants and dtypes, shared by the op lowerings.

TF.js tensors are float32, int32 or bool; ONNX also needs int64 (shapes, axes, indices) and
float64 (where TF.js computes in double precision, as in ``FloorDiv``). Every ONNX value's
dtype is tracked by name, so a lowering can choose the ONNX operators that reproduce TF.js.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from onnx import NodeProto, TensorProto, helper, numpy_helper

from ..errors import ModelFormatError
from .reader import ModelGraph, OpNode, split_ref

ONNX_TYPES: dict[str, int] = {
    "float32": TensorProto.FLOAT, "int32": TensorProto.INT32, "bool": TensorProto.BOOL,
    "int64": TensorProto.INT64, "float64": TensorProto.DOUBLE,
}
NUMPY_TYPES: dict[str, type[np.generic]] = {
    "float32": np.float32, "int32": np.int32, "bool": np.bool_, "int64": np.int64, "float64": np.float64,
}
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def dtype_name(array: np.ndarray) -> str:
    """The builder's dtype name of a numpy array."""
    for name, kind in NUMPY_TYPES.items():
        if array.dtype == kind:
            return name
    raise ModelFormatError(f"no ONNX counterpart for numpy dtype {array.dtype}")


class Builder:
    """Collects ONNX nodes and initializers for one :class:`ModelGraph`.

    ``values`` maps graph tensors (``"node:index"``) to ONNX value names; ``dtypes`` holds the
    dtype of every ONNX value. ``node`` is the TF node being lowered (for names and errors).
    """

    def __init__(self, graph: ModelGraph) -> None:
        self.graph = graph
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.values: dict[str, str] = {}
        self.dtypes: dict[str, str] = {}
        self.node: OpNode | None = None
        self._counter = 0
        self._constants: dict[tuple[str, bytes, tuple[int, ...]], str] = {}

    # -- names and errors ------------------------------------------------------------------------

    def fresh(self, hint: str) -> str:
        """A new unique ONNX value name, under the current node's name."""
        self._counter += 1
        prefix = self.node.name if self.node is not None else "graph"
        return f"{prefix}/_{hint}_{self._counter}"

    def error(self, message: str) -> ModelFormatError:
        """A ModelFormatError naming the current node and op."""
        where = f"node {self.node.name!r} ({self.node.op})" if self.node is not None else "the graph"
        return ModelFormatError(f"{where}: {message}")

    # -- constants and inputs --------------------------------------------------------------------

    def constant(self, values: Any, dtype: str) -> str:
        """An initializer holding ``values`` as ``dtype`` (equal small constants are shared)."""
        array = np.asarray(values, dtype=NUMPY_TYPES[dtype])
        key = (dtype, array.tobytes(), array.shape)
        if array.size <= 64 and key in self._constants:
            return self._constants[key]
        name = self.fresh("const")
        self.initializers.append(numpy_helper.from_array(array, name))
        self.dtypes[name] = dtype
        if array.size <= 64:
            self._constants[key] = name
        return name

    def weight(self, ref: str) -> np.ndarray | None:
        """The value of ``ref`` when it is a Const node's output, else None."""
        name, index = split_ref(ref)
        array = self.graph.weights.get(name)
        return array if array is not None and index == 0 else None

    def value(self, ref: str) -> str:
        """The ONNX value of a graph tensor (a Const becomes an initializer on first use)."""
        name, index = split_ref(ref)
        key = f"{name}:{index}"
        found = self.values.get(key)
        if found is not None:
            return found
        array = self.weight(ref)
        if array is None:
            raise self.error(f"reads {ref!r}, which is not computed before it (or is not an input of the model)")
        name = f"weight/{split_ref(ref)[0]}"
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        self.dtypes[name] = dtype_name(array)
        self.values[key] = name
        return name

    def input(self, i: int) -> str:
        """The ONNX value of the current node's ``i``-th input."""
        assert self.node is not None
        if i >= len(self.node.inputs):
            raise self.error(f"needs at least {i + 1} inputs, has {len(self.node.inputs)}")
        return self.value(self.node.inputs[i])

    def const_input(self, i: int) -> np.ndarray:
        """The constant value of the current node's ``i``-th input (a ModelFormatError if it
        is computed at run time: the ONNX operator needs it as an attribute)."""
        assert self.node is not None
        if i >= len(self.node.inputs):
            raise self.error(f"needs at least {i + 1} inputs, has {len(self.node.inputs)}")
        array = self.weight(self.node.inputs[i])
        if array is None:
            raise self.error(f"input {i} ({self.node.inputs[i]!r}) must be a constant")
        return array

    def int64_input(self, i: int, shape: Sequence[int] | None = None) -> str:
        """Input ``i`` as an int64 value (constant-folded when it is a Const), reshaped to ``shape``."""
        assert self.node is not None
        array = self.weight(self.node.inputs[i]) if i < len(self.node.inputs) else None
        if array is not None:
            values = array.astype(np.int64)
            return self.constant(values if shape is None else values.reshape(shape), "int64")
        name = self.cast(self.input(i), "int64")
        if shape is not None:
            name = self.emit("Reshape", [name, self.constant(list(shape), "int64")], "int64")
        return name

    def attr(self, key: str, default: Any = None) -> Any:
        """An attribute of the current node."""
        assert self.node is not None
        return self.node.attrs.get(key, default)

    # -- emitting --------------------------------------------------------------------------------

    def emit(self, op_type: str, inputs: Sequence[str], dtype: str, **attrs: Any) -> str:
        """Add one single-output ONNX node; returns its output name."""
        return self.emit_multi(op_type, inputs, [dtype], **attrs)[0]

    def emit_multi(self, op_type: str, inputs: Sequence[str], dtypes: Sequence[str], **attrs: Any) -> list[str]:
        """Add one ONNX node with ``len(dtypes)`` outputs; returns their names."""
        outputs = [self.fresh(op_type.lower()) for _ in dtypes]
        clean = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, name=self.fresh(op_type), **clean))
        for name, dtype in zip(outputs, dtypes, strict=True):
            self.dtypes[name] = dtype
        return outputs

    def cast(self, name: str, dtype: str) -> str:
        """``name`` as ``dtype`` (unchanged when it already is)."""
        if self.dtypes[name] == dtype:
            return name
        return self.emit("Cast", [name], dtype, to=ONNX_TYPES[dtype])

    def scalar(self, value: float, like: str) -> str:
        """A scalar constant of the dtype of the value ``like``."""
        return self.constant(value, self.dtypes[like])

    def nchw(self, name: str) -> str:
        """NHWC -> NCHW."""
        return self.emit("Transpose", [name], self.dtypes[name], perm=[0, 3, 1, 2])

    def nhwc(self, name: str) -> str:
        """NCHW -> NHWC."""
        return self.emit("Transpose", [name], self.dtypes[name], perm=[0, 2, 3, 1])
