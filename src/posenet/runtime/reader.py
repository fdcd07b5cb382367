"""Read any TF.js graph model into a :class:`ModelGraph`: every node with its attributes
decoded, the weights, and the model's inputs and outputs as TF.js ``GraphModel`` sees them.

Inputs and outputs follow ``@tensorflow/tfjs-converter``: with a ``signature`` (in the model
JSON, or in ``userDefinedMetadata.signature``) they are its entries, in order, named by their
keys; without one the inputs are the Placeholders and the outputs every node nothing reads
(control edges count as reads), named by their node names.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..errors import ModelFormatError, UnsupportedOpError
from ..graph import load_model_json
from ..graph.weights import read_weights

AttrValue = Union[int, float, bool, str, None, tuple[Any, ...], "Shape"]
"""A decoded attribute: int, float, bool, text (``s``), dtype name (``type``), shape, or a tuple."""

Shape = tuple[int | None, ...]
"""Dimensions; None is a dimension of unknown size."""

DTYPES: dict[str, str | None] = {
    "DT_FLOAT": "float32", "DT_HALF": "float32", "DT_DOUBLE": "float32", "DT_BFLOAT16": "float32",
    "DT_INT32": "int32", "DT_INT64": "int32", "DT_INT8": "int32", "DT_UINT8": "int32", "DT_INT16": "int32",
    "DT_UINT16": "int32", "DT_BOOL": "bool", "DT_STRING": "string",
}
"""TensorFlow dtypes as TF.js maps them (``parseDtypeParam``): everything is float32, int32 or bool."""

_NO_INPUT_OPS = frozenset({"Const", "Placeholder", "PlaceholderWithDefault"})


@dataclass(frozen=True, slots=True)
class OpNode:
    """One operation: ``inputs`` are tensor references (``"node"`` or ``"node:1"``, control
    inputs dropped); ``attrs`` maps attribute names to decoded values."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, AttrValue]


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """A model input or output: ``name`` feeds or fetches it (the signature key, or the node name
    without a signature); ``node``/``index`` locate it in the graph. ``shape`` is None when
    unknown; ``dtype`` is "float32", "int32" or "bool" (None when unknown)."""

    name: str
    node: str
    index: int
    shape: Shape | None
    dtype: str | None

    @property
    def tensor(self) -> str:
        """The graph tensor: ``node:index``."""
        return f"{self.node}:{self.index}"


@dataclass(frozen=True)
class ModelGraph:
    """A parsed graph model: ``nodes`` in execution order (Const and Placeholder excluded),
    ``weights`` by Const name, ``placeholders`` by name, model ``inputs`` and ``outputs``."""

    nodes: tuple[OpNode, ...]
    weights: Mapping[str, np.ndarray]
    placeholders: Mapping[str, OpNode]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    source: str

    def ops(self) -> dict[str, int]:
        """How often each op is used, by op name."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
        return counts


def split_ref(ref: str) -> tuple[str, int]:
    """``"node:2"`` -> ("node", 2); ``"node"`` -> ("node", 0); as TF.js ``parseNodeName``."""
    parts = ref.split(":")
    if len(parts) == 1:
        return ref, 0
    try:
        return parts[0], int(parts[-1])
    except ValueError:
        raise ModelFormatError(f"tensor reference {ref!r} has no numeric output index") from None


# ---------------------------------------------------------------------------------------------
# Attributes


def _number(value: Any) -> float:
    """A JSON float, including proto3's "NaN"/"Infinity" strings."""
    return float(value)


def _shape(raw: Mapping[str, Any]) -> Shape | None:
    if raw.get("unknownRank"):
        return None
    dims = [int(d.get("size", -1)) for d in raw.get("dim", [])]
    return tuple(None if d < 0 else d for d in dims)


def _dtype(name: Any) -> str | None:
    return DTYPES.get(str(name))


_LIST_FIELDS = ("s", "i", "f", "b", "type", "shape")


def decode_attr(raw: Mapping[str, Any]) -> AttrValue:
    """One ``AttrValue`` JSON object as a Python value (lists as tuples; ``s`` as text)."""
    if "list" in raw:
        lst = raw["list"] or {}
        for field in _LIST_FIELDS:
            if lst.get(field):
                return tuple(decode_attr({field: v}) for v in lst[field])
        return ()
    if "s" in raw:
        return base64.b64decode(raw["s"], validate=True).decode("utf-8", "replace")
    if "i" in raw:
        return int(raw["i"])
    if "f" in raw:
        return _number(raw["f"])
    if "b" in raw:
        return bool(raw["b"])
    if "type" in raw:
        return _dtype(raw["type"])
    if "shape" in raw:
        return _shape(raw["shape"])
    return None  # tensor and func attributes: no op here reads them


_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, binascii.Error, RecursionError,
              OverflowError)


def _parse_node(raw: Any, i: int) -> tuple[OpNode, tuple[str, ...]]:
    """The node and its control inputs (names of nodes it waits for)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("op"), str):
        raise ModelFormatError(f"modelTopology.node[{i}] has no name or op: {str(raw)[:200]}")
    try:
        inputs = [str(x) for x in raw.get("input", [])]
        attrs = {str(k): decode_attr(v) for k, v in (raw.get("attr") or {}).items()}
    except _MALFORMED as exc:
        raise ModelFormatError(f"modelTopology.node[{i}] ({raw['name']!r}) is malformed: "
                               f"{type(exc).__name__}: {exc}") from None
    data = tuple(x for x in inputs if not x.startswith("^"))
    control = tuple(x[1:] for x in inputs if x.startswith("^"))
    return OpNode(raw["name"], raw["op"], data, attrs), control


def check_supported(nodes: Collection[OpNode], supported: Collection[str]) -> None:
    """One :class:`UnsupportedOpError` naming every op outside ``supported`` and its nodes."""
    missing: dict[str, list[str]] = {}
    for node in nodes:
        if node.op not in _NO_INPUT_OPS and node.op not in supported:
            missing.setdefault(node.op, []).append(node.name)
    if not missing:
        return
    parts = []
    for op, users in sorted(missing.items()):
        more = f" and {len(users) - 1} more" if len(users) > 1 else ""
        parts.append(f"{op} (node {users[0]!r}{more})")
    raise UnsupportedOpError(f"the graph uses {len(missing)} operation{'s' if len(missing) > 1 else ''} that "
                             f"posenet.runtime cannot run: {'; '.join(parts)}")


def _order(nodes: Mapping[str, OpNode]) -> list[OpNode]:
    """The non-Const, non-Placeholder nodes in an order where every input comes first."""
    done = {name for name, node in nodes.items() if node.op in _NO_INPUT_OPS}
    ordered: list[OpNode] = []
    for start in nodes.values():
        if start.name in done:
            continue
        stack: list[tuple[OpNode, int]] = [(start, 0)]
        visiting = {start.name}
        while stack:
            node, k = stack.pop()
            if k < len(node.inputs):
                stack.append((node, k + 1))
                dep = split_ref(node.inputs[k])[0]
                if dep in done:
                    continue
                if dep not in nodes:
                    raise ModelFormatError(f"node {node.name!r} reads {dep!r}, which the graph does not define")
                if dep in visiting:
                    raise ModelFormatError(f"the graph has a cycle through {dep!r}")
                visiting.add(dep)
                stack.append((nodes[dep], 0))
            else:
                visiting.discard(node.name)
                done.add(node.name)
                ordered.append(node)
    return ordered


# ---------------------------------------------------------------------------------------------
# Inputs and outputs


def _signature(model: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = model.get("userDefinedMetadata")
    if isinstance(meta, dict) and isinstance(meta.get("signature"), dict):
        signature: Mapping[str, Any] = meta["signature"]
        return signature
    sig = model.get("signature")
    return sig if isinstance(sig, dict) else {}


def _entry_info(key: str, entry: Any, nodes: Mapping[str, OpNode]) -> TensorInfo | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ModelFormatError(f"signature entry {key!r} has no tensor name")
    node_name, index = split_ref(entry["name"])
    node = nodes.get(node_name)
    if node is None:
        return None  # as TF.js: a signature entry for a node the graph lacks is ignored
    shape = _shape(entry["tensorShape"]) if isinstance(entry.get("tensorShape"), dict) else None
    dtype = _dtype(entry.get("dtype")) if entry.get("dtype") else None
    if node.op.startswith("Placeholder"):  # TF.js describes inputs by the Placeholder's own attributes
        shape = node.attrs.get("shape", shape)  # type: ignore[assignment]
        dtype = node.attrs.get("dtype", dtype)  # type: ignore[assignment]
    return TensorInfo(key, node_name, index, shape, dtype)


def _placeholder_info(node: OpNode) -> TensorInfo:
    shape = node.attrs.get("shape")
    dtype = node.attrs.get("dtype")
    return TensorInfo(node.name, node.name, 0, shape if isinstance(shape, tuple) else None,
                      dtype if isinstance(dtype, str) else None)


def _inputs_outputs(model: Mapping[str, Any], nodes: Mapping[str, OpNode], controls: Mapping[str, tuple[str, ...]]
                    ) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...]]:
    sig = _signature(model)
    sig_in, sig_out = sig.get("inputs") or {}, sig.get("outputs") or {}
    if sig_in:
        inputs = tuple(i for k, e in sig_in.items() if (i := _entry_info(k, e, nodes)) is not None)
    else:
        inputs = tuple(_placeholder_info(n) for n in nodes.values() if n.op.startswith("Placeholder"))
    if sig_out:
        outputs = tuple(i for k, e in sig_out.items() if (i := _entry_info(k, e, nodes)) is not None)
    else:
        read = {split_ref(r)[0] for n in nodes.values() for r in n.inputs} | {c for cs in controls.values() for c in cs}
        outputs = tuple(TensorInfo(n.name, n.name, 0, None, None) for n in nodes.values() if n.name not in read)
    for info in inputs:
        if not nodes[info.node].op.startswith("Placeholder"):
            raise ModelFormatError(f"input {info.name!r} names node {info.node!r}, which is a "
                                   f"{nodes[info.node].op}, not a Placeholder")
    return inputs, outputs


# ---------------------------------------------------------------------------------------------
# Entry point


def read_model_graph(path: str | Path, supported: Collection[str] | None = None) -> ModelGraph:
    """Parse ``path`` (a model JSON) and its weight shards (next to it) into a :class:`ModelGraph`.

    With ``supported``, an op outside it raises one :class:`~posenet.UnsupportedOpError` listing
    every such op and a node using it, before any weight is read. Malformed files raise
    :class:`~posenet.ModelFormatError` naming the file and the field at fault.
    """
    path = Path(path)
    try:
        return _read(path, supported)
    except ModelFormatError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None


def _read(path: Path, supported: Collection[str] | None) -> ModelGraph:
    model = load_model_json(path)
    topology = model["modelTopology"]
    raw_nodes = topology.get("node") if isinstance(topology, dict) else None
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise ModelFormatError("modelTopology.node is missing or empty")
    nodes: dict[str, OpNode] = {}
    controls: dict[str, tuple[str, ...]] = {}
    for i, raw in enumerate(raw_nodes):
        node, control = _parse_node(raw, i)
        if node.name in nodes:
            raise ModelFormatError(f"two nodes are named {node.name!r}")
        nodes[node.name], controls[node.name] = node, control
    if supported is not None:
        check_supported(list(nodes.values()), supported)
    ordered = _order(nodes)
    inputs, outputs = _inputs_outputs(model, nodes, controls)
    weights = read_weights(model["weightsManifest"], path.parent)
    missing = sorted(n for n, node in nodes.items() if node.op == "Const" and n not in weights)
    if missing:
        raise ModelFormatError(f"Const nodes without a weight in the weightsManifest: {missing[:5]}"
                               + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    placeholders = {n: node for n, node in nodes.items() if node.op.startswith("Placeholder")}
    return ModelGraph(tuple(ordered), weights, placeholders, inputs, outputs, str(path))
