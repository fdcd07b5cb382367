"""Read a TensorFlow.js graph model (model JSON + weights manifest + binary shards).

The result is a :class:`Graph`: the network's operations in execution order, with their
attributes decoded (strides, dilations, padding as plain tuples and strings), the weights
as float32/int32 numpy arrays, and the four output heads bound by node name.

:func:`posenet.graph.restride` turns a graph into the same network at another output
stride (the official stride variants share weights and differ only in strides and dilations).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError, UnsupportedOpError
from .weights import read_weights

SPATIAL_OPS = frozenset({"Conv2D", "DepthwiseConv2dNative", "MaxPool"})
ELEMENTWISE_OPS = frozenset({"BiasAdd", "Add", "AddV2", "Relu", "Relu6", "Identity", "Pad"})
SUPPORTED_OPS = SPATIAL_OPS | ELEMENTWISE_OPS | {"Placeholder", "Const"}

OUTPUT_ROLES = ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")
"""The four heads, bound by a name fragment of the graph's terminal nodes."""
_ROLE_NAME_FRAGMENTS = {
    "heatmap": "heatmap",
    "offsets": "offset",
    "displacement_fwd": "displacement_fwd",
    "displacement_bwd": "displacement_bwd",
}

_ARCHITECTURE_NAME_FRAGMENTS = {"MobileNetV1": "MobilenetV1/", "ResNet50": "resnet_v1_50/"}

@dataclass(frozen=True, slots=True)
class Node:
    """One operation. ``inputs`` name other nodes, the graph input or weights.

    ``strides``/``dilations``/``ksize`` are (height, width); ``padding`` is "SAME" or
    "VALID"; ``dilation_attr`` keeps the raw 4-element attribute for re-interpretation.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    ksize: tuple[int, int] = (1, 1)
    padding: str = "VALID"


@dataclass(frozen=True)
class Graph:
    """A PoseNet network ready for an engine.

    ``nodes`` are in execution order (Placeholder and Const excluded); ``weights`` maps
    Const names to arrays (convolution kernels HWIO, depthwise kernels HWCM);
    ``outputs`` maps each role of :data:`OUTPUT_ROLES` to a node name.
    """

    nodes: tuple[Node, ...]
    weights: Mapping[str, np.ndarray]
    input_name: str
    outputs: Mapping[str, str]
    architecture: str
    output_stride: int
    tfjs_compat: bool

    def kernel_shape(self, node: Node) -> tuple[int, int]:
        """(height, width) of a node's window: the kernel of a convolution, the pool size."""
        if node.op == "MaxPool":
            return node.ksize
        shape = self.weights[node.inputs[1]].shape
        return int(shape[0]), int(shape[1])


# ---------------------------------------------------------------------------------------
# Parsing


def _list_ints(attr: Mapping[str, Any], key: str) -> list[int] | None:
    value = attr.get(key)
    if value is None:
        return None
    return [int(v) for v in value.get("list", {}).get("i", [])]


def _string(attr: Mapping[str, Any], key: str) -> str | None:
    value = attr.get(key)
    if value is None or "s" not in value:
        return None
    return base64.b64decode(value["s"], validate=True).decode("ascii")


def interpret_dilations(raw: list[int] | None, tfjs_compat: bool) -> tuple[int, int]:
    """(height, width) dilation of a raw 4-element ``dilations`` attribute.

    The official graphs write dilation rate ``r`` as ``[r, r, 1, 1]``. TF.js reads
    elements 1 and 2, i.e. (r, 1): ``tfjs_compat=True`` reproduces that. Otherwise a
    standard NHWC list ``[1, h, w, 1]`` is read as (h, w) and the converter's
    ``[h, w, 1, 1]`` form as (h, w), which is the rate the network was trained with.
    """
    if not raw:
        return (1, 1)
    if len(raw) != 4:
        raise ModelFormatError(f"dilations attribute {raw} should have 4 elements")
    if tfjs_compat or (raw[0] == 1 and raw[3] == 1):
        return (raw[1], raw[2])
    return (raw[0], raw[1])


def _parse_node(raw: Mapping[str, Any], tfjs_compat: bool) -> Node:
    op = raw.get("op")
    name = raw.get("name")
    if not isinstance(op, str) or not isinstance(name, str):
        raise ModelFormatError(f"graph node without a name or op: {str(raw)[:200]}")
    if op not in SUPPORTED_OPS:
        raise UnsupportedOpError(
            f"node {name!r} uses the operation {op!r}, which posenet-py cannot run "
            f"(supported: {', '.join(sorted(SUPPORTED_OPS))}). Is this a PoseNet 2.x model?"
        )
    attr = raw.get("attr", {})
    inputs = tuple(str(i).split(":")[0].lstrip("^") for i in raw.get("input", []))
    node = Node(name=name, op=op, inputs=inputs)
    if op in SPATIAL_OPS:
        data_format = _string(attr, "data_format")
        if data_format not in (None, "NHWC"):
            raise ModelFormatError(f"node {name!r} has data_format {data_format}; only NHWC is supported")
        strides = _list_ints(attr, "strides") or [1, 1, 1, 1]
        padding = _string(attr, "padding") or "VALID"
        if padding not in ("SAME", "VALID"):
            raise ModelFormatError(f"node {name!r} has padding {padding!r}; expected SAME or VALID")
        ksize = _list_ints(attr, "ksize") or [1, 1, 1, 1]
        node = replace(
            node,
            strides=(strides[1], strides[2]),
            dilations=interpret_dilations(_list_ints(attr, "dilations"), tfjs_compat),
            ksize=(ksize[1], ksize[2]),
            padding=padding,
        )
    return node


def _topological_order(nodes: list[Node], available: set[str]) -> list[Node]:
    by_name = {n.name: n for n in nodes}
    ordered: list[Node] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(node: Node) -> None:
        stack = [(node, iter(node.inputs))]
        state[node.name] = 1
        while stack:
            current, pending = stack[-1]
            for dep in pending:
                if dep in available or state.get(dep) == 2:
                    continue
                if dep not in by_name:
                    raise ModelFormatError(f"node {current.name!r} reads {dep!r}, which the graph does not define")
                if state.get(dep) == 1:
                    raise ModelFormatError(f"the graph has a cycle through {dep!r}")
                state[dep] = 1
                stack.append((by_name[dep], iter(by_name[dep].inputs)))
                break
            else:
                stack.pop()
                state[current.name] = 2
                ordered.append(current)

    for n in nodes:
        if state.get(n.name) != 2:
            visit(n)
    return ordered


def _bind_outputs(nodes: list[Node]) -> dict[str, str]:
    consumed = {i for n in nodes for i in n.inputs}
    terminal = [n.name for n in nodes if n.name not in consumed]
    outputs: dict[str, str] = {}
    for role, fragment in _ROLE_NAME_FRAGMENTS.items():
        matches = [t for t in terminal if fragment in t.lower()]
        if len(matches) != 1:
            raise ModelFormatError(
                f"cannot find the {role} output: the graph's final nodes are {terminal}; "
                "a PoseNet graph ends in heatmap, offset, displacement_fwd and displacement_bwd heads"
            )
        outputs[role] = matches[0]
    return outputs


def _detect_architecture(nodes: list[Node]) -> str:
    for arch, fragment in _ARCHITECTURE_NAME_FRAGMENTS.items():
        if any(fragment in n.name for n in nodes):
            return arch
    raise ModelFormatError(
        "cannot tell the architecture from the node names (expected MobilenetV1/... or resnet_v1_50/...)"
    )


def graph_output_stride(nodes: tuple[Node, ...] | list[Node], input_name: str, output: str) -> int:
    """The product of the strides on the path from the input to ``output``."""
    stride = {input_name: 1}
    for n in nodes:
        s = max((stride.get(i, 1) for i in n.inputs), default=1)
        if n.op in SPATIAL_OPS:
            s *= n.strides[0]
        stride[n.name] = s
    return stride[output]


# ---------------------------------------------------------------------------------------
# Public entry points


def load_model_json(path: Path) -> dict[str, Any]:
    """Read and sanity-check a graph-model JSON file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"cannot read model JSON {path}: {exc.strerror or exc}") from None
    return parse_model_json(data, str(path))


def parse_model_json(data: bytes, source: str) -> dict[str, Any]:
    """Parse and sanity-check the bytes of a graph-model JSON (``source`` names it in errors)."""
    try:
        model = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"{source} is not a text (UTF-8) file: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ModelFormatError(f"{source} is not a graph model: its JSON is nested too deeply") from None
    if not isinstance(model, dict) or "modelTopology" not in model or "weightsManifest" not in model:
        raise ModelFormatError(
            f"{source} is not a TensorFlow.js graph model: it needs 'modelTopology' and "
            "'weightsManifest' (a PoseNet 2.x model-stride*.json)"
        )
    if model.get("format", "graph-model") != "graph-model":
        raise ModelFormatError(f"{source} has format {model.get('format')!r}; expected 'graph-model'")
    return model


_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, binascii.Error, UnicodeDecodeError,
              RecursionError, OverflowError)
"""What malformed JSON content raises while it is parsed (re-raised as ModelFormatError)."""

HEAD_CHANNELS = {"heatmap": 17, "offsets": 34, "displacement_fwd": 32, "displacement_bwd": 32}


def _parse_nodes(raw_nodes: list[Any], tfjs_compat: bool) -> list[Node]:
    """Every node parsed; one :class:`UnsupportedOpError` lists every unsupported op with
    the first node that uses it."""
    parsed = []
    unsupported: dict[str, str] = {}
    for i, raw in enumerate(raw_nodes):
        op = raw.get("op") if isinstance(raw, dict) else None
        if isinstance(op, str) and op not in SUPPORTED_OPS:
            unsupported.setdefault(op, str(raw.get("name")))
            continue
        try:
            parsed.append(_parse_node(raw, tfjs_compat))
        except ModelFormatError:
            raise
        except _MALFORMED as exc:
            name = raw.get("name") if isinstance(raw, dict) else None
            raise ModelFormatError(
                f"modelTopology.node[{i}] ({name!r}) is malformed: {type(exc).__name__}: {exc}") from None
    if unsupported:
        listed = "; ".join(f"{op!r} (node {node!r})" for op, node in sorted(unsupported.items()))
        raise UnsupportedOpError(
            f"the graph uses {len(unsupported)} operation{'s' if len(unsupported) > 1 else ''} posenet-py cannot run: "
            f"{listed}. Supported: {', '.join(sorted(SUPPORTED_OPS))}. Is this a PoseNet 2.x model?"
        )
    return parsed


def _kernel(node: Node, weights: Mapping[str, np.ndarray]) -> np.ndarray:
    kernel = weights.get(node.inputs[1]) if len(node.inputs) > 1 else None
    if kernel is None or kernel.ndim != 4:
        shape = None if kernel is None else list(kernel.shape)
        raise ModelFormatError(f"node {node.name!r} needs a 4-D kernel weight as its second input, got {shape}")
    return kernel


def check_shapes(nodes: list[Node], weights: Mapping[str, np.ndarray], input_name: str,
                 outputs: Mapping[str, str]) -> None:
    """Follow the channel count from the RGB input through every node: each kernel's input
    channels and each bias length must match what reaches it, and the heads must have
    PoseNet's channel counts. Names the weight at fault."""
    channels: dict[str, int | None] = {input_name: 3}
    for node in nodes:
        c_in = channels.get(node.inputs[0]) if node.inputs else None
        if node.op in ("Conv2D", "DepthwiseConv2dNative"):
            kernel = _kernel(node, weights)
            if c_in is not None and kernel.shape[2] != c_in:
                raise ModelFormatError(
                    f"kernel {node.inputs[1]!r} of node {node.name!r} has shape {list(kernel.shape)}: it expects "
                    f"{kernel.shape[2]} input channels but its input has {c_in} (a transposed kernel, or a shard "
                    "from another model?)"
                )
            depth = kernel.shape[3] if node.op == "Conv2D" else kernel.shape[2] * kernel.shape[3]
            channels[node.name] = int(depth)
            continue
        if node.op in ("BiasAdd", "Add", "AddV2") and len(node.inputs) > 1:
            other = node.inputs[1]
            bias = weights.get(other)
            width = int(bias.shape[0]) if bias is not None and bias.ndim == 1 else channels.get(other)
            if c_in is not None and width is not None and width != c_in and width != 1:
                raise ModelFormatError(f"{other!r} added in node {node.name!r} has {width} channels but its "
                                       f"input has {c_in}")
        channels[node.name] = c_in
    for role, name in outputs.items():
        got = channels.get(name)
        if got is not None and got != HEAD_CHANNELS[role]:
            raise ModelFormatError(f"the {role} head {name!r} has {got} channels; a PoseNet graph has "
                                   f"{HEAD_CHANNELS[role]}")


def read_graph_model(path: str | Path, *, tfjs_compat: bool = False) -> Graph:
    """Parse a model JSON and its weight shards (looked up next to it) into a :class:`Graph`.

    Raises :class:`~posenet.ModelFormatError` (naming the file and the field or weight at
    fault) for anything malformed, and :class:`~posenet.UnsupportedOpError` for an
    operation this package cannot run.
    """
    path = Path(path)
    try:
        return _read_graph_model(path, tfjs_compat)
    except ModelFormatError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None
    except _MALFORMED as exc:
        raise ModelFormatError(f"{path}: malformed graph model ({type(exc).__name__}: {exc})") from None


def _read_graph_model(path: Path, tfjs_compat: bool) -> Graph:
    path = Path(path)
    model = load_model_json(path)
    topology = model["modelTopology"]
    raw_nodes = topology.get("node") if isinstance(topology, dict) else None
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise ModelFormatError(f"{path}: modelTopology.node is missing or empty")
    parsed = _parse_nodes(raw_nodes, tfjs_compat)
    placeholders = [n.name for n in parsed if n.op == "Placeholder"]
    if len(placeholders) != 1:
        raise ModelFormatError(f"{path}: expected one input Placeholder, found {placeholders}")
    const_names = {n.name for n in parsed if n.op == "Const"}
    weights = read_weights(model["weightsManifest"], path.parent)
    missing = sorted(const_names - set(weights))
    if missing:
        raise ModelFormatError(f"{path}: weights missing from the manifest: {missing[:5]}")
    ops = [n for n in parsed if n.op not in ("Placeholder", "Const")]
    ordered = _topological_order(ops, available=set(placeholders) | const_names)
    outputs = _bind_outputs(ordered)
    check_shapes(ordered, weights, placeholders[0], outputs)
    return Graph(
        nodes=tuple(ordered),
        weights=weights,
        input_name=placeholders[0],
        outputs=outputs,
        architecture=_detect_architecture(ordered),
        output_stride=graph_output_stride(ordered, placeholders[0], outputs["heatmap"]),
        tfjs_compat=tfjs_compat,
    )
