"""Read a TensorFlow.js graph model (model JSON + weights manifest + binary shards).

The result is a :class:`Graph`: the network's operations in execution order, with their
attributes decoded (strides, dilations, padding as plain tuples and strings), the weights
as float32/int32 numpy arrays, and the four output heads bound by node name.

:func:`posenet.graph.restride` turns a graph into the same network at another output
stride (the official stride variants share weights and differ only in strides and dilations).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import ModelFormatError, UnsupportedOpError
from ..jsmath import js_round_array
from ..options import ARCHITECTURES

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

_DTYPE_BYTES = {"float32": 4, "int32": 4, "uint8": 1, "uint16": 2, "float16": 2}


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
    return base64.b64decode(value["s"]).decode("ascii")


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
# Weights


def _decode_weights(groups: list[tuple[list[dict[str, Any]], bytes]]) -> dict[str, np.ndarray]:
    weights: dict[str, np.ndarray] = {}
    for specs, buffer in groups:
        offset = 0
        for spec in specs:
            name, shape, dtype = spec["name"], [int(d) for d in spec["shape"]], spec["dtype"]
            quant = spec.get("quantization")
            stored = quant["dtype"] if quant else dtype
            if stored not in _DTYPE_BYTES or dtype not in ("float32", "int32"):
                raise ModelFormatError(f"weight {name!r} has unsupported dtype {dtype}/{stored}")
            count = int(np.prod(shape, dtype=np.int64))
            size = count * _DTYPE_BYTES[stored]
            if offset + size > len(buffer):
                raise ModelFormatError(
                    f"weight shards are too short: {name!r} needs bytes {offset}..{offset + size} "
                    f"but the shards hold {len(buffer)} bytes. Re-download the checkpoint "
                    "(posenet models fetch --force) or check the shard files."
                )
            raw = np.frombuffer(buffer, dtype="<" + {"float32": "f4", "int32": "i4", "uint8": "u1",
                                                     "uint16": "u2", "float16": "f2"}[stored],
                                count=count, offset=offset)
            if quant and stored in ("uint8", "uint16"):
                values = raw.astype(np.float64) * float(quant["scale"]) + float(quant["min"])
                if dtype == "int32":
                    values = js_round_array(values)
                array = values.astype(np.float32 if dtype == "float32" else np.int32)
            else:
                array = raw.astype(np.float32 if dtype == "float32" else np.int32)
            weights[name] = array.reshape(shape)
            offset += size
        if offset != len(buffer):
            raise ModelFormatError(
                f"weight shards hold {len(buffer)} bytes but the manifest describes {offset}: "
                "the shards do not belong to this model JSON"
            )
    return weights


_WEIGHT_CACHE: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
_WEIGHT_CACHE_LOCK = threading.Lock()


def _read_weights(manifest: list[dict[str, Any]], folder: Path) -> dict[str, np.ndarray]:
    """Read and decode the shards next to a model JSON, reusing a previous read of the
    same unchanged files in this process."""
    files: list[list[Path]] = []
    key_parts: list[Any] = [json.dumps(manifest, sort_keys=True)]
    for group in manifest:
        paths = [folder / p for p in group.get("paths", [])]
        for p in paths:
            try:
                st = p.stat()
            except OSError:
                raise ModelFormatError(
                    f"weight shard {p} is missing (named in the model JSON's weightsManifest). "
                    "Download the checkpoint again (posenet models fetch) or copy every "
                    "group1-shard*.bin file next to the JSON."
                ) from None
            key_parts.append((str(p.resolve()), st.st_size, st.st_mtime_ns))
        files.append(paths)
    key = tuple(key_parts)
    with _WEIGHT_CACHE_LOCK:
        cached = _WEIGHT_CACHE.get(key)
    if cached is not None:
        return cached
    groups = [
        (group.get("weights", []), b"".join(p.read_bytes() for p in paths))
        for group, paths in zip(manifest, files)
    ]
    weights = _decode_weights(groups)
    for array in weights.values():
        array.setflags(write=False)
    with _WEIGHT_CACHE_LOCK:
        _WEIGHT_CACHE[key] = weights
    return weights


# ---------------------------------------------------------------------------------------
# Public entry points


def load_model_json(path: Path) -> dict[str, Any]:
    """Read and sanity-check a graph-model JSON file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelFormatError(f"cannot read model JSON {path}: {exc.strerror or exc}") from None
    try:
        model = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(model, dict) or "modelTopology" not in model or "weightsManifest" not in model:
        raise ModelFormatError(
            f"{path} is not a TensorFlow.js graph model: it needs 'modelTopology' and "
            "'weightsManifest' (a PoseNet 2.x model-stride*.json)"
        )
    if model.get("format", "graph-model") != "graph-model":
        raise ModelFormatError(f"{path} has format {model.get('format')!r}; expected 'graph-model'")
    return model


def read_graph_model(path: str | Path, *, tfjs_compat: bool = False) -> Graph:
    """Parse a model JSON and its weight shards (looked up next to it) into a :class:`Graph`."""
    path = Path(path)
    model = load_model_json(path)
    topology = model["modelTopology"]
    raw_nodes = topology.get("node") if isinstance(topology, dict) else None
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise ModelFormatError(f"{path}: modelTopology.node is missing or empty")
    parsed = [_parse_node(n, tfjs_compat) for n in raw_nodes]
    placeholders = [n.name for n in parsed if n.op == "Placeholder"]
    if len(placeholders) != 1:
        raise ModelFormatError(f"{path}: expected one input Placeholder, found {placeholders}")
    const_names = {n.name for n in parsed if n.op == "Const"}
    weights = _read_weights(model["weightsManifest"], path.parent)
    missing = sorted(const_names - set(weights))
    if missing:
        raise ModelFormatError(f"{path}: weights missing from the manifest: {missing[:5]}")
    ops = [n for n in parsed if n.op not in ("Placeholder", "Const")]
    ordered = _topological_order(ops, available=set(placeholders) | const_names)
    outputs = _bind_outputs(ordered)
    return Graph(
        nodes=tuple(ordered),
        weights=weights,
        input_name=placeholders[0],
        outputs=outputs,
        architecture=_detect_architecture(ordered),
        output_stride=graph_output_stride(ordered, placeholders[0], outputs["heatmap"]),
        tfjs_compat=tfjs_compat,
    )
