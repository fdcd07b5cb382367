"""``precision="int8"``: the fp32 ONNX model (:mod:`.onnx_lowering`) rewritten with
``QuantizeLinear`` / ``DequantizeLinear`` pairs (QDQ), which ONNX Runtime fuses into int8
convolutions (``QLinearConv``, uint8 activations x int8 weights, int32 sums).

The recipe (MobileNetV1 only; every checkpoint and output stride):

* Activations: every backbone activation is a ReLU6 output, quantised uint8 with scale
  6/255 and zero point 0: exactly its [0, 6] range, so no data is needed for it.
* Weights: int8, symmetric, one scale per output channel. In a 1x1 convolution the
  scale also keeps ``|q[2j]| + |q[2j+1]| <= 128`` for every pair of adjacent input
  channels: x86 CPUs without VNNI multiply uint8 x int8 pairs into a saturating int16
  (``vpmaddubsw``), and 255 x 128 still fits. Without the bound, on such a CPU (AMD Zen 3,
  AVX2) the int8 kernels drift 4x further from an exact simulation of the same model.
  Depthwise convolutions do not saturate: max|w| / 127.
* Rounding: GPTQ (:mod:`.gptq`) with the input moments of each layer measured on
  synthetic images (:mod:`.calibration`), then each bias less the mean output error the
  rounding causes there; no shipped data.
* fp32 stays: the first :data:`FP32_LAYERS` backbone convolutions (the most sensitive to
  rounding) and the four heads (one fused conv, transpose and split: one int8 scale for
  heatmap logits, offsets and displacements together would be far too coarse).

Measured (MobileNetV1 0.75, stride 16, shared COCO subset): AP 0.0910 -> 0.0907 at 257 and
0.2341 -> 0.2343 at 513 (over five calibration seeds the int8 AP spans 0.090-0.094 and
0.232-0.234). ResNet50 is refused: its activations are plain ReLUs with no fixed range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from onnx import ModelProto, NodeProto, TensorProto, helper, numpy_helper

from ..graph import Graph
from ..options.model import PRECISIONS
from .calibration import Moments, input_moments, synthetic_images
from .gptq import PAIR_MAX, QMAX, gptq_round, nearest_round
from .onnx_lowering import build_onnx_model

INT8_ARCHITECTURES: tuple[str, ...] = ("MobileNetV1",)
FP32_LAYERS = 6
"""Backbone convolutions kept in fp32, from the input (MobileNetV1: ``Conv2d_0`` to
``Conv2d_3_depthwise``, which hold the two most sensitive layers, 1 and 3 depthwise)."""
ACT_SCALE = np.float32(6.0 / 255.0)
BIAS_CORRECTION = True
"""Subtract each layer's mean output error (measured with the calibration means) from its bias."""
_INT32_BIAS = 2.0 ** 30  # largest |bias| in int32 steps: far from overflow
_NOTHING_TO_QUANTISE = ("precision='int8' found no convolution to quantise in this graph (it quantises 1x1 and "
                        "depthwise convolutions between ReLU6 activations); use precision='fp32'")


def check_int8_graph(graph: Graph) -> None:
    """``ValueError`` unless ``graph`` is a network the int8 recipe holds up for."""
    if graph.architecture not in INT8_ARCHITECTURES:
        raise ValueError(
            f"precision='int8' is not available for {graph.architecture}: its activations are unbounded "
            "ReLUs, which need calibration data that this package does not ship (MobileNetV1 only); "
            "use precision='fp32'"
        )


# ------------------------------------------------------------------------ the graph


def _scalar(inits: Mapping[str, TensorProto], name: str) -> float | None:
    t = inits.get(name)
    if t is None:
        return None
    a = numpy_helper.to_array(t)
    return float(a.reshape(-1)[0]) if a.size == 1 else None


def _is_relu6(node: NodeProto, inits: Mapping[str, TensorProto]) -> bool:
    return bool(node.op_type == "Clip" and len(node.input) == 3 and _scalar(inits, node.input[1]) == 0.0
                and _scalar(inits, node.input[2]) == 6.0)


def _attrs(node: NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _quantisable(conv: NodeProto, inits: Mapping[str, TensorProto]) -> bool:
    """A 1x1 stride-1 or a depthwise ``Conv`` with constant weights and bias."""
    if len(conv.input) != 3 or conv.input[1] not in inits or conv.input[2] not in inits:
        return False
    shape = tuple(inits[conv.input[1]].dims)
    attrs = _attrs(conv)
    if int(attrs.get("group", 1)) > 1:
        return bool(shape[1] == 1)
    return bool(shape[2:] == (1, 1) and list(attrs.get("strides", [1, 1])) == [1, 1])


def int8_convs(model: ModelProto, fp32_layers: int = FP32_LAYERS) -> list[NodeProto]:
    """The ``Conv`` nodes the recipe runs in int8: backbone convs (each read by one
    ReLU6 ``Clip``) after the first ``fp32_layers``, whose input is a ReLU6 output."""
    inits = {t.name: t for t in model.graph.initializer}
    producer = {out: n for n in model.graph.node for out in n.output}
    readers: dict[str, list[NodeProto]] = {}
    for n in model.graph.node:
        for name in n.input:
            readers.setdefault(name, []).append(n)
    backbone = [n for n in model.graph.node if n.op_type == "Conv" and len(readers.get(n.output[0], [])) == 1
                and _is_relu6(readers[n.output[0]][0], inits)]
    chosen = []
    for conv in backbone[fp32_layers:]:
        source = producer.get(conv.input[0])
        if source is not None and _is_relu6(source, inits) and _quantisable(conv, inits):
            chosen.append(conv)
    return chosen


# ---------------------------------------------------------------------- the weights


def weight_scales(w: np.ndarray, bias: np.ndarray, pair_limited: bool) -> np.ndarray:
    """Per output channel scales ``[O]`` of weights ``w`` ``[O, K]``: max|w| / 127, and
    for ``pair_limited`` at least max(|w[2j]| + |w[2j+1]|) / 128; never so small that the
    bias (in steps of ``ACT_SCALE * scale``) overflows int32."""
    a = np.abs(np.asarray(w, np.float64))
    scale = a.max(axis=1) / QMAX
    if pair_limited and a.shape[1] > 1:
        even = a[:, : a.shape[1] - a.shape[1] % 2]
        scale = np.maximum(scale, (even[:, 0::2] + even[:, 1::2]).max(axis=1) / PAIR_MAX)
    scale = np.maximum(scale, np.abs(np.asarray(bias, np.float64)) / (float(ACT_SCALE) * _INT32_BIAS))
    return np.where(scale > 0, scale, 1.0).astype(np.float32)


def quantize_weights(w: np.ndarray, bias: np.ndarray, depthwise: bool, moments: Moments | None,
                     bias_correction: bool = BIAS_CORRECTION) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int8 weights (shape of ``w``, ONNX OIHW), their scales ``[O]`` and the int32 bias
    ``[O]`` of one convolution. With ``moments`` of its input: GPTQ rounding, and (if
    ``bias_correction``) the bias less the mean output error ``(W_int8 - W) E[x]``."""
    rows = np.asarray(w, np.float32).reshape(w.shape[0], -1).astype(np.float64)
    pair_limited = not depthwise
    scales = weight_scales(rows, bias, pair_limited)
    b = np.asarray(bias, np.float64)
    if moments is None:
        q = nearest_round(rows, scales, pair_limited=pair_limited)
    else:
        q = gptq_round(rows, scales, moments.second, pair_limited=pair_limited)
        if bias_correction:
            error = q * scales[:, None] - rows
            b = b - (np.sum(error * moments.mean, axis=1) if depthwise else error @ moments.mean)
    bias_q = np.round(b / (float(ACT_SCALE) * scales.astype(np.float64)))
    return q.reshape(w.shape).astype(np.int8), scales, bias_q.astype(np.int32)


# ---------------------------------------------------------------------- the rewrite


class _Rewrite:
    """Builds the QDQ model: new nodes in order, new initializers, renamed inputs."""

    def __init__(self, model: ModelProto) -> None:
        self.model = ModelProto()
        self.model.CopyFrom(model)
        self.inits = {t.name: t for t in self.model.graph.initializer}
        self.added: list[TensorProto] = []

    def const(self, name: str, array: np.ndarray | np.generic) -> str:
        self.added.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def conv_weights(self, conv: NodeProto, moments: Moments | None) -> list[NodeProto]:
        """``DequantizeLinear`` nodes for one conv's int8 weight and int32 bias; the conv
        is rewired to read them."""
        w = numpy_helper.to_array(self.inits[conv.input[1]]).astype(np.float32)
        b = numpy_helper.to_array(self.inits[conv.input[2]]).astype(np.float32)
        q, scales, bias_q = quantize_weights(w, b, int(_attrs(conv).get("group", 1)) > 1, moments)
        nodes = []
        for k, (ints, scale, zero) in ((1, (q, scales, np.zeros(len(scales), np.int8))),
                                       (2, (bias_q, scales * ACT_SCALE, np.zeros(len(scales), np.int32)))):
            base = conv.input[k]
            inputs = [self.const(f"{base}/int8" if k == 1 else f"{base}/int32", ints),
                      self.const(f"{base}/scale", scale.astype(np.float32)), self.const(f"{base}/zero", zero)]
            nodes.append(helper.make_node("DequantizeLinear", inputs, [f"{base}/dq"], name=f"{base}/dq", axis=0))
            conv.input[k] = f"{base}/dq"
        return nodes

    def finish(self, nodes: list[NodeProto]) -> ModelProto:
        graph = self.model.graph
        used = {name for n in nodes for name in n.input}
        kept = [t for t in graph.initializer if t.name in used]
        del graph.initializer[:]
        graph.initializer.extend(kept + self.added)
        del graph.node[:]
        graph.node.extend(nodes)
        return self.model


def quantize_model(model: ModelProto, fp32_layers: int = FP32_LAYERS,
                   moments: Mapping[str, Moments] | None = None) -> ModelProto:
    """The QDQ int8 version of a lowered fp32 ``model`` (see the module docstring).

    ``moments``: per conv name, the :class:`~.calibration.Moments` of its input windows
    (:func:`.calibration.input_moments`) for GPTQ rounding and bias correction; convs
    without them are rounded to nearest.
    """
    rewrite = _Rewrite(model)
    graph = rewrite.model.graph
    convs = {c.name for c in int8_convs(rewrite.model, fp32_layers)}
    tensors = set()
    readers = {name: n for n in graph.node for name in n.input}
    for n in graph.node:
        if n.name in convs:
            tensors.add(n.input[0])
            tensors.add(readers[n.output[0]].output[0])  # the Clip after it
    if not convs:
        raise ValueError(_NOTHING_TO_QUANTISE)
    rewrite.const("act/scale", ACT_SCALE)
    rewrite.const("act/zero", np.uint8(0))
    nodes: list[NodeProto] = []
    for n in list(graph.node):
        for k, name in enumerate(n.input):
            if name in tensors:
                n.input[k] = f"{name}/dq"
        if n.name in convs:
            nodes += rewrite.conv_weights(n, None if moments is None else moments.get(n.name))
        nodes.append(n)
        for out in n.output:
            if out in tensors:
                nodes.append(helper.make_node("QuantizeLinear", [out, "act/scale", "act/zero"], [f"{out}/q"],
                                              name=f"{out}/q"))
                nodes.append(helper.make_node("DequantizeLinear", [f"{out}/q", "act/scale", "act/zero"],
                                              [f"{out}/dq"], name=f"{out}/dq"))
    return rewrite.finish(nodes)


def build_int8_model(graph: Graph, fp32_layers: int = FP32_LAYERS) -> ModelProto:
    """The int8 ONNX model of ``graph``: lowered, calibrated on synthetic images,
    GPTQ-rounded, bias-corrected."""
    check_int8_graph(graph)
    fp32 = build_onnx_model(graph)
    names = [c.name for c in int8_convs(fp32, fp32_layers)]
    if not names:
        raise ValueError(_NOTHING_TO_QUANTISE)
    moments = input_moments(fp32, names, synthetic_images())
    return quantize_model(fp32, fp32_layers, moments)


__all__ = ["ACT_SCALE", "BIAS_CORRECTION", "FP32_LAYERS", "INT8_ARCHITECTURES", "PRECISIONS", "build_int8_model",
           "check_int8_graph", "int8_convs", "quantize_model", "quantize_weights", "weight_scales"]
