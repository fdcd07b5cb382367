"""A :class:`~posenet.runtime.reader.ModelGraph` lowered to an ``onnx.ModelProto``.

Each TF op has one lowering function (tables in :mod:`.ops_math`, :mod:`.ops_nn` and
:mod:`.ops_array`); only the nodes the requested outputs need are lowered. Graph inputs take
the model's input names, dtypes and shapes (a dimension the model leaves open, such as a
``-1`` batch, stays dynamic); graph outputs take the requested names.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnx
from onnx import helper

from ..errors import ModelFormatError
from .builder import ONNX_TYPES, Builder
from .ops_array import ARRAY_OPS
from .ops_math import MATH_OPS, Lowering
from .ops_nn import NN_OPS
from .reader import ModelGraph, OpNode, TensorInfo, split_ref

OPSET = 18
"""ONNX opset of the lowered models (``Resize`` with ``axes``, ``Split`` with ``num_outputs``)."""
IR_VERSION = 8
"""ONNX IR version: readable by every ONNX Runtime that supports :data:`OPSET`."""

LOWERINGS: dict[str, Lowering] = {**MATH_OPS, **NN_OPS, **ARRAY_OPS}
"""TF op name -> lowering function."""

SUPPORTED_OPS = frozenset(LOWERINGS) | {"Const", "Placeholder"}
"""Every op :func:`lower` can run."""


def _needed(graph: ModelGraph, refs: Sequence[str]) -> set[str]:
    """Names of the nodes the tensors ``refs`` depend on."""
    by_name = {n.name: n for n in graph.nodes}
    needed: set[str] = set()
    stack = [split_ref(r)[0] for r in refs]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        node = by_name.get(name)
        if node is not None:
            stack.extend(split_ref(r)[0] for r in node.inputs)
    return needed


def _value_info(name: str, dtype: str | None, shape: tuple[int | None, ...] | None) -> onnx.ValueInfoProto:
    dims = None if shape is None else [d if d is not None else ("batch" if i == 0 else f"{name}_d{i}")
                                       for i, d in enumerate(shape)]
    return helper.make_tensor_value_info(name, ONNX_TYPES[dtype or "float32"], dims)


def _lower_node(b: Builder, node: OpNode) -> None:
    lowering = LOWERINGS.get(node.op)
    if lowering is None:
        raise ModelFormatError(f"node {node.name!r} uses {node.op}, which posenet.runtime cannot run")
    b.node = node
    outputs = lowering(b)
    for index, value in enumerate(outputs):
        b.values[f"{node.name}:{index}"] = value
    b.node = None


def _add_inputs(b: Builder, graph: ModelGraph) -> list[onnx.ValueInfoProto]:
    infos = []
    for info in graph.inputs:
        if info.dtype not in ("float32", "int32", "bool"):
            raise ModelFormatError(f"input {info.name!r} has dtype {info.dtype!r}; expected float32, int32 or bool")
        b.values[f"{info.node}:0"] = info.name
        b.dtypes[info.name] = info.dtype
        infos.append(_value_info(info.name, info.dtype, info.shape))
    return infos


def lower(graph: ModelGraph, outputs: Sequence[TensorInfo] | None = None, name: str = "tfjs_graph_model"
          ) -> onnx.ModelProto:
    """The ONNX model computing ``outputs`` (default: the model's outputs) from the model's
    inputs. An output may be any graph tensor (``TensorInfo.node``/``index``)."""
    wanted = list(graph.outputs if outputs is None else outputs)
    b = Builder(graph)
    inputs = _add_inputs(b, graph)
    needed = _needed(graph, [t.tensor for t in wanted])
    for node in graph.nodes:
        if node.name in needed:
            _lower_node(b, node)
    onnx_outputs = []
    for info in wanted:
        if info.node in graph.placeholders and f"{info.node}:0" not in b.values:
            raise ModelFormatError(f"output {info.name!r} reads the Placeholder {info.node!r}, which is not "
                                   "an input of the model")
        value = b.value(info.tensor)
        b.nodes.append(helper.make_node("Identity", [value], [info.name], name=f"output/{info.name}"))
        onnx_outputs.append(_value_info(info.name, b.dtypes[value], None))
    onnx_graph = helper.make_graph(b.nodes, name, inputs, onnx_outputs, initializer=b.initializers)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="posenet-py")
    model.ir_version = IR_VERSION
    return model
