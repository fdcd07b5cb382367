"""Facts about a :class:`~posenet.graph.Graph` that every engine needs: TensorFlow's
padding arithmetic and how often each value is read.

TF ``SAME`` padding along one axis of size ``n`` with kernel ``k``, stride ``s`` and
dilation ``d``: the output has ``ceil(n / s)`` elements, the window spans
``(k - 1) * d + 1`` inputs, and ``total = max((ceil(n / s) - 1) * s + span - n, 0)`` zeros
are added, ``total // 2`` before and the rest (the odd one) after. ``VALID`` adds none
and keeps ``ceil((n - span + 1) / s)`` outputs.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tfjs import Graph, Node


def window_span(kernel: int, dilation: int) -> int:
    """Inputs covered by one (dilated) window along an axis."""
    return (kernel - 1) * dilation + 1


def padding_amounts(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int, int]:
    """(pad_before, pad_after, output_size) along one axis, as TensorFlow computes them."""
    span = window_span(kernel, dilation)
    if padding == "SAME":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + span - size, 0)
        return total // 2, total - total // 2, out
    out = max(math.ceil((size - span + 1) / stride), 0)
    return 0, 0, out


def static_same_padding(kernel: int, stride: int, dilation: int) -> tuple[int, int] | None:
    """``(before, after)`` of TF ``SAME`` along one axis when they are the same for every
    input size, else ``None``.

    At stride 1 the total is ``span - 1`` for every size; a window of one input
    (``span == 1``) never pads. Otherwise the total depends on ``size % stride``.
    """
    if stride != 1 and window_span(kernel, dilation) != 1:
        return None
    before, after, _ = padding_amounts(1, kernel, stride, dilation, "SAME")  # any size gives the same
    return before, after


def static_same_pads(kernel: tuple[int, int], strides: tuple[int, int],
                     dilations: tuple[int, int]) -> list[int] | None:
    """ONNX ``pads`` ``[top, left, bottom, right]`` for TF ``SAME`` over (height, width),
    or ``None`` when they depend on the input size (ONNX ``auto_pad=SAME_UPPER`` follows
    the same rule then)."""
    axes = [static_same_padding(k, s, d) for k, s, d in zip(kernel, strides, dilations, strict=True)]
    if axes[0] is None or axes[1] is None:
        return None
    (top, bottom), (left, right) = axes[0], axes[1]
    return [top, left, bottom, right]


def consumer_counts(graph: Graph) -> Counter[str]:
    """How many times each value is read: once per node input that names it, plus once for
    each graph output it is (an output is read by the caller)."""
    counts = Counter(name for node in graph.nodes for name in node.inputs)
    for name in graph.outputs.values():
        counts[name] += 1
    return counts


def consumers(graph: Graph) -> dict[str, list[Node]]:
    """The nodes that read each value, in execution order (a node reading a value twice is
    listed once)."""
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in dict.fromkeys(node.inputs):
            readers.setdefault(name, []).append(node)
    return readers


__all__ = ["consumer_counts", "consumers", "padding_amounts", "static_same_padding", "static_same_pads",
           "window_span"]
