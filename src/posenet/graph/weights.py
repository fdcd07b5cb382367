"""The weights of a TF.js graph model: the ``weightsManifest`` and its binary shards.

Each manifest group lists shard files (read in order and concatenated) and the weights
they hold (name, shape, dtype, optional quantisation), packed back to back. Values are
dequantised as ``q * scale + min`` in float64 and stored as float32 (int32 weights are
rounded with JavaScript's ``Math.round``); float16-quantised float32 weights are widened
exactly; bool weights (one byte each) are read as numpy bools. As in TF.js, float16
quantisation applies to float32 weights only and bool weights are never quantised.

Shards are untrusted input: every shard path must name a regular file inside the model
folder, the files must hold exactly the bytes the manifest declares (checked from their
sizes before anything is read), and every float weight must be finite.
"""

from __future__ import annotations

import json
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from ..jsmath import js_round_array

DTYPE_BYTES: dict[str, int] = {"float32": 4, "int32": 4, "uint8": 1, "uint16": 2, "float16": 2, "bool": 1}
_NUMPY_DTYPES = {"float32": "<f4", "int32": "<i4", "uint8": "<u1", "uint16": "<u2", "float16": "<f2",
                 "bool": "<u1"}
MAX_WEIGHT_ELEMENTS = 1 << 31
"""Largest number of elements in one weight (8 GiB of float32): larger is a malformed manifest."""

REPAIR_HINT = ("Download the checkpoint again (posenet models fetch --force NAME) or copy every "
               "group1-shard*.bin file next to the JSON.")


@dataclass(frozen=True, slots=True)
class WeightSpec:
    """One manifest entry: ``stored`` is the dtype in the shard (the quantised one, if any)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    stored: str
    scale: float = 1.0
    minimum: float = 0.0

    @property
    def count(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.count * DTYPE_BYTES[self.stored]


@dataclass(frozen=True, slots=True)
class WeightGroup:
    """One manifest group: its shard files (absolute, inside the model folder) and weights."""

    paths: tuple[Path, ...]
    specs: tuple[WeightSpec, ...]

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.specs)


def _spec(raw: Any, where: str) -> WeightSpec:
    if not isinstance(raw, dict):
        raise ModelFormatError(f"{where} is not an object")
    name, shape, dtype = raw.get("name"), raw.get("shape"), raw.get("dtype")
    if not isinstance(name, str):
        raise ModelFormatError(f"{where}.name is missing or not text")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ModelFormatError(f"{where} ({name!r}).shape must be a list of non-negative integers, got {shape!r}")
    if int(np.prod([float(d) for d in shape])) > MAX_WEIGHT_ELEMENTS:
        raise ModelFormatError(f"{where} ({name!r}).shape {shape} is implausibly large")
    quant = raw.get("quantization")
    if quant is not None and not isinstance(quant, dict):
        raise ModelFormatError(f"{where} ({name!r}).quantization is not an object")
    stored = quant.get("dtype") if quant else dtype
    if dtype not in ("float32", "int32", "bool") or stored not in DTYPE_BYTES:
        raise ModelFormatError(f"{where} ({name!r}) has unsupported dtype {dtype}/{stored}")
    if quant and ((stored == "float16" and dtype != "float32") or dtype == "bool"
                  or stored in ("float32", "int32", "bool")):
        raise ModelFormatError(f"{where} ({name!r}): a {dtype} weight cannot be quantised as {stored}")
    scale, minimum = 1.0, 0.0
    if quant and stored in ("uint8", "uint16"):
        try:
            scale, minimum = float(quant["scale"]), float(quant["min"])
        except (KeyError, TypeError, ValueError):
            raise ModelFormatError(f"{where} ({name!r}).quantization needs numeric scale and min") from None
        if not (np.isfinite(scale) and np.isfinite(minimum)):
            raise ModelFormatError(f"{where} ({name!r}).quantization scale/min must be finite")
    return WeightSpec(name, tuple(shape), dtype, stored, scale, minimum)


def _shard_path(folder: Path, entry: Any, where: str) -> Path:
    """``folder / entry``, refusing anything that leaves the folder or is not a regular file."""
    if not isinstance(entry, str) or not entry or "\\" in entry or entry.startswith("/") or ":" in entry:
        raise ModelFormatError(f"{where} {entry!r} is not a plain relative file name")
    root = folder.resolve()
    path = (root / entry).resolve()
    if root not in path.parents:
        raise ModelFormatError(f"{where} {entry!r} leaves the model folder {root}; refusing to read it")
    try:
        mode = path.stat().st_mode
    except OSError:
        raise ModelFormatError(f"weight shard {folder / entry} is missing (named in the model JSON's "
                               f"weightsManifest). {REPAIR_HINT}") from None
    if not stat.S_ISREG(mode):
        raise ModelFormatError(f"{where} {entry!r} is not a regular file; refusing to read it")
    return path


def parse_manifest(manifest: Any, folder: Path) -> tuple[WeightGroup, ...]:
    """Validate a ``weightsManifest`` and resolve its shard paths inside ``folder``."""
    if not isinstance(manifest, list):
        raise ModelFormatError("weightsManifest must be a list of groups")
    groups = []
    for g, raw in enumerate(manifest):
        where = f"weightsManifest[{g}]"
        if not (isinstance(raw, dict) and isinstance(raw.get("paths"), list)
                and isinstance(raw.get("weights"), list)):
            raise ModelFormatError(f"{where} needs lists 'paths' and 'weights'")
        paths = tuple(_shard_path(folder, p, f"{where}.paths[{i}]") for i, p in enumerate(raw["paths"]))
        specs = tuple(_spec(w, f"{where}.weights[{i}]") for i, w in enumerate(raw["weights"]))
        groups.append(WeightGroup(paths, specs))
    return tuple(groups)


def _read_group(group: WeightGroup) -> bytes:
    """The group's shard bytes, after checking from the file sizes that they hold exactly
    what the manifest declares (so a huge or endless file is never read)."""
    sizes = [p.stat().st_size for p in group.paths]
    declared = group.nbytes
    if sum(sizes) < declared:
        raise ModelFormatError(f"weight shards are too short: the manifest declares {declared} bytes but "
                               f"{', '.join(p.name for p in group.paths)} hold {sum(sizes)}. {REPAIR_HINT}")
    if sum(sizes) > declared:
        raise ModelFormatError(f"weight shards hold {sum(sizes)} bytes but the manifest describes {declared}: "
                               "the shards do not belong to this model JSON")
    chunks = []
    for path, size in zip(group.paths, sizes, strict=True):
        with path.open("rb") as f:
            chunks.append(f.read(size))
    data = b"".join(chunks)
    if len(data) != declared:
        raise ModelFormatError(f"weight shards changed while being read; expected {declared} bytes, got {len(data)}")
    return data


def _decode(spec: WeightSpec, buffer: bytes, offset: int) -> np.ndarray:
    raw = np.frombuffer(buffer, dtype=_NUMPY_DTYPES[spec.stored], count=spec.count, offset=offset)
    if spec.stored in ("uint8", "uint16"):
        values = raw.astype(np.float64) * spec.scale + spec.minimum
        if spec.dtype == "int32":
            values = js_round_array(values)
        array = values.astype(np.float32 if spec.dtype == "float32" else np.int32)
    elif spec.dtype == "bool":
        array = raw != 0
    else:
        array = raw.astype(np.float32 if spec.dtype == "float32" else np.int32)
    if array.dtype == np.float32 and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ModelFormatError(f"weight {spec.name!r} holds {bad} NaN or infinite values: the shard is corrupt "
                               f"or was tampered with. {REPAIR_HINT}")
    return array.reshape(spec.shape)


def decode_groups(groups: tuple[WeightGroup, ...]) -> dict[str, np.ndarray]:
    """Read and decode every weight of the manifest (read-only arrays)."""
    weights: dict[str, np.ndarray] = {}
    for group in groups:
        buffer = _read_group(group)
        offset = 0
        for spec in group.specs:
            array = _decode(spec, buffer, offset)
            array.setflags(write=False)
            weights[spec.name] = array
            offset += spec.nbytes
    return weights


_WEIGHT_CACHE: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
_WEIGHT_CACHE_LOCK = threading.Lock()


def read_weights(manifest: Any, folder: Path) -> dict[str, np.ndarray]:
    """The weights a manifest names, read from the shards in ``folder``; a second read
    of the same unchanged files in this process reuses the first."""
    groups = parse_manifest(manifest, folder)
    key_parts: list[Any] = [json.dumps(manifest, sort_keys=True)]
    for group in groups:
        for p in group.paths:
            st = p.stat()
            key_parts.append((str(p), st.st_size, st.st_mtime_ns))
    key = tuple(key_parts)
    with _WEIGHT_CACHE_LOCK:
        cached = _WEIGHT_CACHE.get(key)
    if cached is not None:
        return cached
    weights = decode_groups(groups)
    with _WEIGHT_CACHE_LOCK:
        _WEIGHT_CACHE[key] = weights
    return weights
