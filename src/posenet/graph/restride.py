"""The same network at another output stride.

The official stride variants of a checkpoint share weights and differ only in strides
and dilations: the downsampling stages are strided in order until the product reaches
the output stride, later stages run at stride 1 and the convolutions after them are
dilated instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..options import check_output_stride
from .tfjs import SPATIAL_OPS, Graph, Node, graph_output_stride


# Downsampling stages of each backbone at output stride 32, in order. A stage is a set of
# node-name fragments that downsample together (a ResNet unit's 3x3 conv and its
# shortcut). ``dilates``: when the stage runs at stride 1, later convolutions are dilated
# to keep their receptive field (atrous convolution). The official MobileNet graphs are
# natively stride 16 (Conv2d_12 unstrided and undilated), hence its last stage.
@dataclass(frozen=True)
class _Stage:
    fragments: tuple[str, ...]
    dilates: bool = True


def _resnet_unit(block: int, unit: int) -> _Stage:
    """A ResNet bottleneck unit that downsamples: its 3x3 conv and its shortcut together."""
    path = f"resnet_v1_50/block{block}/unit_{unit}/bottleneck_v1/"
    return _Stage((path + "conv2/", path + "shortcut/"))


_STAGES: dict[str, tuple[_Stage, ...]] = {
    "MobileNetV1": (
        _Stage(("/Conv2d_0/",)),
        _Stage(("/Conv2d_2_depthwise/",)),
        _Stage(("/Conv2d_4_depthwise/",)),
        _Stage(("/Conv2d_6_depthwise/",)),
        _Stage(("/Conv2d_12_depthwise/",), dilates=False),
    ),
    "ResNet50": (
        _Stage(("/resnet_v1_50/conv1/",)),
        _Stage(("/resnet_v1_50/pool1/",)),
        _resnet_unit(1, 3),
        _resnet_unit(2, 4),
        _resnet_unit(3, 6),
    ),
}


def restride(graph: Graph, output_stride: int) -> Graph:
    """The same network run at another output stride.

    Stages are strided in order until the product reaches ``output_stride``; each later
    stage runs at stride 1, and convolutions after it are dilated by 2 per such stage.
    Reproduces the official stride-8/16 MobileNet and stride-16/32 ResNet50 graphs from
    one another. Dilation is written as TF.js would read it when ``graph.tfjs_compat``.
    """
    if output_stride == graph.output_stride:
        return graph
    check_output_stride(graph.architecture, output_stride)
    stages = _STAGES[graph.architecture]
    strided: list[bool] = []
    total = 1
    for _ in stages:
        strided.append(total < output_stride)
        total *= 2 if strided[-1] else 1

    def stage_of(node: Node) -> int | None:
        for i, stage in enumerate(stages):
            if any(f in "/" + node.name for f in stage.fragments):
                return i
        return None

    # Stages upstream of each node (stage membership propagates along edges).
    upstream: dict[str, frozenset[int]] = {graph.input_name: frozenset()}
    new_nodes: list[Node] = []
    for node in graph.nodes:
        before = frozenset().union(*(upstream.get(i, frozenset()) for i in node.inputs))
        own = stage_of(node) if node.op in SPATIAL_OPS else None
        upstream[node.name] = before | ({own} if own is not None else frozenset())
        if node.op not in SPATIAL_OPS:
            new_nodes.append(node)
            continue
        stride = (2, 2) if own is not None and strided[own] else (1, 1)
        rate = 2 ** sum(1 for s in before if not strided[s] and stages[s].dilates)
        dilations = (1, 1)
        if rate > 1 and graph.kernel_shape(node) != (1, 1):
            if node.op == "MaxPool":
                raise ValueError(f"cannot dilate pooling node {node.name} for output stride {output_stride}")
            dilations = (rate, 1) if graph.tfjs_compat else (rate, rate)
        new_nodes.append(replace(node, strides=stride, dilations=dilations))
    nodes = tuple(new_nodes)
    result = replace(graph, nodes=nodes, output_stride=graph_output_stride(nodes, graph.input_name,
                                                                            graph.outputs["heatmap"]))
    if result.output_stride != output_stride:
        raise ValueError(f"cannot run {graph.architecture} at output stride {output_stride}")
    return result
