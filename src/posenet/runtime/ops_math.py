"""Lowerings of element-wise, comparison, reduction and selection ops, as TF.js runs them.

TF.js specifics reproduced here: binary ops first bring both inputs to the wider dtype
(bool < int32 < float32, ``makeTypesMatch``); ``RealDiv``/``Div`` of two int32 tensors is
``FloorDiv``; ``FloorDiv`` is ``Math.floor(a / b)`` in double precision; ``ArgMax`` and
``TopKV2`` indices are int32; ``Softmax`` works on the last axis; an empty reduction axis
list reduces nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from .builder import Builder

Lowering = Callable[[Builder], list[str]]
"""Lowers the builder's current node; returns the ONNX values of its outputs, in order."""

_RANK = {"bool": 0, "int32": 1, "float32": 2}


def match_types(b: Builder, names: list[str]) -> list[str]:
    """The values cast to the widest dtype among them (TF.js ``makeTypesMatch``)."""
    widest = max((b.dtypes[n] for n in names), key=lambda d: _RANK.get(d, 2))
    return [b.cast(n, widest) for n in names]


def _unary(onnx_op: str) -> Lowering:
    def lower(b: Builder) -> list[str]:
        x = b.input(0)
        return [b.emit(onnx_op, [x], b.dtypes[x])]
    return lower


def _binary(onnx_op: str, result: str | None = None) -> Lowering:
    def lower(b: Builder) -> list[str]:
        x, y = match_types(b, [b.input(0), b.input(1)])
        return [b.emit(onnx_op, [x, y], result or b.dtypes[x])]
    return lower


def floor_div(b: Builder, x: str, y: str) -> str:
    """``Math.floor(x / y)`` computed in float64, back in the inputs' dtype (TF.js cpu)."""
    x, y = match_types(b, [x, y])
    dtype = b.dtypes[x]
    quotient = b.emit("Div", [b.cast(x, "float64"), b.cast(y, "float64")], "float64")
    return b.cast(b.emit("Floor", [quotient], "float64"), dtype)


def _floor_div(b: Builder) -> list[str]:
    return [floor_div(b, b.input(0), b.input(1))]


def _real_div(b: Builder) -> list[str]:
    x, y = match_types(b, [b.input(0), b.input(1)])
    if b.dtypes[x] == "int32":  # tf.div of two int32 tensors is floorDiv in TF.js
        return [floor_div(b, x, y)]
    return [b.emit("Div", [x, y], b.dtypes[x])]


def _squared_difference(b: Builder) -> list[str]:
    x, y = match_types(b, [b.input(0), b.input(1)])
    d = b.emit("Sub", [x, y], b.dtypes[x])
    return [b.emit("Mul", [d, d], b.dtypes[x])]


def _square(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("Mul", [x, x], b.dtypes[x])]


def _add_n(b: Builder) -> list[str]:
    assert b.node is not None
    terms = match_types(b, [b.input(i) for i in range(len(b.node.inputs))])
    total = terms[0]
    for term in terms[1:]:
        total = b.emit("Add", [total, term], b.dtypes[total])
    return [total if len(terms) > 1 else b.emit("Identity", [total], b.dtypes[total])]


def _rsqrt(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("Reciprocal", [b.emit("Sqrt", [x], b.dtypes[x])], b.dtypes[x])]


def _not_equal(b: Builder) -> list[str]:
    x, y = match_types(b, [b.input(0), b.input(1)])
    return [b.emit("Not", [b.emit("Equal", [x, y], "bool")], "bool")]


def activation(b: Builder, x: str, kind: str | None, alpha: str | None = None) -> str:
    """A TF.js fused activation ("relu", "relu6", "elu", "sigmoid", "tanh", "prelu",
    "leakyrelu", None for linear) applied to ``x``."""
    dtype = b.dtypes[x]
    if kind is None or kind == "linear":
        return x
    if kind == "relu6":
        return b.emit("Clip", [x, b.scalar(0, x), b.scalar(6, x)], dtype)
    if kind == "prelu":
        if alpha is None:
            raise b.error("a prelu activation needs its alpha argument")
        return b.emit("PRelu", [x, b.cast(alpha, dtype)], dtype)
    if kind == "leakyrelu":
        return b.emit("LeakyRelu", [x], dtype, alpha=float(b.attr("leakyrelu_alpha", 0.2)))
    simple = {"relu": "Relu", "elu": "Elu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if kind not in simple:
        raise b.error(f"unsupported fused activation {kind!r}")
    return b.emit(simple[kind], [x], dtype)


def _relu6(b: Builder) -> list[str]:
    return [activation(b, b.input(0), "relu6")]


def _leaky_relu(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("LeakyRelu", [x], b.dtypes[x], alpha=float(b.attr("alpha", 0.2)))]


def _prelu(b: Builder) -> list[str]:
    return [activation(b, b.input(0), "prelu", b.input(1))]


def _cast(b: Builder) -> list[str]:
    target = b.attr("DstT")
    if target not in ("float32", "int32", "bool"):
        raise b.error(f"cannot cast to {target!r}")
    x = b.input(0)
    out = b.cast(x, target)
    return [out if out != x else b.emit("Identity", [x], target)]


def _select(b: Builder) -> list[str]:
    x, y = match_types(b, [b.input(1), b.input(2)])
    return [b.emit("Where", [b.cast(b.input(0), "bool"), x, y], b.dtypes[x])]


def _reduce(onnx_op: str) -> Lowering:
    def lower(b: Builder) -> list[str]:
        x = b.input(0)
        axes = b.int64_input(1, shape=[-1])
        keep = 1 if b.attr("keep_dims", False) else 0
        return [b.emit(onnx_op, [x, axes], b.dtypes[x], keepdims=keep, noop_with_empty_axes=1)]
    return lower


def _arg(onnx_op: str) -> Lowering:
    def lower(b: Builder) -> list[str]:
        axis = int(b.const_input(1).reshape(-1)[0])
        index = b.emit(onnx_op, [b.input(0)], "int64", axis=axis, keepdims=0)
        return [b.cast(index, "int32")]
    return lower


def _top_k(b: Builder) -> list[str]:
    x = b.input(0)
    k = b.int64_input(1, shape=[1])
    values, indices = b.emit_multi("TopK", [x, k], [b.dtypes[x], "int64"], axis=-1, largest=1,
                                   sorted=1 if b.attr("sorted", True) else 0)
    return [values, b.cast(indices, "int32")]


def _softmax(onnx_op: str) -> Lowering:
    def lower(b: Builder) -> list[str]:
        x = b.input(0)
        return [b.emit(onnx_op, [x], b.dtypes[x], axis=-1)]
    return lower


MATH_OPS: dict[str, Lowering] = {
    "Add": _binary("Add"), "AddV2": _binary("Add"), "BiasAdd": _binary("Add"), "Sub": _binary("Sub"),
    "Mul": _binary("Mul"), "RealDiv": _real_div, "Div": _real_div, "FloorDiv": _floor_div,
    "Maximum": _binary("Max"), "Minimum": _binary("Min"), "Pow": _binary("Pow"),
    "SquaredDifference": _squared_difference, "AddN": _add_n,
    "Equal": _binary("Equal", "bool"), "NotEqual": _not_equal, "Greater": _binary("Greater", "bool"),
    "GreaterEqual": _binary("GreaterOrEqual", "bool"), "Less": _binary("Less", "bool"),
    "LessEqual": _binary("LessOrEqual", "bool"), "LogicalAnd": _binary("And", "bool"),
    "LogicalOr": _binary("Or", "bool"), "LogicalNot": _unary("Not"),
    "Abs": _unary("Abs"), "Exp": _unary("Exp"), "Log": _unary("Log"), "Sqrt": _unary("Sqrt"),
    "Rsqrt": _rsqrt, "Square": _square, "Reciprocal": _unary("Reciprocal"), "Neg": _unary("Neg"),
    "Floor": _unary("Floor"), "Ceil": _unary("Ceil"), "Sigmoid": _unary("Sigmoid"), "Tanh": _unary("Tanh"),
    "Relu": _unary("Relu"), "Relu6": _relu6, "Elu": _unary("Elu"), "LeakyRelu": _leaky_relu, "Prelu": _prelu,
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Cast": _cast, "Select": _select, "SelectV2": _select,
    "Max": _reduce("ReduceMax"), "Min": _reduce("ReduceMin"), "Sum": _reduce("ReduceSum"),
    "Mean": _reduce("ReduceMean"), "Prod": _reduce("ReduceProd"),
    "ArgMax": _arg("ArgMax"), "ArgMin": _arg("ArgMin"), "TopKV2": _top_k,
}
"""TF op name -> lowering."""
