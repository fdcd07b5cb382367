"""The reference engine: every op in plain NumPy, NHWC.

Every op stores float32 like TF.js's CPU backend; depthwise convolutions accumulate tap
by tap exactly as that backend does, other convolutions in float64 (the backend's
sequential float32 sum over input channels would be slow to emulate), so this engine
tracks the reference's arithmetic closely. Slow next to
ONNX Runtime but dependency-free and easy to audit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import UnsupportedOpError
from ..graph import Graph, Node
from ..graph.analysis import consumer_counts, padding_amounts
from .base import NetworkOutputs


def _windows(x: np.ndarray, node: Node, kernel: tuple[int, int],
             fill: float) -> Iterator[tuple[int, int, np.ndarray]]:
    """Pad ``x`` for ``node`` and yield ``(i, j, view)``: for each kernel tap the strided
    input view aligned with the output grid."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, node.strides, node.dilations
    top, bottom, out_h = padding_amounts(x.shape[1], kh, sh, dh, node.padding)
    left, right, out_w = padding_amounts(x.shape[2], kw, sw, dw, node.padding)
    if top or bottom or left or right:
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    for i in range(kh):
        for j in range(kw):
            y0, x0 = i * dh, j * dw
            yield i, j, x[:, y0 : y0 + (out_h - 1) * sh + 1 : sh, x0 : x0 + (out_w - 1) * sw + 1 : sw, :]


def conv2d(x: np.ndarray, w: np.ndarray, node: Node) -> np.ndarray:
    """Convolution; pass float64 ``x`` and ``w`` for float64 accumulation."""
    kh, kw, cin, cout = w.shape
    if (kh, kw) == (1, 1) and node.strides == (1, 1):
        n, h, wd, _ = x.shape
        product: np.ndarray = x.reshape(-1, cin) @ w.reshape(cin, cout)
        return product.reshape(n, h, wd, cout)
    terms = (view @ w[i, j] for i, j, view in _windows(x, node, (kh, kw), 0.0))
    out: np.ndarray = next(terms)
    for term in terms:
        out = out + term
    return out


def depthwise_conv2d(x: np.ndarray, w: np.ndarray, node: Node) -> np.ndarray:
    """Depthwise convolution accumulated tap by tap in float32, each step adding the exact
    (float64) product, as TF.js's CPU kernel does."""
    kh, kw, c, mult = w.shape
    w64 = np.asarray(w, np.float64)

    def product(i: int, j: int, view: np.ndarray) -> np.ndarray:
        v = view.astype(np.float64)
        if mult == 1:
            term: np.ndarray = v * w64[i, j, :, 0]
        else:
            term = (v[..., None] * w64[i, j]).reshape(*view.shape[:3], c * mult)
        return term

    terms = (product(i, j, view) for i, j, view in _windows(x, node, (kh, kw), 0.0))
    out = next(terms).astype(np.float32)
    for term in terms:
        out = (out + term).astype(np.float32)
    return out


def max_pool(x: np.ndarray, node: Node) -> np.ndarray:
    views = (view for _, _, view in _windows(x, node, node.ksize, -np.inf))
    out: np.ndarray = next(views).copy()
    for view in views:
        np.maximum(out, view, out=out)
    return out


class NumpyEngine:
    """Executes a :class:`Graph` node by node with NumPy."""

    name = "numpy"

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        # Convolution kernels in float64, converted once.
        self._kernels = {n.inputs[1]: np.asarray(graph.weights[n.inputs[1]], np.float64)
                         for n in graph.nodes if n.op in ("Conv2D", "DepthwiseConv2dNative")}
        self._ops: dict[str, Callable[..., np.ndarray]] = {
            "Conv2D": lambda n, x, w: conv2d(x.astype(np.float64), self._kernels[n.inputs[1]], n),
            "DepthwiseConv2dNative": lambda n, x, w: depthwise_conv2d(x, self._kernels[n.inputs[1]], n),
            "MaxPool": lambda n, x: max_pool(x, n),
            "BiasAdd": lambda n, x, b: x + b,
            "Add": lambda n, a, b: a + b,
            "AddV2": lambda n, a, b: a + b,
            "Relu": lambda n, x: np.maximum(x, np.float32(0)),
            "Relu6": lambda n, x: np.clip(x, np.float32(0), np.float32(6)),
            "Identity": lambda n, x: x,
            "Pad": lambda n, x, p: np.pad(x, [tuple(int(v) for v in row) for row in p]),
        }
        for node in graph.nodes:
            if node.op not in self._ops:
                raise UnsupportedOpError(f"the numpy engine cannot run {node.op} (node {node.name})")
        # How many times each value is read, to free intermediates as soon as possible.
        self._reads = consumer_counts(graph)

    def run(self, batch: np.ndarray) -> NetworkOutputs:
        graph = self.graph
        values: dict[str, np.ndarray] = {graph.input_name: np.ascontiguousarray(batch, dtype=np.float32)}
        remaining = Counter(self._reads)
        for node in graph.nodes:
            args: list[np.ndarray] = []
            for name in node.inputs:
                args.append(values[name] if name in values else graph.weights[name])
                if name in values:
                    remaining[name] -= 1
                    if remaining[name] == 0 and name not in graph.outputs.values():
                        del values[name]
            values[node.name] = self._ops[node.op](node, *args).astype(np.float32, copy=False)
        out = graph.outputs
        return NetworkOutputs(
            heatmap_logits=values[out["heatmap"]],
            offsets=values[out["offsets"]],
            displacement_fwd=values[out["displacement_fwd"]],
            displacement_bwd=values[out["displacement_bwd"]],
        )


__all__ = ["NumpyEngine", "conv2d", "depthwise_conv2d", "max_pool", "padding_amounts"]
