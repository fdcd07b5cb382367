"""Lowerings of shape, slicing, joining and creation ops, as TF.js runs them.

TF.js specifics reproduced here: ``Shape``/``Size`` give int32; ``Reshape`` takes a 0 in the
shape literally; ``StridedSlice`` follows TensorFlow's mask rules (begin/end/ellipsis/new-axis/
shrink); ``ConcatV2`` joins its first ``N`` inputs along the last input; ``Split`` reads the
axis first; ``Pad`` fills with ``constant_value`` (0 by default).
"""

from __future__ import annotations

import numpy as np

from .builder import INT64_MAX, INT64_MIN, Builder
from .ops_math import Lowering, match_types


def _identity(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("Identity", [x], b.dtypes[x])]


def _reshape(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("Reshape", [x, b.int64_input(1, shape=[-1])], b.dtypes[x], allowzero=1)]


def _squeeze(b: Builder) -> list[str]:
    x = b.input(0)
    axes = [int(a) for a in b.attr("squeeze_dims", None) or b.attr("axis", None) or ()]
    inputs = [x] if not axes else [x, b.constant(axes, "int64")]
    return [b.emit("Squeeze", inputs, b.dtypes[x])]


def _expand_dims(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("Unsqueeze", [x, b.int64_input(1, shape=[1])], b.dtypes[x])]


def _pack(b: Builder) -> list[str]:
    """TF.js first reshapes every tensor to the first one's shape (so a [1] packs with scalars)."""
    assert b.node is not None
    axis = int(b.attr("axis", 0) or 0)
    count = int(b.attr("N", len(b.node.inputs)) or len(b.node.inputs))
    parts = match_types(b, [b.input(i) for i in range(count)])
    shapes = [None if (w := b.weight(ref)) is None else w.shape for ref in b.node.inputs[:count]]
    if shapes[0] is None or any(s != shapes[0] for s in shapes[1:]):
        first = b.emit("Shape", [parts[0]], "int64")
        parts = parts[:1] + [p if s is not None and s == shapes[0] else b.emit("Reshape", [p, first], b.dtypes[p])
                             for p, s in zip(parts[1:], shapes[1:], strict=True)]
    axes = b.constant([axis], "int64")
    expanded = [b.emit("Unsqueeze", [p, axes], b.dtypes[p]) for p in parts]
    return [b.emit("Concat", expanded, b.dtypes[parts[0]], axis=axis)]


def _unpack(b: Builder) -> list[str]:
    x = b.input(0)
    axis = int(b.attr("axis", 0) or 0)
    num = int(b.attr("num", 0) or 0)
    if num < 1:
        raise b.error("Unpack needs its num attribute")
    dtype = b.dtypes[x]
    parts = [x] if num == 1 else b.emit_multi("Split", [x], [dtype] * num, axis=axis, num_outputs=num)
    axes = b.constant([axis], "int64")
    return [b.emit("Squeeze", [p, axes], dtype) for p in parts]


def _concat(b: Builder) -> list[str]:
    assert b.node is not None
    count = int(b.attr("N", len(b.node.inputs) - 1) or len(b.node.inputs) - 1)
    axis = int(b.const_input(len(b.node.inputs) - 1).reshape(-1)[0])
    parts = match_types(b, [b.input(i) for i in range(count)])
    return [b.emit("Concat", parts, b.dtypes[parts[0]], axis=axis)]


def _split(b: Builder) -> list[str]:
    axis = int(b.const_input(0).reshape(-1)[0])
    x = b.input(1)
    num = int(b.attr("num_split", 1) or 1)
    if num == 1:
        return [b.emit("Identity", [x], b.dtypes[x])]
    return b.emit_multi("Split", [x], [b.dtypes[x]] * num, axis=axis, num_outputs=num)


def _tile(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("Tile", [x, b.int64_input(1, shape=[-1])], b.dtypes[x])]


def _gather_nd(b: Builder) -> list[str]:
    x = b.input(0)
    return [b.emit("GatherND", [x, b.cast(b.input(1), "int64")], b.dtypes[x])]


def _gather(b: Builder) -> list[str]:
    assert b.node is not None
    if int(b.attr("batch_dims", 0) or 0) != 0:
        raise b.error("GatherV2 with batch_dims is not supported")
    axis = int(b.const_input(2).reshape(-1)[0]) if len(b.node.inputs) > 2 else 0
    x = b.input(0)
    return [b.emit("Gather", [x, b.cast(b.input(1), "int64")], b.dtypes[x], axis=axis)]


def _pad(b: Builder) -> list[str]:
    assert b.node is not None
    x = b.input(0)
    paddings = b.weight(b.node.inputs[1])
    if paddings is not None:
        pads = b.constant(np.asarray(paddings, dtype=np.int64).T.reshape(-1), "int64")
    else:
        p = b.cast(b.input(1), "int64")
        flipped = b.emit("Transpose", [p], "int64", perm=[1, 0])
        pads = b.emit("Reshape", [flipped, b.constant([-1], "int64")], "int64")
    if len(b.node.inputs) > 2:  # PadV2
        value = b.cast(b.emit("Reshape", [b.input(2), b.constant([], "int64")], b.dtypes[b.input(2)]),
                       b.dtypes[x])
    else:
        value = b.scalar(float(b.attr("constant_value", 0) or 0), x)
    return [b.emit("Pad", [x, pads, value], b.dtypes[x], mode="constant")]


def _fill(b: Builder) -> list[str]:
    dtype = b.attr("T") or b.dtypes[b.input(1)]
    value = b.cast(b.emit("Reshape", [b.input(1), b.constant([], "int64")], b.dtypes[b.input(1)]), dtype)
    return [b.emit("Expand", [value, b.int64_input(0, shape=[-1])], dtype)]


def _range(b: Builder) -> list[str]:
    dtype = b.attr("Tidx") or "int32"
    parts = [b.cast(b.emit("Reshape", [b.input(i), b.constant([], "int64")], b.dtypes[b.input(i)]), dtype)
             for i in range(3)]
    return [b.emit("Range", parts, dtype)]


def _shape(b: Builder) -> list[str]:
    return [b.cast(b.emit("Shape", [b.input(0)], "int64"), "int32")]


def _size(b: Builder) -> list[str]:
    return [b.cast(b.emit("Size", [b.input(0)], "int64"), "int32")]


def _transpose(b: Builder) -> list[str]:
    x = b.input(0)
    perm = [int(v) for v in b.const_input(1).reshape(-1)]
    return [b.emit("Transpose", [x], b.dtypes[x], perm=perm)]


def _slice(b: Builder) -> list[str]:
    x = b.input(0)
    begin = b.const_input(1).astype(np.int64).reshape(-1)
    size = b.const_input(2).astype(np.int64).reshape(-1)
    end = np.where(size < 0, INT64_MAX, begin + size)
    inputs = [x, b.constant(begin, "int64"), b.constant(end, "int64"), b.constant(np.arange(len(begin)), "int64")]
    return [b.emit("Slice", inputs, b.dtypes[x])]


def _bit(mask: int, i: int) -> bool:
    return bool(mask & (1 << i))


def _strided_slice_plan(b: Builder, begin: list[int], end: list[int], strides: list[int]
                        ) -> tuple[list[tuple[int, int, int, int]], list[int], list[int]]:
    """TensorFlow's sparse slice spec as (axis, start, end, step) slices, axes to squeeze
    and output axes to insert. Entries after an ellipsis count from the end (negative axes),
    so the input rank is never needed."""
    masks = {k: int(b.attr(k, 0) or 0) for k in
             ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    n = len(begin)
    ellipsis = [i for i in range(n) if _bit(masks["ellipsis_mask"], i)]
    if len(ellipsis) > 1:
        raise b.error("multiple ellipses in a slice")
    cut = ellipsis[0] if ellipsis else n
    after = [i for i in range(cut + 1, n) if not _bit(masks["new_axis_mask"], i)]
    slices: list[tuple[int, int, int, int]] = []
    squeeze: list[int] = []
    axis = 0
    for i in range(n):
        if i == cut or _bit(masks["new_axis_mask"], i):
            continue
        dim = axis if i < cut else after.index(i) - len(after)
        axis += 1
        step = strides[i]
        if step == 0:
            raise b.error(f"strides[{i}] must be non-zero")
        if _bit(masks["shrink_axis_mask"], i):
            squeeze.append(dim)
            slices.append((dim, begin[i], begin[i] + 1 if begin[i] != -1 else INT64_MAX, 1))
            continue
        start = (0 if step > 0 else INT64_MAX) if _bit(masks["begin_mask"], i) else begin[i]
        stop = (INT64_MAX if step > 0 else INT64_MIN) if _bit(masks["end_mask"], i) else end[i]
        if (start, stop, step) != (0, INT64_MAX, 1):
            slices.append((dim, start, stop, step))
    return slices, squeeze, _new_axes(masks, n, cut)


def _new_axes(masks: dict[str, int], n: int, cut: int) -> list[int]:
    """Output positions of the new axes: from the front before the ellipsis, from the back after it."""
    kept = [i for i in range(n) if i != cut and not (_bit(masks["shrink_axis_mask"], i)
                                                   and not _bit(masks["new_axis_mask"], i))]
    positions = []
    for i in kept:
        if _bit(masks["new_axis_mask"], i):
            positions.append(kept.index(i) if i < cut else kept.index(i) - len(kept))
    return positions


def _strided_slice(b: Builder) -> list[str]:
    assert b.node is not None
    x = b.input(0)
    dtype = b.dtypes[x]
    consts = [b.weight(ref) for ref in b.node.inputs[1:4]]
    if any(c is None for c in consts):
        return _dynamic_strided_slice(b, x)
    begin, end, strides = ([int(v) for v in np.asarray(c).reshape(-1)] for c in consts)
    slices, squeeze, new_axes = _strided_slice_plan(b, begin, end, strides)
    y = x
    if slices:
        columns = list(zip(*slices, strict=True))
        y = b.emit("Slice", [x] + [b.constant(list(col), "int64") for col in columns[1:3]]
                   + [b.constant(list(columns[0]), "int64"), b.constant(list(columns[3]), "int64")], dtype)
    if squeeze:
        y = b.emit("Squeeze", [y, b.constant(squeeze, "int64")], dtype)
    if new_axes:
        y = b.emit("Unsqueeze", [y, b.constant(new_axes, "int64")], dtype)
    return [y if y != x else b.emit("Identity", [x], dtype)]


def _dynamic_strided_slice(b: Builder, x: str) -> list[str]:
    """Begin/end/strides computed at run time: only plain slices (no masks) are supported."""
    if any(int(b.attr(k, 0) or 0) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                                 "shrink_axis_mask")):
        raise b.error("a StridedSlice with computed begin/end/strides and masks is not supported")
    begin, end, strides = (b.int64_input(i, shape=[-1]) for i in (1, 2, 3))
    zero = b.constant([0], "int64")
    axes = b.emit("Range", [b.constant(0, "int64"), b.emit("Squeeze", [b.emit("Shape", [begin], "int64"), zero],
                                                            "int64"), b.constant(1, "int64")], "int64")
    return [b.emit("Slice", [x, begin, end, axes, strides], b.dtypes[x])]


ARRAY_OPS: dict[str, Lowering] = {
    "Identity": _identity, "StopGradient": _identity, "Snapshot": _identity, "Reshape": _reshape,
    "Squeeze": _squeeze, "ExpandDims": _expand_dims, "Pack": _pack, "Unpack": _unpack, "ConcatV2": _concat,
    "Split": _split, "Tile": _tile, "GatherNd": _gather_nd, "GatherV2": _gather, "Pad": _pad, "PadV2": _pad,
    "Fill": _fill, "Range": _range, "Shape": _shape, "Size": _size, "Transpose": _transpose, "Slice": _slice,
    "StridedSlice": _strided_slice,
}
"""TF op name -> lowering."""
