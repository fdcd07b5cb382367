"""Lowerings of convolutions, pools, matrix products, resizing and depth-to-space.

TF.js tensors are NHWC; the ONNX operators here are NCHW, so each is wrapped in a pair of
Transposes (ONNX Runtime's optimiser cancels the pairs between consecutive layers). As in
TF.js, ``strides``/``dilations``/``ksize`` are read at positions 1 and 2 of their 4-element
attributes, "SAME" padding puts the odd pixel at the bottom/right, average pools leave the
padding out of the mean, and a fused op's ``fused_ops`` is ``[BiasAdd, activation]``
(activation one of relu, relu6, elu, sigmoid, tanh, prelu, leakyrelu).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .builder import Builder
from .ops_math import Lowering, activation

_RESIZE_MODES = {(True, False): "align_corners", (False, True): "half_pixel", (False, False): "asymmetric"}


def _pair(b: Builder, key: str, default: tuple[int, ...] = (1, 1, 1, 1)) -> list[int]:
    """Positions 1 and 2 of a 4-element NHWC attribute (as TF.js reads them)."""
    values = b.attr(key) or default
    if len(values) != 4:
        raise b.error(f"attribute {key} should have 4 elements, got {list(values)}")
    return [int(values[1]), int(values[2])]


def _padding(b: Builder, kernel: tuple[int, int] | None = None) -> dict[str, Any]:
    """ONNX padding attributes. SAME with dilation (stride 1, as TF.js requires) is explicit:
    ONNX Runtime refuses auto_pad with dilations."""
    if (b.attr("data_format") or "NHWC") != "NHWC":
        raise b.error(f"data_format {b.attr('data_format')} is not supported (only NHWC)")
    padding = b.attr("padding") or "VALID"
    dilations = _pair(b, "dilations")
    if padding == "SAME" and kernel is not None and max(dilations) > 1:
        if max(_pair(b, "strides")) > 1:
            raise b.error("strides and dilations cannot both be above 1")
        total = [(k - 1) * d for k, d in zip(kernel, dilations, strict=True)]
        return {"pads": [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]}
    if padding == "SAME":
        return {"auto_pad": "SAME_UPPER"}
    if padding == "VALID":
        return {"auto_pad": "VALID"}
    if padding == "EXPLICIT":
        p = [int(v) for v in b.attr("explicit_paddings") or ()]
        if len(p) != 8:
            raise b.error(f"explicit_paddings should have 8 elements, got {p}")
        return {"pads": [p[2], p[4], p[3], p[5]]}
    raise b.error(f"unknown padding {padding!r}")


def _fused(b: Builder) -> tuple[str | None, str | None, str | None]:
    """(bias, activation, prelu alpha) of a fused op, as TF.js reads ``fused_ops``."""
    ops = [str(op).lower() for op in b.attr("fused_ops") or ()]
    extra, kind = [*ops, None, None][:2]
    if extra not in ("biasadd", None):
        raise b.error(f"fused_ops {ops} are not supported (TF.js runs BiasAdd + an activation only)")
    args = [b.input(i) for i in range(2, len(b.node.inputs))] if b.node is not None else []
    bias = args[0] if extra == "biasadd" and args else None
    alpha = (args[1] if len(args) > 1 else None) if bias is not None else (args[0] if args else None)
    return bias, kind, alpha


def _conv(b: Builder, depthwise: bool, fused: bool) -> list[str]:
    x = b.cast(b.input(0), "float32")
    kernel = b.weight(b.node.inputs[1]) if b.node is not None else None
    if kernel is None or kernel.ndim != 4:
        raise b.error("the filter must be a constant 4-D weight")
    h, w, c_in, c_out = kernel.shape
    if depthwise:  # HWCM -> (C*M, 1, H, W), one group per input channel
        onnx_kernel = np.transpose(kernel.reshape(h, w, 1, c_in * c_out), (3, 2, 0, 1))
        groups, channels = c_in, c_in * c_out
    else:  # HWIO -> OIHW
        onnx_kernel, groups, channels = np.transpose(kernel, (3, 2, 0, 1)), 1, c_out
    bias, kind, alpha = _fused(b) if fused else (None, None, None)
    inputs = [b.nchw(x), b.constant(np.ascontiguousarray(onnx_kernel, dtype=np.float32), "float32")]
    bias_array = b.weight(b.node.inputs[2]) if bias is not None and b.node is not None else None
    if bias_array is not None and bias_array.shape == (channels,):
        inputs.append(b.cast(bias, "float32"))  # type: ignore[arg-type]
        bias = None
    y = b.emit("Conv", inputs, "float32", kernel_shape=[int(h), int(w)], strides=_pair(b, "strides"),
               dilations=_pair(b, "dilations"), group=int(groups), **_padding(b, (int(h), int(w))))
    if bias is None and kind not in ("prelu", "leakyrelu"):
        return [b.nhwc(activation(b, y, kind))]
    y = b.nhwc(y)
    if bias is not None:
        y = b.emit("Add", [y, b.cast(bias, "float32")], "float32")
    return [activation(b, y, kind, alpha)]


def _pool(onnx_op: str) -> Lowering:
    def lower(b: Builder) -> list[str]:
        x = b.nchw(b.cast(b.input(0), "float32"))
        extra = {"count_include_pad": 0} if onnx_op == "AveragePool" else {}
        y = b.emit(onnx_op, [x], "float32", kernel_shape=_pair(b, "ksize"), strides=_pair(b, "strides"),
                   **_padding(b), **extra)
        return [b.nhwc(y)]
    return lower


def _swap_last(b: Builder, x: str) -> str:
    return b.emit("Transpose", [x], b.dtypes[x], perm=[1, 0])


def _matmul(fused: bool) -> Lowering:
    def lower(b: Builder) -> list[str]:
        x, y = b.cast(b.input(0), "float32"), b.cast(b.input(1), "float32")
        if b.attr("transpose_a", False):
            x = _swap_last(b, x)
        if b.attr("transpose_b", False):
            y = _swap_last(b, y)
        out = b.emit("MatMul", [x, y], "float32")
        if not fused:
            return [out]
        bias, kind, alpha = _fused(b)
        if bias is not None:
            out = b.emit("Add", [out, b.cast(bias, "float32")], "float32")
        return [activation(b, out, kind, alpha)]
    return lower


def _resize_bilinear(b: Builder) -> list[str]:
    align, half = bool(b.attr("align_corners", False)), bool(b.attr("half_pixel_centers", False))
    if (align, half) not in _RESIZE_MODES:
        raise b.error("align_corners and half_pixel_centers cannot both be true")
    x = b.cast(b.input(0), "float32")
    shape = b.emit("Shape", [x], "int64")
    batch = b.emit("Slice", [shape, b.constant([0], "int64"), b.constant([1], "int64")], "int64")
    channels = b.emit("Slice", [shape, b.constant([3], "int64"), b.constant([4], "int64")], "int64")
    sizes = b.emit("Concat", [batch, b.int64_input(1, shape=[2]), channels], "int64", axis=0)
    return [b.emit("Resize", [x, "", "", sizes], "float32", mode="linear",
                   coordinate_transformation_mode=_RESIZE_MODES[(align, half)])]


def _depth_to_space(b: Builder) -> list[str]:
    if (b.attr("data_format") or "NHWC") != "NHWC":
        raise b.error("only NHWC DepthToSpace is supported")
    x = b.input(0)
    y = b.emit("DepthToSpace", [b.nchw(x)], b.dtypes[x], blocksize=int(b.attr("block_size")), mode="DCR")
    return [b.nhwc(y)]


def _space_to_depth(b: Builder) -> list[str]:
    if (b.attr("data_format") or "NHWC") != "NHWC":
        raise b.error("only NHWC SpaceToDepth is supported")
    x = b.input(0)
    y = b.emit("SpaceToDepth", [b.nchw(x)], b.dtypes[x], blocksize=int(b.attr("block_size")))
    return [b.nhwc(y)]


NN_OPS: dict[str, Lowering] = {
    "Conv2D": lambda b: _conv(b, depthwise=False, fused=False),
    "_FusedConv2D": lambda b: _conv(b, depthwise=False, fused=True),
    "DepthwiseConv2dNative": lambda b: _conv(b, depthwise=True, fused=False),
    "DepthwiseConv2d": lambda b: _conv(b, depthwise=True, fused=False),
    "FusedDepthwiseConv2dNative": lambda b: _conv(b, depthwise=True, fused=True),
    "MaxPool": _pool("MaxPool"), "AvgPool": _pool("AveragePool"),
    "MatMul": _matmul(fused=False), "_FusedMatMul": _matmul(fused=True),
    "ResizeBilinear": _resize_bilinear, "DepthToSpace": _depth_to_space, "SpaceToDepth": _space_to_depth,
}
"""TF op name -> lowering."""
