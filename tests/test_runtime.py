"""posenet.runtime: TF.js graph models of any kind, lowered to ONNX and run by ONNX Runtime.

Op semantics on small hand-made graphs (against numpy, following TF.js's cpu kernels), the
one-error listing of unsupported ops, the description of every shared model, the ONNX export
round trip, loading from a URL. Parity with TF.js itself is in test_runtime_parity.py.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from posenet.classify import resize_bilinear
from posenet.errors import ModelFormatError, UnsupportedOpError
from posenet.runtime import SUPPORTED_OPS, GraphModel, TensorInfo, load_graph_model

from .conftest import SHARED_DIR
from .graph_model_helpers import DT, node, placeholder, write_graph_model

MODELS = SHARED_DIR / "models"


def run(tmp_path: Path, nodes: list[dict[str, Any]], weights: Mapping[str, np.ndarray], feeds: Mapping[str, Any],
        outputs: Sequence[str], **kwargs: Any) -> dict[str, np.ndarray]:
    model = load_graph_model(write_graph_model(tmp_path, nodes, weights, outputs=outputs, **kwargs))
    return {k.split(":")[0]: v for k, v in model.execute(dict(feeds)).items()}


def f32(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Ops on hand-made graphs


def _conv_nhwc(x: np.ndarray, w: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """Reference NHWC convolution (HWIO kernel), TF's SAME padding (odd pixel at the end)."""
    n, h, wd, _ = x.shape
    kh, kw, _, co = w.shape
    if padding == "SAME":
        oh, ow = -(-h // stride), -(-wd // stride)
        ph, pw = max(0, (oh - 1) * stride + kh - h), max(0, (ow - 1) * stride + kw - wd)
        x = np.pad(x, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)])
    else:
        oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, oh, ow, co), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :]
            out += patch.astype(np.float64) @ w[i, j].astype(np.float64)
    return out


@pytest.mark.parametrize("padding,stride", [("SAME", 1), ("SAME", 2), ("VALID", 2)])
def test_fused_conv2d_bias_relu6(tmp_path: Path, padding: str, stride: int) -> None:
    x, w, bias = f32(1, 7, 6, 3), f32(3, 3, 3, 4, seed=1), f32(4, seed=2)
    nodes = [placeholder("x", "DT_FLOAT", [-1, -1, -1, 3]),
             node("y", "_FusedConv2D", ["x", "w", "b"], strides=[1, stride, stride, 1], padding=padding,
                  dilations=[1, 1, 1, 1], fused_ops=["BiasAdd", "Relu6"], num_args=1, data_format="NHWC")]
    got = run(tmp_path, nodes, {"w": w, "b": bias}, {"x": x}, ["y"])["y"]
    np.testing.assert_allclose(got, np.clip(_conv_nhwc(x, w, stride, padding) + bias, 0, 6), atol=1e-5)


def test_fused_depthwise_with_channel_multiplier(tmp_path: Path) -> None:
    x, w, bias = f32(2, 5, 5, 3), f32(3, 3, 3, 2, seed=1), f32(6, seed=2)
    nodes = [placeholder("x", "DT_FLOAT", [-1, 5, 5, 3]),
             node("y", "FusedDepthwiseConv2dNative", ["x", "w", "b"], strides=[1, 1, 1, 1], padding="SAME",
                  dilations=[1, 1, 1, 1], fused_ops=["BiasAdd", "Relu"], num_args=1)]
    got = run(tmp_path, nodes, {"w": w, "b": bias}, {"x": x}, ["y"])["y"]
    expected = np.concatenate([_conv_nhwc(x[..., c:c + 1], w[:, :, c:c + 1, :], 1, "SAME") for c in range(3)], -1)
    np.testing.assert_allclose(got, np.maximum(expected + bias, 0), atol=1e-5)  # output channel c * M + m


def test_fused_matmul_and_pools(tmp_path: Path) -> None:
    x, w, bias = f32(2, 6), f32(6, 3, seed=1), f32(3, seed=2)
    img = f32(1, 5, 5, 2, seed=3)
    nodes = [placeholder("x", "DT_FLOAT", [-1, 6]), placeholder("img", "DT_FLOAT", [1, 5, 5, 2]),
             node("mm", "_FusedMatMul", ["x", "w", "b"], fused_ops=["BiasAdd"], num_args=1, transpose_a=False,
                  transpose_b=False),
             node("max", "MaxPool", ["img"], ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME"),
             node("avg", "AvgPool", ["img"], ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME")]
    got = run(tmp_path, nodes, {"w": w, "b": bias}, {"x": x, "img": img}, ["mm", "max", "avg"])
    np.testing.assert_allclose(got["mm"], x @ w + bias, atol=1e-5)
    padded = np.pad(img, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=np.nan)
    windows = np.stack([padded[:, i:i + 5:2, j:j + 5:2] for i in range(3) for j in range(3)])
    np.testing.assert_allclose(got["max"], np.nanmax(windows, 0), atol=1e-6)
    np.testing.assert_allclose(got["avg"], np.nanmean(windows, 0), atol=1e-6)  # padding left out of the mean


@pytest.mark.parametrize("align,half", [(False, True), (True, False), (False, False)])
def test_resize_bilinear_matches_tfjs_formula(tmp_path: Path, align: bool, half: bool) -> None:
    x = f32(1, 5, 7, 2)
    nodes = [placeholder("x", "DT_FLOAT", [1, 5, 7, 2]),
             node("y", "ResizeBilinear", ["x", "size"], align_corners=align, half_pixel_centers=half)]
    got = run(tmp_path, nodes, {"size": np.array([9, 4], np.int32)}, {"x": x}, ["y"])["y"]
    expected = resize_bilinear(x, (9, 4), align_corners=align, half_pixel_centers=half)
    np.testing.assert_allclose(got, expected, atol=2e-6)


def test_integer_division_is_floor_division_as_in_tfjs(tmp_path: Path) -> None:
    a, b = np.array([7, -7, 9, -1], np.int32), np.array([2, 2, -4, 3], np.int32)
    nodes = [placeholder("a", "DT_INT32", [4]), node("fd", "FloorDiv", ["a", "b"]), node("rd", "RealDiv", ["a", "b"]),
             node("af", "Cast", ["a"], DstT=DT("DT_FLOAT")), node("ff", "FloorDiv", ["af", "bf"])]
    got = run(tmp_path, nodes, {"b": b, "bf": b.astype(np.float32)}, {"a": a}, ["fd", "rd", "ff"])
    np.testing.assert_array_equal(got["fd"], np.floor_divide(a, b))
    np.testing.assert_array_equal(got["rd"], np.floor_divide(a, b))  # tf.div of int32 tensors floors
    assert got["fd"].dtype == np.int32 and got["rd"].dtype == np.int32
    np.testing.assert_array_equal(got["ff"], np.floor(a / b).astype(np.float32))


STRIDED = [  # begin, end, strides, masks, numpy equivalent of x[...]
    ([1, 0], [3, 2], [1, 1], {}, lambda x: x[1:3, 0:2]),
    ([0, 0, 0], [0, 0, 0], [1, 1, 1], {"begin_mask": 3, "end_mask": 3, "new_axis_mask": 4},
     lambda x: x[:, :, None]),
    ([1], [2], [1], {"shrink_axis_mask": 1}, lambda x: x[1]),
    ([-1], [0], [1], {"shrink_axis_mask": 1}, lambda x: x[-1]),
    ([0, 1], [0, 0], [1, -1], {"begin_mask": 1, "end_mask": 3}, lambda x: x[:, 1::-1]),
    ([0, 0, 1], [0, 0, 3], [1, 1, 1], {"ellipsis_mask": 1, "new_axis_mask": 2}, lambda x: x[..., None, 1:3]),
    ([0, 0, 0], [0, 0, 2], [1, 1, 1], {"begin_mask": 5, "end_mask": 1, "new_axis_mask": 2},
     lambda x: x[:, None, :2]),
    ([0, 2], [0, 0], [1, 1], {"ellipsis_mask": 1, "shrink_axis_mask": 2}, lambda x: x[..., 2]),
]


@pytest.mark.parametrize("begin,end,strides,masks,expected", STRIDED)
def test_strided_slice_masks(tmp_path: Path, begin: list[int], end: list[int], strides: list[int],
                             masks: dict[str, int], expected: Any) -> None:
    x = np.arange(4 * 3 * 5, dtype=np.float32).reshape(4, 3, 5)
    nodes = [placeholder("x", "DT_FLOAT", [4, 3, 5]),
             node("y", "StridedSlice", ["x", "begin", "end", "strides"], **masks)]
    weights = {k: np.array(v, np.int32) for k, v in (("begin", begin), ("end", end), ("strides", strides))}
    np.testing.assert_array_equal(run(tmp_path, nodes, weights, {"x": x}, ["y"])["y"], expected(x))


def test_shape_and_join_ops(tmp_path: Path) -> None:
    x = f32(2, 3, 4)
    nodes = [placeholder("x", "DT_FLOAT", [-1, 3, 4]),
             node("shape", "Shape", ["x"]), node("size", "Size", ["x"]),
             node("batch", "StridedSlice", ["shape", "z1", "o1", "o1"], shrink_axis_mask=1),
             node("packed", "Pack", ["batch", "minus1", "four"], axis=0),  # a [1] packs with scalars (TF.js)
             node("flat", "Reshape", ["x", "packed"]),
             node("u", "Unpack", ["x"], axis=1, num=3), node("sp", "Split", ["axis2", "x"], num_split=2),
             node("cat", "ConcatV2", ["u:2", "u:0", "axis1"], N=2),
             node("ed", "ExpandDims", ["sp:1", "minus1"]), node("sq", "Squeeze", ["ed"], squeeze_dims=[3]),
             node("tile", "Tile", ["x", "reps"]), node("pad", "Pad", ["x", "paddings"]),
             node("fill", "Fill", ["shape", "seven"]),
             node("range", "Range", ["zf", "fivef", "halff"], Tidx=DT("DT_FLOAT")),
             node("gnd", "GatherNd", ["x", "idx"]), node("tr", "Transpose", ["x", "perm"])]
    i32 = functools.partial(np.array, dtype=np.int32)
    weights = {"z1": i32([0]), "o1": i32([1]), "minus1": i32([-1]), "four": i32(4), "axis1": i32(1), "axis2": i32(2),
               "reps": i32([1, 2, 1]), "paddings": i32([[0, 0], [1, 0], [0, 2]]), "seven": np.float32(7),
               "zf": np.float32(0), "fivef": np.float32(2.5), "halff": np.float32(0.5), "idx": i32([[1, 2], [0, 0]]),
               "perm": i32([2, 0, 1])}
    got = run(tmp_path, nodes, weights, {"x": x}, ["shape", "size", "flat", "cat", "sq", "tile", "pad", "fill",
                                                 "range", "gnd", "tr", "u"])
    np.testing.assert_array_equal(got["shape"], [2, 3, 4])
    assert got["shape"].dtype == np.int32 and got["size"] == 24 and got["size"].dtype == np.int32
    np.testing.assert_array_equal(got["flat"], x.reshape(2, -1, 4))
    np.testing.assert_array_equal(got["cat"], np.concatenate([x[:, 2], x[:, 0]], 1))
    np.testing.assert_array_equal(got["sq"], x[..., 2:])
    np.testing.assert_array_equal(got["tile"], np.tile(x, [1, 2, 1]))
    np.testing.assert_array_equal(got["pad"], np.pad(x, [(0, 0), (1, 0), (0, 2)]))
    np.testing.assert_array_equal(got["fill"], np.full((2, 3, 4), 7, np.float32))
    np.testing.assert_array_equal(got["range"], np.arange(0, 2.5, 0.5, dtype=np.float32))
    np.testing.assert_array_equal(got["gnd"], x[[1, 0], [2, 0]])
    np.testing.assert_array_equal(got["tr"], x.transpose(2, 0, 1))
    np.testing.assert_array_equal(got["u"], x[:, 0])


def test_reductions_selection_and_topk(tmp_path: Path) -> None:
    x = np.array([[3, 1, 3, 2], [0, 5, 5, 1]], np.float32)
    nodes = [placeholder("x", "DT_FLOAT", [2, 4]),
             node("max", "Max", ["x", "ax1"], keep_dims=False), node("sum", "Sum", ["x", "axes"], keep_dims=True),
             node("none", "Sum", ["x", "empty"], keep_dims=False), node("am", "ArgMax", ["x", "ax1"]),
             node("topk", "TopKV2", ["x", "k"], sorted=True), node("gt", "Greater", ["x", "two"]),
             node("sel", "Select", ["gt", "x", "zeros"]), node("b2f", "Cast", ["gt"], DstT=DT("DT_FLOAT")),
             node("sd", "SquaredDifference", ["x", "two"]), node("soft", "Softmax", ["x"]),
             node("addn", "AddN", ["x", "x", "x"], N=3)]
    weights = {"ax1": np.array(1, np.int32), "axes": np.array([0, 1], np.int32), "empty": np.zeros(0, np.int32),
               "k": np.array(3, np.int32), "two": np.float32(2), "zeros": np.zeros((2, 4), np.float32)}
    got = run(tmp_path, nodes, weights, {"x": x}, ["max", "sum", "none", "am", "topk", "sel", "b2f", "sd", "soft",
                                                 "addn"])
    np.testing.assert_array_equal(got["max"], [3, 5])
    np.testing.assert_array_equal(got["sum"], [[20]])
    np.testing.assert_array_equal(got["none"], x)  # an empty axis list reduces nothing
    np.testing.assert_array_equal(got["am"], [0, 1])  # ties: the first index
    assert got["am"].dtype == np.int32
    np.testing.assert_array_equal(got["topk"], [[3, 3, 2], [5, 5, 1]])
    np.testing.assert_array_equal(got["sel"], np.where(x > 2, x, 0))
    np.testing.assert_array_equal(got["b2f"], (x > 2).astype(np.float32))
    np.testing.assert_array_equal(got["sd"], (x - 2) ** 2)
    np.testing.assert_allclose(got["soft"], np.exp(x) / np.exp(x).sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(got["addn"], 3 * x)


def test_topk_indices_and_depth_to_space(tmp_path: Path) -> None:
    x = np.array([[1, 4, 4, 2]], np.float32)
    img = np.arange(1 * 2 * 2 * 8, dtype=np.float32).reshape(1, 2, 2, 8)
    nodes = [placeholder("x", "DT_FLOAT", [1, 4]), placeholder("img", "DT_FLOAT", [1, 2, 2, 8]),
             node("topk", "TopKV2", ["x", "k"], sorted=True), node("d2s", "DepthToSpace", ["img"], block_size=2,
                                                                  data_format="NHWC")]
    model = load_graph_model(write_graph_model(tmp_path, nodes, {"k": np.array(2, np.int32)},
                                               outputs=["topk", "d2s"]))
    got = model.execute({"x": x, "img": img}, ["topk:1", "d2s"])
    np.testing.assert_array_equal(got["topk:1"], [[1, 2]])  # equal values: the lower index first
    assert got["topk:1"].dtype == np.int32
    expected = img.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5).reshape(1, 4, 4, 2)
    np.testing.assert_array_equal(got["d2s"], expected)


def test_the_other_supported_ops(tmp_path: Path) -> None:
    x = np.array([[0.5, 1.5, -2.0], [3.0, -0.25, 1.0]], np.float32)
    img = f32(1, 4, 4, 2)
    unary = {"Ceil": np.ceil, "Floor": np.floor, "Neg": np.negative, "Tanh": np.tanh, "Square": np.square,
             "Elu": lambda v: np.where(v > 0, v, np.expm1(v)), "LeakyRelu": lambda v: np.where(v > 0, v, 0.2 * v),
             "Identity": lambda v: v, "StopGradient": lambda v: v, "Snapshot": lambda v: v,
             "LogSoftmax": lambda v: v - np.log(np.exp(v).sum(-1, keepdims=True))}
    nodes = [placeholder("x", "DT_FLOAT", [2, 3]), placeholder("img", "DT_FLOAT", [1, 4, 4, 2]),
             *[node(op, op, ["x"]) for op in unary],
             node("abs", "Abs", ["x"]), node("log", "Log", ["abs"]), node("rsqrt", "Rsqrt", ["abs"]),
             node("div", "Div", ["x", "two"]), node("pow", "Pow", ["abs", "two"]), node("add", "Add", ["x", "x"]),
             node("le", "LessEqual", ["x", "one"]), node("ne", "NotEqual", ["x", "one"]),
             node("or", "LogicalOr", ["le", "ne"]), node("not", "LogicalNot", ["le"]),
             node("sel", "SelectV2", ["le", "x", "two"]), node("prelu", "Prelu", ["x", "alpha"]),
             node("mean", "Mean", ["x", "ax1"], keep_dims=True), node("min", "Min", ["x", "ax1"]),
             node("prod", "Prod", ["x", "ax1"]), node("argmin", "ArgMin", ["x", "ax1"]),
             node("gather", "GatherV2", ["x", "idx", "ax1"]), node("slice", "Slice", ["x", "begin", "size"]),
             node("padv2", "PadV2", ["x", "pads", "two"]), node("s2d", "SpaceToDepth", ["img"], block_size=2),
             node("dw", "DepthwiseConv2d", ["img", "dwk"], strides=[1, 1, 1, 1], padding="VALID")]
    weights = {"two": np.float32(2), "one": np.float32(1), "alpha": np.array([0.1, 0.2, 0.3], np.float32),
               "ax1": np.array(1, np.int32), "idx": np.array([2, 0], np.int32), "begin": np.array([0, 1], np.int32),
               "size": np.array([-1, 2], np.int32), "pads": np.array([[1, 0], [0, 1]], np.int32),
               "dwk": np.ones((1, 1, 2, 1), np.float32)}
    names = [*unary, "log", "rsqrt", "div", "pow", "add", "or", "not", "sel", "prelu", "mean", "min", "prod",
             "argmin", "gather", "slice", "padv2", "s2d", "dw"]
    got = run(tmp_path, nodes, weights, {"x": x, "img": img}, names)
    for op, fn in unary.items():
        np.testing.assert_allclose(got[op], fn(x.astype(np.float64)), rtol=1e-6, atol=1e-6, err_msg=op)
    a = np.abs(x)
    expected = {"log": np.log(a), "rsqrt": 1 / np.sqrt(a), "div": x / 2, "pow": a ** 2, "add": 2 * x,
                "or": (x <= 1) | (x != 1), "not": ~(x <= 1), "sel": np.where(x <= 1, x, 2),
                "prelu": np.where(x > 0, x, x * [0.1, 0.2, 0.3]), "mean": x.mean(1, keepdims=True),
                "min": x.min(1), "prod": x.prod(1), "argmin": x.argmin(1), "gather": x[:, [2, 0]],
                "slice": x[:, 1:3], "padv2": np.pad(x, [(1, 0), (0, 1)], constant_values=2),
                "s2d": img.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5).reshape(1, 2, 2, 8), "dw": img}
    for name, want in expected.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("quant", ["float16", "uint8", "uint16"])
def test_quantised_and_bool_weights(tmp_path: Path, quant: str) -> None:
    w = f32(4, 3)
    nodes = [placeholder("x", "DT_FLOAT", [1, 4]), node("mm", "MatMul", ["x", "w"]),
             node("sel", "Select", ["mask", "x", "x0"])]
    weights = {"w": w, "mask": np.array([[True, False, True, False]]), "x0": np.zeros((1, 4), np.float32)}
    x = np.ones((1, 4), np.float32)
    got = run(tmp_path, nodes, weights, {"x": x}, ["mm", "sel"], quant={"w": quant})
    step = {"float16": 1e-3, "uint8": (w.max() - w.min()) / 255, "uint16": (w.max() - w.min()) / 65535}[quant]
    np.testing.assert_allclose(got["mm"], x @ w, atol=4 * float(step) + 1e-6)
    np.testing.assert_array_equal(got["sel"], [[1, 0, 1, 0]])


# ---------------------------------------------------------------------------------------------
# Errors and the API


def test_unsupported_ops_are_all_listed_at_load(tmp_path: Path) -> None:
    nodes = [placeholder("x", "DT_FLOAT", [1, 4]), node("a", "Cumsum", ["x", "ax"]), node("b", "Cumsum", ["a", "ax"]),
             node("c", "Einsum", ["b"]), node("d", "Relu", ["c"]), node("e", "NonMaxSuppressionV5", ["d"])]
    path = write_graph_model(tmp_path, nodes, {"ax": np.array(0, np.int32)})
    (tmp_path / "group1-shard1of1.bin").unlink()  # the op check comes before any weight is read
    with pytest.raises(UnsupportedOpError) as info:
        load_graph_model(path)
    message = str(info.value)
    assert "3 operations" in message and str(path) in message
    for text in ("Cumsum (node 'a' and 1 more)", "Einsum (node 'c')", "NonMaxSuppressionV5 (node 'e')"):
        assert text in message
    assert "Relu" not in message
    assert {"_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul", "StridedSlice"} <= SUPPORTED_OPS


def test_inputs_are_checked_and_cast_like_tfjs(tmp_path: Path) -> None:
    nodes = [placeholder("x", "DT_INT32", [1, -1, 3]), node("y", "Cast", ["x"], DstT=DT("DT_FLOAT"))]
    model = load_graph_model(write_graph_model(tmp_path, nodes, {}, outputs=["y"]))
    assert model.inputs == (TensorInfo("x", "x", 0, (1, None, 3), "int32"),)
    assert model.outputs[0].name == "y" and model.outputs[0].dtype == "float32"
    out = model.predict(np.full((1, 2, 3), 7, np.uint8))  # uint8 -> int32 is a safe cast
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (1, 2, 3)
    np.testing.assert_array_equal(model.predict({"x:0": np.ones((1, 5, 3), np.int32)}), np.ones((1, 5, 3)))
    with pytest.raises(ValueError, match=r"must have shape \[1, -1, 3\]"):
        model.predict(np.zeros((2, 2, 3), np.int32))
    with pytest.raises(TypeError, match="int32"):
        model.predict(np.zeros((1, 2, 3), np.float32))
    with pytest.raises(KeyError, match="unknown input"):
        model.predict({"nope": np.zeros((1, 2, 3), np.int32)})
    with pytest.raises(KeyError, match="neither an output"):
        model.execute(np.zeros((1, 2, 3), np.int32), ["missing_node"])


def test_outputs_without_signature_are_the_unread_nodes(tmp_path: Path) -> None:
    nodes = [placeholder("x", "DT_FLOAT", [2]), node("a", "Relu", ["x"]), node("b", "Neg", ["a"]),
             node("c", "Exp", ["x"])]
    path = write_graph_model(tmp_path, nodes, {"dep": np.float32(1)})
    data = json.loads(path.read_text())
    data["modelTopology"]["node"][0]["input"] = ["^c"]  # a control edge counts as a read (TF.js)
    path.write_text(json.dumps(data))
    model = load_graph_model(path)
    assert model.output_nodes == ("dep", "b")
    result = model.execute(np.array([1.0, -2.0], np.float32), ["b", "a", "c:0"])
    assert list(result) == ["b", "a", "c:0"]
    np.testing.assert_array_equal(result["a"], [1, 0])
    np.testing.assert_allclose(result["c:0"], np.exp([1.0, -2.0]), rtol=1e-6)
    data["modelTopology"]["node"].append({"name": "lost", "op": "Const", "attr": {}})
    path.write_text(json.dumps(data))
    with pytest.raises(ModelFormatError, match="without a weight"):
        load_graph_model(path)


# ---------------------------------------------------------------------------------------------
# The shared models


SHARED_MODELS = {  # model JSON -> (inputs, outputs): name, shape, dtype
    "posenet/mobilenet/float/075/model-stride16.json": (
        [("sub_2", (1, None, None, 3), "float32")],
        [("MobilenetV1/offset_2/BiasAdd", (1, None, None, 34), "float32"),
         ("MobilenetV1/heatmap_2/BiasAdd", (1, None, None, 17), "float32"),
         ("MobilenetV1/displacement_fwd_2/BiasAdd", (1, None, None, 32), "float32"),
         ("MobilenetV1/displacement_bwd_2/BiasAdd", (1, None, None, 32), "float32")]),
    "posenet/mobilenet/quant2/050/model-stride8.json": (
        [("sub_2", (1, None, None, 3), "float32")], None),
    "posenet/mobilenet/quant1/100/model-stride16.json": (
        [("sub_2", (1, None, None, 3), "float32")], None),
    "movenet/movenet-lightning.json": ([("input:0", (1, 192, 192, 3), "int32")],
                                       [("Identity:0", (1, 1, 17, 3), "float32")]),
    "movenet/movenet-thunder.json": ([("input:0", (1, 256, 256, 3), "int32")],
                                     [("Identity:0", (1, 1, 17, 3), "float32")]),
    "movenet/movenet-multipose.json": ([("input", (1, None, None, 3), "int32")],
                                       [("output_0", (1, 6, 56), "float32")]),
    "blazepose/blazepose-detector.json": ([("input", (None, 224, 224, 3), "float32")],
                                          [("person", (None, 2254, 13), "float32")]),
    "blazepose/blazepose-lite.json": ([("input_1", (None, 256, 256, 3), "float32")], None),
    "blazepose/blazepose-full.json": ([("input_1", (None, 256, 256, 3), "float32")], None),
    "blazepose/blazepose-heavy.json": ([("input_1", (None, 256, 256, 3), "float32")], None),
    "classifier/mobilenet_v2/model.json": ([("input:0", (None, 224, 224, 3), "float32")],
                                           [("Identity:0", (None, 5), "float32")]),
}
BLAZEPOSE_OUTPUTS = {("output_poseflag", (None, 1)), ("activation_heatmap", (None, 64, 64, 39)), ("ld_3d", (None, 195)),
                     ("world_3d", (None, 117)), ("activation_segmentation", (None, 256, 256, 1))}


@functools.cache
def shared_model(rel: str) -> GraphModel:
    path = MODELS / rel
    if not path.exists():
        pytest.skip(f"{path} is missing: set POSENET_SHARED_DIR to the shared data folder")
    return load_graph_model(path, num_threads=1)


def sample_input(model: GraphModel, seed: int = 0) -> np.ndarray:
    info = model.inputs[0]
    assert info.shape is not None
    shape = [d if d is not None else (1 if i == 0 else 160) for i, d in enumerate(info.shape)]
    values = np.random.default_rng(seed).uniform(0, 255, shape)
    return values.astype(np.int32) if info.dtype == "int32" else (values / 255).astype(np.float32)


@pytest.mark.parametrize("rel", list(SHARED_MODELS))
def test_shared_models_load_and_are_described(rel: str) -> None:
    model = shared_model(rel)
    inputs, outputs = SHARED_MODELS[rel]
    assert [(i.name, i.shape, i.dtype) for i in model.inputs] == inputs
    described = {(o.name, o.shape) for o in model.outputs}
    if outputs is not None:
        assert [(o.name, o.shape, o.dtype) for o in model.outputs] == outputs
    elif "blazepose" in rel:
        assert described == BLAZEPOSE_OUTPUTS
    else:
        assert len(model.outputs) == 4
    results = model.execute(sample_input(model))
    for info in model.outputs:
        assert info.shape is not None and results[info.name].dtype == np.float32
        assert all(d is None or d == n for d, n in zip(info.shape, results[info.name].shape, strict=True))


@pytest.mark.parametrize("rel", [r for r in SHARED_MODELS if "quant" not in r])
def test_exported_onnx_equals_the_in_memory_model(rel: str, tmp_path: Path) -> None:
    model = shared_model(rel)
    path = model.export_onnx(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(model.input_nodes)
    assert [o.name for o in session.get_outputs()] == list(model.output_nodes)
    x = sample_input(model, seed=1)
    exported = session.run(None, {model.inputs[0].name: x})
    for name, array in zip(model.output_nodes, exported, strict=True):
        np.testing.assert_array_equal(array, model.execute(x)[name])


def test_dynamic_batch_where_the_signature_allows() -> None:
    model = shared_model("blazepose/blazepose-detector.json")
    batch = np.stack([sample_input(model, seed=s)[0] for s in range(3)])
    together = model.predict(batch)
    assert isinstance(together, np.ndarray) and together.shape == (3, 2254, 13)
    alone = model.predict(batch[1:2])
    np.testing.assert_allclose(together[1:2], alone, rtol=1e-5, atol=1e-3)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A folder served on 127.0.0.1 (stopped after the test)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    (tmp_path / "site").mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_load_from_url_downloads_once(served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    nodes = [placeholder("x", "DT_FLOAT", [2]), node("y", "Mul", ["x", "k"])]
    write_graph_model(tmp_path / "site", nodes, {"k": np.float32(3)}, outputs=["y"])
    model = load_graph_model(f"{served}/model.json")
    np.testing.assert_array_equal(model.predict(np.array([1, 2], np.float32)), [3, 6])
    (tmp_path / "site" / "model.json").unlink()  # the second load reads the cache
    again = load_graph_model(f"{served}/model.json")
    assert again.output_nodes == ("y",)
