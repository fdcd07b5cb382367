"""Hand-made TF.js graph models for tests: model JSON + one weight shard written to a folder.

::

    path = write_graph_model(tmp_path, [placeholder("x", "DT_FLOAT", [1, 4]), node("y", "Relu", ["x"])],
                             weights={}, outputs=["y"])
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DT:
    """A dtype attribute (``{"type": "DT_FLOAT"}``)."""

    name: str


def _attr(value: Any) -> dict[str, Any]:
    if isinstance(value, DT):
        return {"type": value.name}
    if isinstance(value, bool):
        return {"b": value}
    if isinstance(value, int):
        return {"i": str(value)}
    if isinstance(value, float):
        return {"f": value}
    if isinstance(value, str):
        return {"s": base64.b64encode(value.encode()).decode()}
    if isinstance(value, (list, tuple)):
        if not value:
            return {"list": {}}
        if isinstance(value[0], str):
            return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in value]}}
        if isinstance(value[0], float):
            return {"list": {"f": list(value)}}
        return {"list": {"i": [str(v) for v in value]}}
    raise TypeError(f"no attribute encoding for {value!r}")


def node(name: str, op: str, inputs: Sequence[str] = (), **attrs: Any) -> dict[str, Any]:
    """One ``modelTopology.node`` entry; attributes as Python values (DT for dtypes)."""
    return {"name": name, "op": op, "input": list(inputs), "attr": {k: _attr(v) for k, v in attrs.items()}}


def placeholder(name: str, dtype: str, shape: Sequence[int] | None) -> dict[str, Any]:
    """A Placeholder; ``shape`` None for unknown rank, -1 for an open dimension."""
    attr: dict[str, Any] = {"dtype": {"type": dtype}}
    attr["shape"] = {"shape": {"unknownRank": True}} if shape is None else \
        {"shape": {"dim": [{"size": str(d)} for d in shape]}}
    return {"name": name, "op": "Placeholder", "attr": attr}


_TF = {"float32": "DT_FLOAT", "int32": "DT_INT32", "bool": "DT_BOOL"}


def _encode(name: str, array: np.ndarray, quant: str | None) -> tuple[dict[str, Any], bytes]:
    dtype = {"f": "float32", "i": "int32", "u": "int32", "b": "bool"}[array.dtype.kind]
    spec: dict[str, Any] = {"name": name, "shape": list(array.shape), "dtype": dtype}
    if quant == "float16":
        spec["quantization"] = {"dtype": "float16"}
        return spec, array.astype("<f2").tobytes()
    if quant in ("uint8", "uint16"):
        q_max = 255 if quant == "uint8" else 65535
        lo, hi = float(array.min()), float(array.max())
        scale = (hi - lo) / q_max or 1.0
        q = np.round((array.astype(np.float64) - lo) / scale).astype("<u1" if quant == "uint8" else "<u2")
        spec["quantization"] = {"dtype": quant, "scale": scale, "min": lo}
        return spec, q.tobytes()
    raw = {"float32": "<f4", "int32": "<i4", "bool": "|u1"}[dtype]
    return spec, np.asarray(array).astype(raw).tobytes()


def write_graph_model(folder: Path, nodes: Sequence[dict[str, Any]], weights: Mapping[str, np.ndarray],
                      outputs: Sequence[str] | None = None, quant: Mapping[str, str] | None = None,
                      signature: Mapping[str, Any] | None = None, name: str = "model.json") -> Path:
    """Write ``folder/name`` and ``folder/group1-shard1of1.bin``: Const nodes are added for the
    ``weights`` (in ``quant``'s formats where named); ``outputs`` become Identity-free signature
    outputs when given (default: TF.js picks the nodes nothing reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    specs, chunks = [], []
    consts = []
    for wname, value in weights.items():
        array = np.asarray(value)
        spec, data = _encode(wname, array, (quant or {}).get(wname))
        specs.append(spec)
        chunks.append(data)
        consts.append({"name": wname, "op": "Const",
                       "attr": {"dtype": {"type": _TF[spec["dtype"]]}, "value": {"tensor": {}}}})
    model: dict[str, Any] = {
        "format": "graph-model", "generatedBy": "tests", "convertedBy": "tests",
        "modelTopology": {"node": [*consts, *nodes], "library": {}, "versions": {}},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": specs}],
    }
    if signature is not None:
        model["signature"] = signature
    elif outputs is not None:
        model["signature"] = {"outputs": {o: {"name": f"{o}:0"} for o in outputs}}
    (folder / "group1-shard1of1.bin").write_bytes(b"".join(chunks))
    path = folder / name
    path.write_text(json.dumps(model))
    return path
